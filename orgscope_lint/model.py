"""Plain data shared by the engine, the rules and the renderers.

Nothing here knows about libcst: facts and findings must be picklable (process
pool, cache) and renderable without the syntax tree.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional, Tuple


@dataclass(frozen=True)
class Span:
    """1-based lines, 1-based columns (as editors and SARIF count them)."""

    line: int
    column: int
    end_line: int
    end_column: int


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
    fix: Optional[Dict[str, Any]] = None

    def sort_key(self) -> Tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.rule)

    @property
    def fixable(self) -> bool:
        """A safe fix is described (`--fix` still verifies it before writing)."""
        return bool(self.fix) and self.fix.get("kind") != "none"

    def to_json(self) -> Dict[str, Any]:
        """The JSON contract's fields, in contract order (no deep copy needed:
        every field is a scalar or a flat dict)."""
        return {name: getattr(self, name) for name in _JSON_FIELDS}


_JSON_FIELDS = tuple(f.name for f in fields(Finding)
                     if f.name not in ("snippet", "source_line", "fix"))


# How a DB call's tenant scoping came out (DbCall.outcome); the analysis and
# the rules share these names, and renderers read them.
SCOPED, CONDITIONAL, UNSCOPED, EMPTY_FILTER, UNKNOWN = (
    "scoped", "conditional", "unscoped", "empty", "unknown")
GLOBAL, INFRASTRUCTURE = "global", "infrastructure"


@dataclass
class DbCall:
    """One database call the analysis saw, whatever its outcome (report evidence)."""

    path: str
    line: int
    symbol: Optional[str]
    table: Optional[str]
    operation: str  # read | write | insert
    outcome: str  # scoped | conditional | unscoped | empty | unknown | global | infrastructure
    detail: str = ""
    tenant_key: Optional[str] = None


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

    @property
    def active(self) -> List[Finding]:
        return [f for f in self.findings if not f.suppressed]
