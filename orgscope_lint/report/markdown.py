"""`orgscope-lint report` / `--format markdown`: the audit report in Markdown.

Renders the report model of `document.py` (the HTML report renders the same
model). The head — executive summary and grouped fixes — fits on about two
printed pages; the detail sections follow it. The output is deterministic
(stable order, no timestamp) so it can be committed and diffed.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from ..model import RunResult
from .document import DASH, FixGroup, Report, Row, Section, build, code

# where the head (executive summary, fixes) ends and the detail sections begin
DETAIL_MARK = "<!-- details -->"
_CODE_SPAN = re.compile(r"(``.+?``|`[^`]*`)")


def _text(text: str) -> str:
    """Free text: `<...>` outside code spans would be read as an HTML tag."""
    parts = _CODE_SPAN.split(str(text))
    return "".join(part if index % 2 else part.replace("<", "\\<").replace(">", "\\>")
                   for index, part in enumerate(parts))


def _cell(text: str) -> str:
    """Table cells: no newlines, no bare pipes."""
    return _text(" ".join(str(text).split()).replace("|", "\\|"))


def render(result: RunResult, **options: Any) -> str:
    return render_report(build(result, **options))


def render_report(report: Report) -> str:
    lines: List[str] = []
    add = lines.append
    add(f"# {_text(report.title)}")
    add("")
    add(_text(report.intro))
    add("")
    add("## Executive summary")
    add("")
    add("| Checked | |")
    add("|---|---|")
    for name, value in report.checked:
        add(f"| {_cell(name)} | {_cell(value)} |")
    add("")
    if report.verdicts:
        add("**Verdict per area**")
        add("")
        for title, anchor, status, text in report.verdicts:
            add(f"- [{_text(title)}](#{anchor}): **{status}** {DASH} {_text(text)}")
        add("")
    if report.open_by_rule:
        add("**Open problems by rule:** " + ", ".join(
            f"{rule} {name} ×{count}" for rule, name, _, count in report.open_by_rule) + ".")
        add("")
    add("## Fixes required")
    add("")
    if report.fixes:
        for index, group in enumerate(report.fixes, 1):
            _fix_group(lines, index, group, report.files_per_group)
    else:
        add("None: no finding is open.")
    add("")
    add(DETAIL_MARK)
    add("")
    for section in report.sections:
        _section(lines, section)
    details = report.detailed_rows
    if details:
        add("## Details")
        add("")
        for section, row in details:
            add(f'<a id="{row.anchor}"></a>')
            add(f"**{_text(row.cells[0])}** ({row.status}, "
                f"[{_text(section.title.split(f' {DASH} ', 1)[-1])}](#{section.anchor}))")
            add("")
            for detail in row.details:
                add(f"- {_text(detail)}")
            add("")
        add("---")
        add("")
    add("## Summary")
    add("")
    for name, value in report.summary:
        add(f"- **{name}:** {_text(value)}.")
    return "\n".join(lines).rstrip("\n") + "\n"


def _place(place) -> str:
    where = f"line {place.line}"
    if place.symbol:
        where += f" {code(place.symbol)}"
    return f"{where} ({place.note})" if place.note else where


def _fix_group(lines: List[str], index: int, group: FixGroup, limit: int) -> None:
    lines.append(f"{index}. **{group.rule}** {_text(group.title[len(group.rule) + 1:])}")
    shown, rest = group.shown(limit)
    for path, places in shown:
        lines.append(f"   - **{_text(path)}**: " + "; ".join(_text(_place(p)) for p in places))
    if rest:
        count = sum(len(places) for _, places in rest)
        lines.append(f"   - … and {count} more in {len(rest)} other files (each in its "
                     "area's table below)")


def _section(lines: List[str], section: Section) -> None:
    add = lines.append
    add(f'## {_text(section.title)} <a id="{section.anchor}"></a>')
    add("")
    if section.rows:
        columns = section.columns + ["Status"]
        add("| " + " | ".join(columns) + " |")
        add("|" + "|".join("-" * (len(c) + 2) for c in columns) + "|")
        for row in section.rows:
            add("| " + " | ".join(_cell(c) for c in row.cells[:len(columns) - 1])
                + f" | {_cell(_status(row))} |")
        add("")
    for note in section.notes:
        add(_text(note))
        add("")
    if section.checklist:
        add("The tool cannot check these; confirm each one by hand.")
        add("")
        for item in section.checklist:
            add(f"- [ ] {_text(item)}")
        add("")
    add("---")
    add("")


def _status(row: Row) -> str:
    text = f"{row.status} {DASH} {row.evidence}"
    return f"{text} [details](#{row.anchor})" if row.anchor else text


def head(text: str) -> str:
    """The part of a rendered report before the detail sections."""
    return text.split(DETAIL_MARK, 1)[0]


def report_options(config: Any, commit: Optional[str] = None) -> Dict[str, Any]:
    """The report's settings from the config (`[tool.orgscope-lint.report]`)."""
    return {"title": config.report_title, "sections": config.report_sections,
            "checklist": config.report_checklist, "table_keys": dict(config.table_keys),
            "commit": commit}
