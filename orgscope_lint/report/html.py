"""`orgscope-lint report --format html`: the audit report as one self-contained
HTML file (inline styles, no script, no network), for reviewers who hand it on.

Renders the same report model as the Markdown report (`document.py`): a table
of contents, the executive summary, the grouped fixes, then each detail
section with its table and, under it, every item's full evidence in a
collapsible `<details>` block that the table row links to.
"""
from __future__ import annotations

import re
from html import escape
from typing import Any, List

from ..model import RunResult
from .document import DASH, FixGroup, Report, Section, build, code

_CODE_SPAN = re.compile(r"``\s?(.+?)\s?``|`([^`]*)`")
_STATUS_COLOURS = {"OK": "#1a7f37", "FAIL": "#cf222e", "ACCEPTED": "#9a6700",
                   "UNVERIFIED": "#6639ba", "TODO": "#0969da"}

_STYLE = """
body{font:15px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2328;
max-width:1100px;margin:2em auto;padding:0 1.5em}
h1{font-size:1.7em;border-bottom:1px solid #d0d7de;padding-bottom:.3em}
h2{font-size:1.3em;margin-top:1.8em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa;
padding:.1em .3em;border-radius:4px}
table{border-collapse:collapse;margin:.8em 0;width:100%}
th,td{border:1px solid #d0d7de;padding:.35em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa}
table.compact{width:auto}
.status{font-weight:600;white-space:nowrap}
nav{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.6em 1.2em}
nav ol{margin:.3em 0}
details{margin:.3em 0;border:1px solid #d0d7de;border-radius:6px;padding:.3em .8em}
details[open]{background:#fbfcfd}
summary{cursor:pointer}
ol.fixes>li{margin:.5em 0}
@media print{details{border:none}details>*{display:block}}
"""


def _inline(text: Any) -> str:
    """Escape free text; `code` spans become <code>."""
    out: List[str] = []
    position = 0
    text = str(text)
    for match in _CODE_SPAN.finditer(text):
        out.append(escape(text[position:match.start()]))
        out.append(f"<code>{escape(match.group(1) or match.group(2) or '')}</code>")
        position = match.end()
    out.append(escape(text[position:]))
    return "".join(out)


def _status(status: str) -> str:
    colour = _STATUS_COLOURS.get(status, "#1f2328")
    return f'<span class="status" style="color:{colour}">{escape(status)}</span>'


def render(result: RunResult, **options: Any) -> str:
    return render_report(build(result, **options))


def render_report(report: Report) -> str:
    out: List[str] = ['<!DOCTYPE html>', '<html lang="en">', "<head>", '<meta charset="utf-8">',
                      '<meta name="viewport" content="width=device-width, initial-scale=1">',
                      f"<title>{_inline(report.title)}</title>",
                      f"<style>{_STYLE}</style>", "</head>", "<body>"]
    add = out.append
    add(f"<h1>{_inline(report.title)}</h1>")
    add(f"<p>{_inline(report.intro)}</p>")
    add('<nav id="contents"><strong>Contents</strong><ol>')
    add('<li><a href="#summary">Executive summary</a></li>')
    add('<li><a href="#fixes">Fixes required</a></li>')
    for section in report.sections:
        add(f'<li><a href="#{section.anchor}">{_inline(section.title)}</a></li>')
    add('<li><a href="#closing">Summary</a></li>')
    add("</ol></nav>")
    add('<h2 id="summary">Executive summary</h2>')
    add('<table class="compact"><tbody>')
    for name, value in report.checked:
        add(f"<tr><th>{_inline(name)}</th><td>{_inline(value)}</td></tr>")
    add("</tbody></table>")
    if report.verdicts:
        add("<p><strong>Verdict per area</strong></p><ul>")
        for title, anchor, status, text in report.verdicts:
            add(f'<li><a href="#{anchor}">{_inline(title)}</a>: {_status(status)} {DASH} '
                f"{_inline(text)}</li>")
        add("</ul>")
    if report.open_by_rule:
        add("<p><strong>Open problems by rule</strong></p>")
        add('<table class="compact"><thead><tr><th>Rule</th><th>Severity</th><th>Open</th>'
            "</tr></thead><tbody>")
        for rule, name, severity, count in report.open_by_rule:
            add(f"<tr><td>{escape(rule)} {escape(name)}</td><td>{escape(severity)}</td>"
                f"<td>{count}</td></tr>")
        add("</tbody></table>")
    add('<h2 id="fixes">Fixes required</h2>')
    if report.fixes:
        add('<ol class="fixes">')
        for group in report.fixes:
            _fix_group(out, group, report.files_per_group)
        add("</ol>")
    else:
        add("<p>None: no finding is open.</p>")
    for section in report.sections:
        _section(out, section)
    add('<h2 id="closing">Summary</h2><ul>')
    for name, value in report.summary:
        add(f"<li><strong>{escape(name)}:</strong> {_inline(value)}.</li>")
    add("</ul>")
    add("</body>")
    add("</html>")
    return "\n".join(out) + "\n"


def _fix_group(out: List[str], group: FixGroup, limit: int) -> None:
    out.append(f"<li><strong>{escape(group.rule)}</strong> "
               f"{_inline(group.title[len(group.rule) + 1:])}")
    shown, rest = group.shown(limit)
    out.append("<ul>")
    for path, places in shown:
        listed = "; ".join(_inline(f"line {p.line}" + (f" {code(p.symbol)}" if p.symbol else "")
                                   + (f" ({p.note})" if p.note else "")) for p in places)
        out.append(f"<li><strong>{escape(path)}</strong>: {listed}</li>")
    out.append("</ul>")
    if rest:
        out.append("<details><summary>" + escape(
            f"… and {sum(len(p) for _, p in rest)} more in {len(rest)} files") + "</summary><ul>")
        for path, places in rest:
            out.append(f"<li><strong>{escape(path)}</strong>: "
                       + "; ".join(_inline(f"line {p.line}" + (f" {code(p.symbol)}"
                                                               if p.symbol else ""))
                                   for p in places) + "</li>")
        out.append("</ul></details>")
    out.append("</li>")


def _section(out: List[str], section: Section) -> None:
    add = out.append
    add(f'<h2 id="{section.anchor}">{_inline(section.title)}</h2>')
    status, text = section.verdict
    if text:
        add(f"<p>{_status(status)} {DASH} {_inline(text)}</p>")
    if section.rows:
        add("<table><thead><tr>" + "".join(f"<th>{escape(c)}</th>" for c in section.columns)
            + "<th>Status</th></tr></thead><tbody>")
        for row in section.rows:
            cells = "".join(f"<td>{_inline(c)}</td>" for c in row.cells[:len(section.columns)])
            link = f' <a href="#{row.anchor}">details</a>' if row.anchor else ""
            add(f"<tr>{cells}<td>{_status(row.status)} {DASH} {_inline(row.evidence)}{link}"
                "</td></tr>")
        add("</tbody></table>")
    for note in section.notes:
        add(f"<p>{_inline(note)}</p>")
    if section.checklist:
        add("<p>The tool cannot check these; confirm each one by hand.</p><ul>")
        for item in section.checklist:
            add(f"<li>&#9744; {_inline(item)}</li>")
        add("</ul>")
    for row in section.rows:
        if not row.details:
            continue
        add(f'<details id="{row.anchor}"><summary>{_status(row.status)} '
            f"{_inline(row.cells[0])}</summary><ul>")
        for detail in row.details:
            add(f"<li>{_inline(detail)}</li>")
        add("</ul></details>")
