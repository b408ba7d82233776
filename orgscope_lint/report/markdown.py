"""`orgscope-lint report` / `--format markdown`: the audit report.

Modelled on a hand-made org-scoping review: what was checked, the fixes
required, one section per area with `| Item | Status |` rows whose statuses
read OK / FAIL / ACCEPTED / UNVERIFIED with concrete evidence, the routes and
the database schema when those facts exist, a manual checklist, a summary.

The output is deterministic (stable order, no timestamp) so it can be
committed and diffed. Route and schema facts come from other analyses as
plain dicts and are rendered defensively: a missing key never breaks a report.
"""
from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from .. import __version__
from ..model import DbCall, Finding, RunResult
from .areas import Area, assign_areas

OK, FAIL, ACCEPTED, UNVERIFIED = "OK", "FAIL", "ACCEPTED", "UNVERIFIED"
_DASH = "–"
_OP_NOUNS = {"read": ("read", "reads"), "write": ("write", "writes"),
             "insert": ("insert", "inserts")}


def _plural(count: int, one: str, many: Optional[str] = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _text(text: str) -> str:
    """Free text from messages: `<...>` would be read as an HTML tag."""
    return str(text).replace("<", "\\<").replace(">", "\\>")


def _cell(text: str) -> str:
    """Table cells: no newlines, no bare pipes."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _code(text: Any) -> str:
    text = str(text)
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


@dataclass
class Row:
    """One `| Item | Status |` row: a module's top level or one class."""

    path: str
    owner: Optional[str]  # class name, None for module-level functions
    calls: List[DbCall] = field(default_factory=list)
    findings: List[Finding] = field(default_factory=list)

    def status(self, tenant_key: str) -> Tuple[str, str]:
        active = [f for f in self.findings if not f.suppressed]
        accepted = [f for f in self.findings if f.suppressed]
        unknown = [c for c in self.calls if c.outcome == "unknown"]
        if active:
            parts = [_finding_evidence(f) for f in active] + _accepted_evidence(accepted)
            if unknown:
                parts.append(_unverified_evidence(unknown))
            return FAIL, "; ".join(parts) + _scoped_tail(self.calls, tenant_key)
        if accepted:
            parts = _accepted_evidence(accepted)
            if unknown:
                parts.append(_unverified_evidence(unknown))
            return ACCEPTED, "; ".join(parts) + _scoped_tail(self.calls, tenant_key)
        if unknown:
            return UNVERIFIED, _unverified_evidence(unknown) + _scoped_tail(self.calls, tenant_key)
        return OK, _ok_evidence(self.calls, tenant_key)


def _reason(finding: Finding) -> str:
    suppression = finding.suppression or {}
    kind = {"comment": "inline suppression", "system-context": "system context",
            "baseline": "baseline"}.get(suppression.get("kind"), "suppressed")
    reason = suppression.get("reason")
    return f"{kind}: {reason}" if reason else kind


def _where(finding: Finding) -> str:
    if finding.symbol:
        return f"{_code(finding.symbol)} line {finding.line}"
    return f"line {finding.line}"


def _finding_evidence(finding: Finding) -> str:
    """Short: the full message is in "Fixes required" already."""
    target = ""
    if finding.table:
        operation = finding.operation if finding.operation not in (None, "call") else "table"
        target = f" ({operation} {'' if operation == 'table' else 'on '}{_code(finding.table)})"
    return f"{_where(finding)}: {finding.rule} {finding.name}{target}"


def _accepted_evidence(accepted: Sequence[Finding]) -> List[str]:
    reasons: Dict[str, List[Finding]] = OrderedDict()
    for finding in accepted:
        reasons.setdefault(_reason(finding), []).append(finding)
    return [f"{_plural(len(items), 'finding')} accepted ({reason}): "
            + ", ".join(f"{_where(f)} {f.rule}" for f in items)
            for reason, items in reasons.items()]


def _unverified_evidence(calls: Sequence[DbCall]) -> str:
    items = ", ".join(f"{_code(c.symbol or '<module>')} line {c.line} ({c.detail or 'opaque filter'})"
                      for c in calls)
    return f"{_plural(len(calls), 'call')} could not be verified: {items}"


def _scoped_counts(calls: Iterable[DbCall]) -> Dict[Tuple[str, str], int]:
    counts: Counter = Counter()
    for call in calls:
        if call.outcome == "scoped":
            counts[(call.operation, call.tenant_key or "")] += 1
    return counts


def _describe_scoped(calls: Sequence[DbCall], tenant_key: str) -> List[str]:
    by_key: Dict[str, Counter] = OrderedDict()
    for (operation, key), count in sorted(_scoped_counts(calls).items(),
                                          key=lambda item: (item[0][1] != tenant_key, item[0])):
        by_key.setdefault(key or tenant_key, Counter())[operation] = count
    parts = []
    for key, operations in by_key.items():
        words = [_plural(operations[op], *_OP_NOUNS[op]) for op in ("read", "write", "insert")
                 if operations.get(op)]
        parts.append(f"{_join(words)} scoped by {_code(key)}")
    return parts


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _scoped_tail(calls: Sequence[DbCall], tenant_key: str) -> str:
    parts = _sound_parts(calls, tenant_key)
    return f"; otherwise {_join(parts)}" if parts else ""


def _ok_evidence(calls: Sequence[DbCall], tenant_key: str) -> str:
    parts = _sound_parts(calls, tenant_key)
    return _join(parts) if parts else "no database access"


def _sound_parts(calls: Sequence[DbCall], tenant_key: str) -> List[str]:
    """Evidence for the calls that need no change: scoped, global, generic."""
    parts = _describe_scoped(calls, tenant_key)
    global_tables = sorted({c.table for c in calls if c.outcome == "global" and c.table})
    if global_tables:
        parts.append(f"{_plural(sum(1 for c in calls if c.outcome == 'global'), 'call')} on "
                     f"global {'table' if len(global_tables) == 1 else 'tables'} "
                     + ", ".join(_code(t) for t in global_tables))
    infrastructure = [c for c in calls if c.outcome == "infrastructure"]
    if infrastructure:
        parts.append(f"{_plural(len(infrastructure), 'generic CRUD method')} "
                     "(table is a parameter: its callers are checked)")
    return parts


# --- document ---------------------------------------------------------------

def render(result: RunResult, *, title: Optional[str] = None, sections: Sequence = (),
           checklist: Sequence[str] = (), commit: Optional[str] = None,
           table_keys: Optional[Dict[str, str]] = None, **_: Any) -> str:
    tenant_key = result.tenant_key
    areas = assign_areas(_paths(result), sections)
    rows = _rows(result)
    lines: List[str] = []
    add = lines.append
    project = PurePosixPath(result.root.replace("\\", "/")).name or result.root
    add(f"# {title or f'Organization-scoping verification: {project}'}")
    add("")
    add(_intro(result, commit))
    add("")
    add(_checked_table(result, table_keys or {}))
    add("")
    add("---")
    add("")
    add("## Fixes required")
    add("")
    active = result.active
    if active:
        for index, finding in enumerate(active, 1):
            add(f"{index}. **{finding.path}** line {finding.line}"
                + (f" ({_code(finding.symbol)})" if finding.symbol else "")
                + f" – {finding.rule} {finding.name}: {_text(finding.message)}")
    else:
        add("None: no finding is open.")
    add("")
    add("---")
    add("")
    statuses: Counter = Counter()
    number = 0
    for area in areas:
        area_rows = [rows[key] for key in sorted(rows, key=_row_order)
                     if key[0] in area.paths]
        quiet = sorted(p for p in area.paths if not any(k[0] == p for k in rows))
        if not area_rows and not quiet:
            continue
        number += 1
        add(f"## Section {number} {_DASH} {area.title}")
        add("")
        if area_rows:
            add("| Item | Status |")
            add("|------|--------|")
            for row in area_rows:
                status, evidence = row.status(tenant_key)
                statuses[status] += 1
                add(f"| {_cell(_item_label(row, area))} | {_cell(f'{status} {_DASH} {evidence}')} |")
            add("")
        if quiet:
            add("No database access in: " + ", ".join(_code(_relative_to(p, area.base))
                                                       for p in quiet) + ".")
            add("")
        add("---")
        add("")
    if result.routes:
        number += 1
        _routes_section(lines, number, result, statuses)
    if result.schema:
        number += 1
        _schema_section(lines, number, result.schema, statuses)
    if checklist:
        number += 1
        add(f"## Section {number} {_DASH} Manual checks (your responsibility)")
        add("")
        add("The tool cannot check these; confirm each one by hand.")
        add("")
        for item in checklist:
            add(f"- [ ] {_text(item)}")
        add("")
        add("---")
        add("")
    _summary(lines, result, statuses)
    return "\n".join(lines).rstrip("\n") + "\n"


def _paths(result: RunResult) -> List[str]:
    paths = {c.path for c in result.db_calls} | {f.path for f in result.findings}
    paths |= set(result.checked)
    for route in result.routes:
        if isinstance(route, dict) and route.get("file"):
            paths.add(str(route["file"]))
    return sorted(paths)


def _rows(result: RunResult) -> Dict[Tuple[str, Optional[str]], Row]:
    rows: Dict[Tuple[str, Optional[str]], Row] = {}

    def row_for(path: str, symbol: Optional[str], classes: Iterable[str]) -> Row:
        owner = None
        if symbol and "." in symbol and symbol.split(".")[0] in classes:
            owner = symbol.split(".")[0]
        key = (path, owner)
        if key not in rows:
            rows[key] = Row(path, owner)
        return rows[key]

    # a dotted symbol names a class method when the first part starts upper-case
    # (nested functions are `outer.inner`, classes are CapWords by convention)
    def classes_of(symbol: Optional[str]) -> Tuple[str, ...]:
        head = (symbol or "").split(".")[0]
        return (head,) if head[:1].isupper() and "." in (symbol or "") else ()

    for call in result.db_calls:
        row_for(call.path, call.symbol, classes_of(call.symbol)).calls.append(call)
    for finding in result.findings:
        row_for(finding.path, finding.symbol, classes_of(finding.symbol)).findings.append(finding)
    return rows


def _row_order(key: Tuple[str, Optional[str]]) -> Tuple[str, str]:
    return (key[0], key[1] or "")


def _relative_to(path: str, base: str) -> str:
    if base and path.startswith(base + "/"):
        return path[len(base) + 1:]
    return path


def _item_label(row: Row, area: Area) -> str:
    label = _relative_to(row.path, area.base)
    return f"{label} {_code(row.owner)}" if row.owner else label


def _intro(result: RunResult, commit: Optional[str]) -> str:
    parts = [f"Checked by orgscope-lint {__version__}"]
    if commit:
        parts.append(f" at commit {_code(commit)}")
    parts.append(". ")
    if result.config_path:
        config = result.config_path.replace("\\", "/")
        root = result.root.replace("\\", "/").rstrip("/")
        if config.startswith(root + "/"):
            config = config[len(root) + 1:]
        parts.append(f"Configuration: {_code(config)}. ")
    else:
        parts.append("Configuration: defaults (no `[tool.orgscope-lint]` found). ")
    parts.append("Every database call and route was read from source without running it; "
                 "statuses below give the evidence for each item.")
    return "".join(parts)


def _checked_table(result: RunResult, table_keys: Dict[str, str]) -> str:
    outcomes = Counter(c.outcome for c in result.db_calls)
    order = ("scoped", "conditional", "unscoped", "empty", "unknown", "global", "infrastructure")
    words = {"empty": "unfiltered", "unknown": "unverified"}
    breakdown = ", ".join(f"{outcomes[o]} {words.get(o, o)}" for o in order if outcomes.get(o))
    tables = sorted({c.table for c in result.db_calls if c.table})
    global_tables = sorted({c.table for c in result.db_calls if c.table and c.outcome == "global"})
    key = _code(result.tenant_key)
    overrides = sorted(table_keys.items())
    if overrides:
        key += " (" + ", ".join(f"{_code(t)}: {_code(k)}" for t, k in overrides) + ")"
    active = result.active
    severity = Counter(f.severity for f in active)
    findings = str(len(active))
    if severity:
        findings += " (" + ", ".join(_plural(n, s) for s, n in sorted(severity.items())) + ")"
    accepted = len(result.findings) - len(active)
    if accepted:
        findings += f"; {accepted} accepted"
    rows = [
        ("Python files", f"{result.files} ({result.lines} lines)"),
        ("Database calls", f"{len(result.db_calls)}" + (f" ({breakdown})" if breakdown else "")),
    ]
    if result.routes:
        rows.append(("Routes", str(len(result.routes))))
    rows.append(("Tables", f"{len(tables)}" + (": " + ", ".join(_code(t) for t in tables)
                                               if tables else "")))
    if global_tables:
        rows.append(("Global tables (not tenant-owned)", ", ".join(_code(t) for t in global_tables)))
    rows.append(("Tenant key", key))
    rows.append(("Open findings", findings))
    if result.errors:
        rows.append(("Files that could not be read", str(len(result.errors))))
    out = ["| Checked | |", "|---|---|"]
    out.extend(f"| {_cell(name)} | {_cell(value)} |" for name, value in rows)
    return "\n".join(out)


def _route_text(route: Dict[str, Any], key: str) -> str:
    value = route.get(key)
    if value is None:
        return ""
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _routes_section(lines: List[str], number: int, result: RunResult,
                    statuses: Counter) -> None:
    add = lines.append
    add(f"## Section {number} {_DASH} Routes")
    add("")
    add("| Route | Handler | Auth | Status |")
    add("|-------|---------|------|--------|")
    routes = [r for r in result.routes if isinstance(r, dict)]
    routes.sort(key=lambda r: (_route_text(r, "path"), _route_text(r, "methods"),
                               _route_text(r, "file"), str(r.get("line", ""))))
    for route in routes:
        file, handler = _route_text(route, "file"), _route_text(route, "handler")
        mine = [f for f in result.findings if f.path == file and f.symbol and handler
                and (f.symbol == handler or f.symbol.startswith(handler + "."))]
        open_ = [f for f in mine if not f.suppressed]
        auth = route.get("auth")
        auth_text = _route_text(route, "auth") if auth not in (None, True, False) else (
            "yes" if auth else "none")
        if not auth_text:  # the route summary's empty chain: public on purpose, or not
            auth_text = f"public ({route['public']})" if route.get("public") else "none"
        if open_:
            status = f"{FAIL} {_DASH} " + ", ".join(sorted({f.rule for f in open_}))
        elif mine:
            status = f"{ACCEPTED} {_DASH} " + "; ".join(sorted({_reason(f) for f in mine}))
        else:
            status = f"{OK} {_DASH} no finding"
        statuses[status.split(" ")[0]] += 1
        methods = _route_text(route, "methods").upper()
        where = f"{file}:{route['line']}" if route.get("line") else file
        label = f"{methods} {_route_text(route, 'path')}".strip()
        handler_text = f"{_code(handler)} ({where})" if handler else where
        add(f"| {_cell(label)} | {_cell(handler_text)} | {_cell(auth_text)} | {_cell(status)} |")
    add("")
    add("---")
    add("")


def _schema_section(lines: List[str], number: int, schema: Dict[str, Any],
                    statuses: Counter) -> None:
    add = lines.append
    add(f"## Section {number} {_DASH} Database")
    add("")
    tables = schema.get("tables") if isinstance(schema, dict) else None
    if not isinstance(tables, dict) or not tables:
        add("No tables were found in the schema files.")
        add("")
        add("---")
        add("")
        return
    add("| Table | Tenant column | RLS | Status |")
    add("|-------|---------------|-----|--------|")
    for name in sorted(tables):
        table = tables[name] if isinstance(tables[name], dict) else {}
        column = table.get("tenant_column")
        rls = bool(table.get("rls_enabled"))
        policies = table.get("policies") if isinstance(table.get("policies"), dict) else {}
        unscoped = sorted(p for p, info in policies.items()
                          if isinstance(info, dict) and info.get("tenant_scoped") is False)
        if not column:
            status = f"{OK} {_DASH} no tenant column: global table"
        elif not rls:
            status = f"{FAIL} {_DASH} row-level security is not enabled"
        elif unscoped:
            verb = "does" if len(unscoped) == 1 else "do"
            status = (f"{FAIL} {_DASH} {_plural(len(unscoped), 'policy', 'policies')} {verb} "
                      f"not reference {_code(column)}: " + ", ".join(_code(p) for p in unscoped))
        elif policies:
            status = (f"{OK} {_DASH} RLS on; {_plural(len(policies), 'policy', 'policies')} "
                      f"scoped by {_code(column)}")
        else:
            status = f"{OK} {_DASH} RLS on with no policy (denies all but the service role)"
        statuses[status.split(" ")[0]] += 1
        add(f"| {_cell(_code(name))} | {_cell(_code(column) if column else '–')} | "
            f"{'on' if rls else 'off'} | {_cell(status)} |")
    add("")
    add("---")
    add("")


def _summary(lines: List[str], result: RunResult, statuses: Counter) -> None:
    add = lines.append
    add("## Summary")
    add("")
    checked = sum(statuses.values())
    counts = ", ".join(f"{statuses[s]} {s}" for s in (OK, FAIL, ACCEPTED, UNVERIFIED)
                       if statuses.get(s))
    add(f"- **Items checked:** {checked}" + (f" ({counts})." if counts else "."))
    active = result.active
    if active:
        files = len({f.path for f in active})
        add(f"- **Fixes required:** {len(active)} in {_plural(files, 'file')} "
            "(see \"Fixes required\" above).")
    else:
        add("- **Fixes required:** none.")
    accepted = [f for f in result.findings if f.suppressed]
    if accepted:
        reasons = Counter(_reason(f) for f in accepted)
        add(f"- **Accepted:** {len(accepted)}: "
            + "; ".join(f"{n} by {reason}" for reason, n in sorted(reasons.items())) + ".")
    unknown = [c for c in result.db_calls if c.outcome == "unknown"]
    if unknown:
        add(f"- **Unverified:** {_plural(len(unknown), 'database call')} whose filter or table "
            "the tool cannot see; review them by hand or run with `--strict`.")
    if result.errors:
        add(f"- **Not checked:** {_plural(len(result.errors), 'file')} could not be read: "
            + ", ".join(_code(e.path) for e in result.errors) + ".")
    if result.baselined or result.baseline_gone:
        add(f"- **Baseline:** {result.baselined} known, {result.baseline_gone} fixed since.")


def report_options(config: Any, commit: Optional[str] = None) -> Dict[str, Any]:
    """The report's settings from the config (`[tool.orgscope-lint.report]`)."""
    return {"title": config.report_title, "sections": config.report_sections,
            "checklist": config.report_checklist, "table_keys": dict(config.table_keys),
            "commit": commit}
