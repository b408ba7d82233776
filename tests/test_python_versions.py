"""The package promises Python 3.9+ (pyproject `requires-python`): every module
must at least parse with the 3.9 grammar, so no 3.10+ syntax slips in."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "orgscope_lint"
MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[p.relative_to(PACKAGE).as_posix() for p in MODULES])
def test_module_parses_with_python_39_grammar(path):
    ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 9))


def test_requires_python_is_declared():
    text = (PACKAGE.parent / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.9"' in text
    assert "tomli>=1.1; python_version < '3.11'" in text
