"""Terminal output with rich: grouped by file, code and name, a one-line
message, the source line, counts at the end. Plain text when not a TTY or
when NO_COLOR is set (rich handles both)."""
from __future__ import annotations

import os
from io import StringIO
from itertools import groupby
from typing import Any, Optional

from rich.console import Console
from rich.markup import escape

from ..model import RunResult
from .counts import counts, plural

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _from_cwd(root: str):
    """Root-relative paths as the user can click them: relative to the
    current directory."""
    cwd = os.getcwd()
    if os.path.abspath(root) == cwd:
        return lambda path: path
    return lambda path: os.path.relpath(os.path.join(root, path), cwd).replace(os.sep, "/")


def render(result: RunResult, *, color: Optional[bool] = None, show_source: bool = True,
           quiet: bool = False, **_: Any) -> str:
    buffer = StringIO()
    console = Console(file=buffer, force_terminal=bool(color), no_color=not color,
                      highlight=False, soft_wrap=True, width=120)
    active = result.active
    shown = _from_cwd(result.root)
    for path, group in groupby(active, key=lambda f: f.path):
        console.print(f"[bold underline]{escape(shown(path))}[/]")
        for finding in group:
            style = _STYLE.get(finding.severity, "")
            mark = escape("[*] ") if finding.fixable else ""
            console.print(
                f"  {finding.line}:{finding.column}  [{style}]{finding.rule}[/] "
                f"[dim]{finding.name}[/]  {mark}{escape(finding.message)}")
            if show_source and finding.source_line.strip():
                console.print(f"      [dim]{escape(finding.source_line.strip())}[/]")
        console.print()
    for error in result.errors:
        where = f"{shown(error.path)}:{error.line}" if error.line else shown(error.path)
        console.print(f"[red]error[/]: {escape(where)}: {escape(error.message)}")
    for error in result.internal_errors:
        first = error.message.strip().splitlines()[-1] if error.message.strip() else ""
        console.print(f"[bold red]internal error[/] while checking {escape(shown(error.path))}: "
                      f"{escape(first)}")
    if quiet:
        return buffer.getvalue()
    numbers = counts(result)
    parts = [plural(numbers.open, "finding")]
    if numbers.open:
        parts[0] += f" in {plural(numbers.open_files, 'file')}"
        parts.append(", ".join(plural(n, s) for s, n in numbers.open_by_severity.items()))
    summary = (f"{'; '.join(parts)} ({plural(numbers.files_checked, 'file')} checked, "
               f"{numbers.db_calls} DB calls")
    if numbers.routes:
        summary += f", {numbers.routes} routes"
    summary += ")"
    extras = []
    if numbers.accepted:
        extras.append(f"{numbers.accepted} accepted")
    if numbers.unverified:
        extras.append(f"{numbers.unverified} unverified")
    if numbers.baselined:
        extras.append(f"{numbers.baselined} baselined")
    if result.skipped:
        extras.append(f"{len(result.skipped)} skipped (larger than max-file-size)")
    if numbers.fixable:
        extras.append(f"{numbers.fixable} fixable with --fix ([*])")
    if extras:
        summary += "; " + ", ".join(extras)
    style = "bold red" if active else "bold green"
    console.print(f"[{style}]{escape(summary)}[/]")
    return buffer.getvalue()
