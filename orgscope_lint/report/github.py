"""`--format github`: GitHub Actions workflow commands that annotate the pull
request, e.g. `::error file=app/x.py,line=3,endLine=3,col=5,endColumn=40,
title=ORG102 unscoped-write::message`.

GitHub shows at most 10 annotations of each level per step; findings past
that are listed in one notice so nothing is silently dropped. Inside Actions
the Markdown audit report also goes to the job summary (`$GITHUB_STEP_SUMMARY`).
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any, List, Mapping, Optional

from ..model import Finding, RunResult
from .counts import counts, plural
from .workspace import workspace

# per step and level, as documented for workflow command annotations
ANNOTATIONS_PER_LEVEL = 10
_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(level: str, message: str, **properties: Any) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}"
                     for key, value in properties.items() if value is not None)
    return f"::{level}{' ' + props if props else ''}::{escape_data(message)}"


def _annotation(finding: Finding, prefix: str) -> str:
    single_line = finding.end_line == finding.line
    return _command(
        _COMMAND.get(finding.severity, "warning"), finding.message,
        file=prefix + finding.path, line=finding.line, endLine=max(finding.end_line, finding.line),
        col=max(finding.column, 1),
        # GitHub reads the column range only on a single line
        endColumn=max(finding.end_column, 1) if single_line else None,
        title=f"{finding.rule} {finding.name}")


# the overflow notice lists this many places at most, then points elsewhere
OVERFLOW_LISTED = 10


def render(result: RunResult, *, environ: Optional[Mapping[str, str]] = None,
           **_: Any) -> str:
    environ = os.environ if environ is None else environ
    # annotations name files relative to the repository
    _, prefix = workspace(result.root, environ)
    # (level, command) for every annotation we would like to show: findings,
    # then the files and statements that could not be checked
    wanted = [(_COMMAND.get(f.severity, "warning"), _annotation(f, prefix), f)
              for f in result.active]
    wanted += [("error", _command("error", e.message, file=prefix + e.path, line=e.line,
                                  title="orgscope-lint could not check this"), e)
               for e in result.errors + result.internal_errors]
    per_level = Counter(level for level, _, _ in wanted)
    overflow = any(n > ANNOTATIONS_PER_LEVEL for n in per_level.values())
    # the overflow notice is itself a notice: keep a place for it
    budget = {level: ANNOTATIONS_PER_LEVEL - (1 if overflow and level == "notice" else 0)
              for level in _COMMAND.values()}
    lines: List[str] = []
    shown: Counter = Counter()
    left_out = []
    for level, command, item in wanted:
        if shown[level] < budget[level]:
            shown[level] += 1
            lines.append(command)
        else:
            left_out.append(item)
    if left_out:
        lines.append(_overflow_notice(left_out, prefix, environ))
    numbers = counts(result)
    where = f" in {plural(numbers.open_files, 'file')}" if numbers.open else ""
    lines.append(f"orgscope-lint: {plural(numbers.open, 'finding')}{where} "
                 f"({plural(numbers.files_checked, 'file')} checked, {numbers.accepted} accepted"
                 + (f", {numbers.baselined} baselined" if numbers.baselined else "") + ")")
    return "\n".join(lines) + "\n"


def _overflow_notice(left_out: List[Any], prefix: str, environ: Mapping[str, str]) -> str:
    """One notice of bounded size: counts per rule, the first few places, and
    where the complete list is."""
    findings = [f for f in left_out if isinstance(f, Finding)]
    errors = len(left_out) - len(findings)
    counts = [f"{n} {code}" for code, n in sorted(Counter(f.rule for f in findings).items())]
    if errors:
        counts.append(f"{errors} not checked")
    places = []
    for item in left_out[:OVERFLOW_LISTED]:
        if isinstance(item, Finding):
            places.append(f"{prefix}{item.path}:{item.line}:{item.column}: {item.rule}")
        else:
            places.append(f"{prefix}{item.path}" + (f":{item.line}" if item.line else "")
                          + ": not checked")
    if len(left_out) > OVERFLOW_LISTED:
        places.append(f"... and {len(left_out) - OVERFLOW_LISTED} more")
    where = ("the job summary" if environ.get("GITHUB_STEP_SUMMARY")
             else "`--format sarif` (code scanning) or `orgscope-lint report`")
    noun = "finding" if len(left_out) == len(findings) and len(left_out) == 1 else "findings"
    return _command(
        "notice", f"{len(left_out)} more {noun} not annotated ({', '.join(counts)}); GitHub "
        f"shows {ANNOTATIONS_PER_LEVEL} per level; the full list is in {where}:\n"
        + "\n".join(places), title="orgscope-lint: more findings")


class StepSummaryError(Exception):
    """`$GITHUB_STEP_SUMMARY` is set but cannot be written."""


def write_step_summary(result: RunResult, environ: Mapping[str, str],
                       **report_options: Any) -> Optional[Path]:
    """Append the Markdown report to the job summary when run inside Actions;
    raises `StepSummaryError` when that file cannot be written."""
    target = environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    from .markdown import render as render_markdown
    path = Path(target)
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(render_markdown(result, **report_options))
    except OSError as exc:  # annotations already went out: the caller warns
        raise StepSummaryError(f"cannot write the job summary to {target}: "
                               f"{exc.strerror or exc}") from None
    return path
