"""The rule base class: metadata, ruff-style documentation, Fixit-style
VALID/INVALID examples (run by the test suite), and queries over plain facts:
one over a single file's facts, one over every file's facts (the project)."""
from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Dict, Iterable, Optional, Sequence, Tuple, Union

from ..facts import RawFinding


@dataclass(frozen=True)
class Example:
    """A code example. In INVALID examples, `# expect: ORGnnn` marks each line
    that must be reported; `files` adds more modules to the example project and
    `config` is a `[tool.orgscope-lint]` table. `fixed` is the code after
    `--fix` (Fixit's `expected_replacement`); without it, `--fix` must leave
    the example as it is."""

    code: str
    config: Dict[str, Any] = field(default_factory=dict)
    path: str = "app/example.py"
    files: Dict[str, str] = field(default_factory=dict)
    fixed: Optional[str] = None


ExampleLike = Union[str, Example]
Emit = Callable[[str, RawFinding], None]


class Rule:
    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    severity: ClassVar[str] = "error"
    fixable: ClassVar[bool] = False
    security_severity: ClassVar[str] = "8.0"
    # Policy, read by the engine, the suppressions and the fixer (never a
    # list of codes there):
    # - a system context (code that runs without a user JWT) accepts this
    #   rule's findings: true for scoping decisions, false for findings that
    #   are bugs in any context (a parse error, a NameError);
    accepted_in_system_context: ClassVar[bool] = True
    # - an inline `# orgscope: ignore[...]` comment can silence it;
    suppressible: ClassVar[bool] = True
    # - a finding means the file could not be checked at all: no other
    #   finding is reported for it, its suppressions are not "unused", and
    #   `--fix` leaves it alone.
    file_not_checked: ClassVar[bool] = False
    VALID: ClassVar[Sequence[ExampleLike]] = ()
    INVALID: ClassVar[Sequence[ExampleLike]] = ()

    def findings_in_file(self, facts, config) -> Iterable[RawFinding]:
        """The findings one file's facts decide (run with the per-file
        analysis, so they are cached with the file's facts)."""
        return ()

    def check_project(self, project, emit: Emit) -> None:
        """Report findings that need every file's facts."""

    def revise(self, project, path: str, finding: RawFinding) -> Optional[RawFinding]:
        """Rewrite (or drop: None) one of this rule's per-file findings once
        every file's facts are known."""
        return finding

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        return cls.doc().splitlines()[0] if cls.__doc__ else cls.name

    @classmethod
    def examples(cls, kind: str) -> Tuple[Example, ...]:
        items = cls.VALID if kind == "valid" else cls.INVALID
        return tuple(_normalise(e) for e in items)


def _normalise(example: ExampleLike) -> Example:
    if isinstance(example, str):
        example = Example(example)
    code = textwrap.dedent(example.code).lstrip("\n")
    files = {path: textwrap.dedent(text).lstrip("\n") for path, text in example.files.items()}
    fixed = textwrap.dedent(example.fixed).lstrip("\n") if example.fixed is not None else None
    return Example(code, example.config, example.path, files, fixed)
