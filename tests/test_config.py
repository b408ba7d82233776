"""Config loading: discovery of the file, every key's validation, and errors
that name the file and the key (exit 2, never a traceback)."""
from pathlib import Path

import pytest
from click.testing import CliRunner

from orgscope_lint.cli import main
from orgscope_lint.config import ConfigError, find_config, load_config


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_config(tmp_path):
    config = load_config(None, tmp_path)
    assert config.path is None
    assert config.root == tmp_path.resolve()
    assert config.tenant_key == "clerk_org_id"
    assert config.is_tenant_table("anything")
    assert "select" in config.db_methods


def test_nearest_pyproject_with_section_wins(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.orgscope-lint]\ntenant-key = 'outer_id'\n")
    write(tmp_path / "svc" / "pyproject.toml", "[project]\nname = 'x'\n")  # no section: skipped
    write(tmp_path / "svc" / "app" / "a.py", "")
    found = find_config(tmp_path / "svc" / "app" / "a.py")
    assert found == (tmp_path / "pyproject.toml").resolve()
    config = load_config(None, tmp_path / "svc" / "app")
    assert config.tenant_key == "outer_id"
    assert config.root == tmp_path.resolve()


def test_dotfile_and_explicit_config(tmp_path):
    write(tmp_path / ".orgscope-lint.toml", "tenant-key = 'org'\nglobal-tables = ['plans']\n")
    config = load_config(None, tmp_path)
    assert config.tenant_key == "org"
    assert not config.is_tenant_table("plans")
    other = write(tmp_path / "conf" / "pyproject.toml",
                  "[tool.orgscope-lint]\ntenant-tables = ['agents']\n")
    config = load_config(other, tmp_path)
    # a config file beside (not above) the checked directory does not move the root
    assert config.root == tmp_path.resolve()
    assert config.is_tenant_table("agents") and not config.is_tenant_table("users")


def test_table_keys_and_custom_methods(tmp_path):
    write(tmp_path / ".orgscope-lint.toml", """
[table-keys]
phone_numbers = "organization_id"
[db]
presets = []
methods = [{ name = "fetch", operation = "read", table = 0, filters = "where" }]
""")
    config = load_config(None, tmp_path)
    assert config.tenant_key_for("phone_numbers") == "organization_id"
    assert config.tenant_key_for("agents") == "clerk_org_id"
    assert set(config.db_methods) == {"fetch"}
    assert config.db_methods["fetch"].filters == (None, "where")


@pytest.mark.parametrize("text, expected", [
    ("[tool.orgscope-lint]\ntenant_key = 'x'\n",
     "unknown key `tool.orgscope-lint.tenant_key` (did you mean `tenant-key`?)"),
    ("[tool.orgscope-lint]\nglobal-tables = 'plans'\n",
     "`tool.orgscope-lint.global-tables` must be a list of strings, got a string"),
    ("[tool.orgscope-lint.db]\npresets = ['dbservise']\n",
     "unknown preset 'dbservise' (did you mean 'dbservice'?)"),
    ("[tool.orgscope-lint.db]\nmethods = [{ name = 'f', operation = 'peek', table = 0 }]\n",
     "`tool.orgscope-lint.db.methods[0].operation` must be one of read, write, insert"),
    ("[[tool.orgscope-lint.system-contexts]]\npath = ['x']\n",
     "unknown key `tool.orgscope-lint.system-contexts[0].path` (did you mean `paths`?)"),
    ("[tool.orgscope-lint.severity]\nORG104 = 'loud'\n",
     "`tool.orgscope-lint.severity.ORG104` must be one of error, warning, info, off"),
    ("[tool.orgscope-lint\n", "invalid TOML"),
])
def test_config_errors_name_file_and_key(tmp_path, text, expected):
    path = write(tmp_path / "pyproject.toml", text)
    with pytest.raises(ConfigError) as error:
        load_config(path, tmp_path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_config_error_exits_2_without_traceback(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.orgscope-lint]\ntenant-kee = 'x'\n")
    write(tmp_path / "app.py", "x = 1\n")
    result = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert result.exit_code == 2
    assert "did you mean `tenant-key`?" in result.output
    assert "Traceback" not in result.output


def test_missing_config_file_exits_2(tmp_path):
    result = CliRunner().invoke(main, ["check", "--config", str(tmp_path / "nope.toml"),
                                       str(tmp_path)])
    assert result.exit_code == 2
    assert "nope.toml: config file not found" in result.output
