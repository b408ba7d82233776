"""Plain data shared by the engine, the rules and the renderers.

Nothing here knows about libcst: facts and findings must be picklable (process
pool, cache) and renderable without the syntax tree.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any, Dict, List, Optional, Tuple


class _Word(str, Enum):
    """A closed vocabulary whose members are also their plain strings (JSON,
    comparisons and f-strings see the value on every Python version)."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class Outcome(_Word):
    """How a DB call's tenant scoping came out."""

    SCOPED = "scoped"
    CONDITIONAL = "conditional"  # the tenant key on some paths only
    UNSCOPED = "unscoped"
    EMPTY = "empty"  # no filter, or an empty one
    UNKNOWN = "unknown"  # the tool cannot see the filter (unverified)
    GLOBAL = "global"  # not a tenant table
    INFRASTRUCTURE = "infrastructure"  # the table is a parameter (generic wrapper)


class Operation(_Word):
    """What a DB call does to its table."""

    READ = "read"
    WRITE = "write"  # update or delete
    INSERT = "insert"  # insert, upsert, bulk insert
    OPAQUE = "opaque"  # runs SQL the tool cannot see (a database function)


@dataclass(frozen=True)
class Span:
    """1-based lines, 1-based columns (as editors and SARIF count them)."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class TextEdit:
    """Replace the text of `span` (end exclusive; start == end inserts) by
    `replacement`. Positions are those of findings: 1-based lines and
    1-based columns in code points of the decoded source."""

    span: Span
    replacement: str


@dataclass(frozen=True)
class Fix:
    """A safe fix: what it does, in one line, and the text edits that do it
    (non-overlapping). Built per file where the syntax tree is at hand;
    `orgscope_lint.fix` only applies, re-checks and verifies it."""

    description: str
    edits: Tuple[TextEdit, ...]


@dataclass(frozen=True)
class FixChoice:
    """A tenant-key fix that is safe only if each dependency in `requires` (as
    written in the file) is an auth dependency, which only the project stage
    can judge; `names` hold the tenant value it uses."""

    names: Tuple[str, ...]
    requires: Tuple[str, ...]
    fix: Fix


@dataclass
class Finding:
    rule: str
    name: str
    severity: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    symbol: Optional[str] = None
    table: Optional[str] = None
    operation: Optional[str] = None
    suppressed: bool = False
    suppression: Optional[Dict[str, Any]] = None
    fingerprint: str = ""
    # Normalised source of the flagged call or statement: feeds the fingerprint.
    snippet: str = ""
    # The source line, for terminal output; not part of the JSON contract.
    source_line: str = ""
    fix: Optional[Fix] = None
    # why a rule that can fix this kind of finding has no safe fix for this one
    no_fix: Optional[str] = None

    def sort_key(self) -> Tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.rule)

    @property
    def fixable(self) -> bool:
        """A safe fix is described (`--fix` still verifies it before writing)."""
        return self.fix is not None

    def to_json(self) -> Dict[str, Any]:
        """The JSON contract's fields, in contract order (no deep copy needed:
        every field is a scalar or a flat dict)."""
        return {name: getattr(self, name) for name in _JSON_FIELDS}


_JSON_FIELDS = tuple(f.name for f in fields(Finding)
                     if f.name not in ("snippet", "source_line", "fix", "no_fix"))




@dataclass
class DbCall:
    """One database call the analysis saw, whatever its outcome: report
    evidence, and the plain fact the ORG101-ORG105 rules query."""

    path: str
    line: int
    symbol: Optional[str]
    table: Optional[str]
    operation: str  # an Operation
    outcome: str  # an Outcome
    detail: str = ""  # why it is not scoped, or why it cannot be verified
    tenant_key: Optional[str] = None
    preset: str = ""  # the data-access style that recognised it
    method: str = ""  # the call's own word: select_one, select, rpc, ...
    span: Optional[Span] = None
    statement_line: Optional[int] = None  # first line of the enclosing statement
    snippet: str = ""
    # adding the tenant key when the call is unscoped, or why that is not safe
    fix: Optional[Fix] = None
    no_fix: Optional[str] = None
    # or the candidates, when the choice waits for the project's auth judgement
    fix_choices: Optional[Tuple[FixChoice, ...]] = None
    # a query kept in a variable: reported where it is built, run at this line
    runs_at: Optional[int] = None

    @property
    def evidence(self) -> str:
        """Which key scoped the call, or why it is not (or cannot be) proven."""
        if self.detail or self.outcome != Outcome.SCOPED:
            return self.detail
        where = "row" if self.operation == Operation.INSERT else "filter"
        return f"the {where} sets {self.tenant_key} on every path"

    def to_json(self) -> Dict[str, Any]:
        """`db_calls` entries of `--format json`."""
        return {"path": self.path, "line": self.line, "symbol": self.symbol,
                "table": self.table, "operation": str(self.operation), "preset": self.preset,
                "outcome": str(self.outcome), "tenant_key": self.tenant_key,
                "evidence": self.evidence}


@dataclass
class FileError:
    path: str
    message: str
    line: Optional[int] = None  # e.g. the migration statement that does not parse

    def to_json(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {"path": self.path, "message": self.message}
        if self.line is not None:
            data["line"] = self.line
        return data


@dataclass
class RunResult:
    """Everything a renderer may show; built by the engine."""

    root: str
    config_path: Optional[str]
    files: int
    lines: int
    findings: List[Finding] = field(default_factory=list)
    errors: List[FileError] = field(default_factory=list)
    db_calls: List[DbCall] = field(default_factory=list)
    routes: List[Any] = field(default_factory=list)
    schema: Optional[Dict[str, Any]] = None
    # unverified facts that are not DB calls themselves (tables missing from the schema)
    unverified: List[DbCall] = field(default_factory=list)
    internal_errors: List[FileError] = field(default_factory=list)
    baselined: int = 0
    baseline_gone: int = 0
    tenant_key: str = "clerk_org_id"
    # root-relative paths of the files the result covers (report: "no DB access in")
    checked: List[str] = field(default_factory=list)
    # root-relative paths of the files not parsed because of `max-file-size`
    skipped: List[str] = field(default_factory=list)
    # things the user should know that are not about one file (stderr)
    warnings: List[str] = field(default_factory=list)
    # files `--fix` meant to write but could not (the run then fails)
    fix_problems: int = 0

    @property
    def active(self) -> List[Finding]:
        return [f for f in self.findings if not f.suppressed]
