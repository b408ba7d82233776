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


def render(result: RunResult, *, environ: Optional[Mapping[str, str]] = None,
           **_: Any) -> str:
    # annotations name files relative to the repository
    _, prefix = workspace(result.root, os.environ if environ is None else environ)
    lines: List[str] = []
    shown: Counter = Counter()
    left_out: List[Finding] = []
    for finding in result.active:
        level = _COMMAND.get(finding.severity, "warning")
        if shown[level] < ANNOTATIONS_PER_LEVEL:
            shown[level] += 1
            lines.append(_annotation(finding, prefix))
        else:
            left_out.append(finding)
    for error in result.errors + result.internal_errors:
        lines.append(_command("error", error.message, file=prefix + error.path,
                              title="orgscope-lint could not check this file"))
    if left_out:
        per_rule = ", ".join(f"{n} {code}" for code, n in sorted(
            Counter(f.rule for f in left_out).items()))
        listing = "\n".join(f"{prefix}{f.path}:{f.line}:{f.column}: {f.rule} {f.message}"
                            for f in left_out)
        lines.append(_command(
            "notice", f"{len(left_out)} more findings not annotated ({per_rule}); "
            f"GitHub shows {ANNOTATIONS_PER_LEVEL} per level:\n{listing}",
            title="orgscope-lint: more findings"))
    numbers = counts(result)
    where = f" in {plural(numbers.open_files, 'file')}" if numbers.open else ""
    lines.append(f"orgscope-lint: {plural(numbers.open, 'finding')}{where} "
                 f"({plural(numbers.files_checked, 'file')} checked, {numbers.accepted} accepted"
                 + (f", {numbers.baselined} baselined" if numbers.baselined else "") + ")")
    return "\n".join(lines) + "\n"


def write_step_summary(result: RunResult, environ: Mapping[str, str],
                       **report_options: Any) -> Optional[Path]:
    """Append the Markdown report to the job summary when run inside Actions."""
    target = environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    from .markdown import render as render_markdown
    path = Path(target)
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(render_markdown(result, **report_options))
    except OSError:  # a job summary is a courtesy; annotations already went out
        return None
    return path
