"""The run's headline numbers, counted once: the terminal summary, the report's
executive summary and its closing summary all read them from here, so they
never disagree (open findings, the files they are in, accepted, unverified)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Dict, List

from ..model import DbCall, Finding, RunResult

UNKNOWN_OUTCOME = "unknown"


@dataclass(frozen=True)
class Counts:
    files_checked: int
    lines: int
    db_calls: int
    routes: int
    open: int
    open_by_severity: Dict[str, int]
    open_files: int  # files that hold at least one open finding
    accepted: int  # suppressed by a comment or a system context
    baselined: int
    unverified: int  # DB calls and facts (unknown tables) the tool cannot see
    fixable: int
    unreadable: int


def unverified_items(result: RunResult) -> List[DbCall]:
    """Every unverifiable DB call plus the unverified facts that are not calls."""
    return [c for c in result.db_calls if str(c.outcome) == UNKNOWN_OUTCOME] + [
        c for c in result.unverified if str(c.outcome) == UNKNOWN_OUTCOME]


def is_baselined(finding: Finding) -> bool:
    return bool(finding.suppressed and (finding.suppression or {}).get("kind") == "baseline")


def counts(result: RunResult) -> Counts:
    active = result.active
    accepted = sum(1 for f in result.findings if f.suppressed and not is_baselined(f))
    baselined = max(result.baselined, sum(1 for f in result.findings if is_baselined(f)))
    return Counts(
        files_checked=result.files, lines=result.lines, db_calls=len(result.db_calls),
        routes=len(result.routes), open=len(active),
        open_by_severity=dict(sorted(Counter(f.severity for f in active).items())),
        open_files=len({f.path for f in active}), accepted=accepted, baselined=baselined,
        unverified=len(unverified_items(result)),
        fixable=sum(1 for f in active if f.fixable), unreadable=len(result.errors))


def plural(count: int, one: str, many: str = "") -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"
