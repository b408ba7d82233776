"""The audit report as plain data, built once from a `RunResult`.

Markdown and HTML render this same model, so both say the same thing. It is
modelled on a hand-made org-scoping review: an executive summary (what was
checked, one verdict line per area, open problems by rule), the fixes required
grouped by rule and cause, then the detail sections (one row per function or
class per area, routes, database), the manual checklist, the full evidence of
each item and a closing summary.

Text fields use one inline markup only: `backticks` for code. Renderers escape
everything else. Nothing here knows about libcst or about an output format.
"""
from __future__ import annotations

import re
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .. import __version__
from ..model import DbCall, Finding, RunResult
from .areas import Area, assign_areas
from .counts import Counts, counts, plural

OK, FAIL, ACCEPTED, UNVERIFIED = "OK", "FAIL", "ACCEPTED", "UNVERIFIED"
DASH = "–"
EVIDENCE_LIMIT = 200  # characters of evidence in a table cell; the rest is in the details
# file lines under the fix groups of the head: beyond it each group shows its
# first few files and counts the rest (the area tables list every place)
HEAD_FILE_LINES = 60
MIN_FILES_PER_GROUP = 2
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_OP_NOUNS = {"read": ("read", "reads"), "write": ("write", "writes"),
             "insert": ("insert", "inserts")}
_SCHEMA_SUFFIXES = (".sql",)


def code(text: Any) -> str:
    text = str(text)
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# --- the model ---------------------------------------------------------------

@dataclass
class Place:
    """One occurrence of a fix: file, line, symbol and a short note."""

    path: str
    line: int
    symbol: Optional[str]
    note: str


@dataclass
class FixGroup:
    rule: str
    name: str
    severity: str
    remedy: str  # what to do, shared by every place of the group
    places: List[Place]
    subject: str  # "writes", "routes", "tables", "places"

    @property
    def title(self) -> str:
        return (f"{self.rule} {self.name} {DASH} {plural(len(self.places), *_subject(self.subject))}"
                f": {self.remedy}")

    def shown(self, limit: int) -> Tuple[List[Tuple[str, List[Place]]],
                                         List[Tuple[str, List[Place]]]]:
        """(files listed in the head, files only counted there); one file more
        than the limit is listed rather than counted on a line of its own."""
        files = self.by_file()
        if len(files) <= limit + 1:
            return files, []
        return files[:limit], files[limit:]

    def by_file(self) -> List[Tuple[str, List[Place]]]:
        grouped: Dict[str, List[Place]] = OrderedDict()
        for place in sorted(self.places, key=lambda p: (p.path, p.line)):
            grouped.setdefault(place.path, []).append(place)
        return list(grouped.items())


def _subject(word: str) -> Tuple[str, str]:
    return {"reads": ("read", "reads"), "writes": ("write", "writes"),
            "inserts": ("insert", "inserts"), "routes": ("route", "routes"),
            "tables": ("table", "tables"), "policies": ("policy", "policies"),
            "calls": ("call", "calls"), "names": ("use", "uses"),
            "suppressions": ("suppression", "suppressions")}.get(word, ("place", "places"))


@dataclass
class Row:
    """One table row: its cells, a status with short evidence, the full detail."""

    cells: List[str]
    status: str
    evidence: str
    anchor: str = ""
    details: List[str] = field(default_factory=list)


@dataclass
class Section:
    title: str
    anchor: str
    columns: List[str]  # the cells' headers; every row also has a status column
    rows: List[Row] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)  # paragraphs under the table
    verdict: Tuple[str, str] = (OK, "")  # status, one line
    checklist: List[str] = field(default_factory=list)


@dataclass
class Report:
    title: str
    intro: str
    checked: List[Tuple[str, str]]
    verdicts: List[Tuple[str, str, str, str]]  # section title, anchor, status, text
    open_by_rule: List[Tuple[str, str, str, int]]  # rule, name, severity, count
    fixes: List[FixGroup]
    files_per_group: int  # file lines each fix group lists in the head
    sections: List[Section]
    summary: List[Tuple[str, str]]
    counts: Counts

    @property
    def detailed_rows(self) -> List[Tuple[Section, Row]]:
        return [(s, r) for s in self.sections for r in s.rows if r.details]


# --- building ----------------------------------------------------------------

def build(result: RunResult, *, title: Optional[str] = None, sections: Sequence = (),
          checklist: Sequence[str] = (), commit: Optional[str] = None,
          table_keys: Optional[Dict[str, str]] = None, **_: Any) -> Report:
    numbers = counts(result)
    project = PurePosixPath(result.root.replace("\\", "/")).name or result.root
    code_paths = [p for p in _paths(result) if not p.endswith(_SCHEMA_SUFFIXES)]
    built: List[Section] = []
    for area in assign_areas(code_paths, sections):
        section = _area_section(result, area, len(built) + 1)
        if section is not None:
            built.append(section)
    if result.routes:
        built.append(_routes_section(result, len(built) + 1))
    if result.schema:
        built.append(_schema_section(result, len(built) + 1))
    if checklist:
        number = len(built) + 1
        built.append(Section(f"Section {number} {DASH} Manual checks (your responsibility)",
                             f"section-{number}", [], checklist=list(checklist),
                             verdict=("TODO", f"{plural(len(checklist), 'item')} to confirm by "
                                              "hand")))
    verdicts = [(s.title.split(f" {DASH} ", 1)[-1], s.anchor) + s.verdict for s in built]
    by_rule = Counter((f.rule, f.name, f.severity) for f in result.active)
    open_by_rule = sorted(((r, n, s, c) for (r, n, s), c in by_rule.items()),
                          key=lambda item: (_SEVERITY_ORDER.get(item[2], 3), -item[3], item[0]))
    fixes = fix_groups(result.active)
    return Report(
        title=title or f"Organization-scoping verification: {project}",
        intro=_intro(result, commit), checked=_checked(result, numbers, table_keys or {}),
        verdicts=verdicts, open_by_rule=open_by_rule, fixes=fixes,
        files_per_group=files_per_group(fixes), sections=built,
        summary=_summary(result, numbers, built), counts=numbers)


def files_per_group(fixes: Sequence[FixGroup]) -> int:
    """All files when they fit in the head's budget, else an even share of it."""
    total = sum(len(g.by_file()) for g in fixes)
    if total <= HEAD_FILE_LINES or not fixes:
        return max([len(g.by_file()) for g in fixes] or [0])
    return max(MIN_FILES_PER_GROUP, HEAD_FILE_LINES // len(fixes))


def _paths(result: RunResult) -> List[str]:
    paths = {c.path for c in result.db_calls} | {f.path for f in result.findings}
    paths |= set(result.checked)
    for route in result.routes:
        if isinstance(route, dict) and route.get("file"):
            paths.add(str(route["file"]))
    return sorted(paths)


# --- fixes required ----------------------------------------------------------

_ROUTE_PREFIX = re.compile(r"^(?:[A-Z]+(?:\|[A-Z]+)*|not mounted) \S+(?: \([^)]*\))?: ")


def split_message(finding: Finding) -> Tuple[str, str]:
    """(what is wrong here, what to do) from `what: remedy`; the remedy has this
    place's own names (table, route) masked so equal causes group together."""
    message = _ROUTE_PREFIX.sub("", str(finding.message))
    what, sep, remedy = message.rpartition(": ")
    if not sep:
        return message, ""
    if len(remedy.split()) < 4 and ": " in what:  # "...: the row has no "x": add it"
        what, _, cause = what.rpartition(": ")
        remedy = f"{cause}: {remedy}"
    if finding.table:
        remedy = re.sub(rf"\b{re.escape(finding.table)}\b", "<table>", remedy)
        remedy = remedy.replace("tenant table '<table>'", "a tenant table")
        remedy = remedy.replace("'<table>'", "the table")
    return what, remedy


def _subject_of(finding: Finding) -> str:
    subjects = {"ORG101": "calls", "ORG102": "writes", "ORG103": "inserts", "ORG104": "calls",
                "ORG105": "calls", "ORG106": "calls", "ORG301": "names", "ORG401": "tables",
                "ORG402": "policies", "ORG901": "suppressions"}
    if finding.rule.startswith("ORG2"):
        return "routes"
    return subjects.get(finding.rule, "places")


def _place_note(finding: Finding) -> str:
    """Short: the group's title says what is wrong, the details say it in full."""
    if finding.table and finding.operation and finding.rule.startswith("ORG1"):
        operation = str(finding.operation)
        return f"{operation} on {code(finding.table)}" if operation != "call" else \
            f"reaches {code(finding.table)}"
    if finding.table and finding.rule.startswith("ORG4"):
        return code(finding.table)
    return ""


def fix_groups(active: Sequence[Finding]) -> List[FixGroup]:
    """One group per (rule, cause), most severe and most frequent first."""
    groups: Dict[Tuple[str, str], FixGroup] = OrderedDict()
    for finding in sorted(active, key=lambda f: f.sort_key()):
        what, remedy = split_message(finding)
        key = (finding.rule, remedy)
        group = groups.get(key)
        if group is None:
            group = groups[key] = FixGroup(finding.rule, finding.name, finding.severity,
                                           remedy or what, [], _subject_of(finding))
        elif group.subject != _subject_of(finding):
            group.subject = "places"
        group.places.append(Place(finding.path, finding.line, finding.symbol,
                                  _place_note(finding)))
    return sorted(groups.values(), key=lambda g: (_SEVERITY_ORDER.get(g.severity, 3),
                                                  g.rule, -len(g.places), g.remedy))


# --- code areas --------------------------------------------------------------

@dataclass
class _Item:
    """The facts of one function or class (or a module's top level)."""

    path: str
    owner: Optional[str]
    calls: List[DbCall] = field(default_factory=list)
    findings: List[Finding] = field(default_factory=list)
    unverified: List[DbCall] = field(default_factory=list)


def _owner(symbol: Optional[str]) -> Optional[str]:
    return symbol.split(".")[0] if symbol else None


def _items(result: RunResult) -> Dict[Tuple[str, Optional[str]], _Item]:
    items: Dict[Tuple[str, Optional[str]], _Item] = {}

    def item(path: str, symbol: Optional[str]) -> _Item:
        key = (path, _owner(symbol))
        if key not in items:
            items[key] = _Item(path, key[1])
        return items[key]

    for call in result.db_calls:
        target = item(call.path, call.symbol)
        (target.unverified if str(call.outcome) == "unknown" else target.calls).append(call)
    for fact in result.unverified:
        item(fact.path, fact.symbol).unverified.append(fact)
    for finding in result.findings:
        item(finding.path, finding.symbol).findings.append(finding)
    return items


def reason(finding: Finding) -> str:
    suppression = finding.suppression or {}
    kind = {"comment": "inline suppression", "system-context": "system context",
            "baseline": "baseline"}.get(suppression.get("kind"), "suppressed")
    text = suppression.get("reason")
    return f"{kind}: {text}" if text else kind


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _proven(call: DbCall) -> bool:
    """Scoped by a proof of tenancy (a verified id, a principal), not the tenant key."""
    return str(call.outcome) == "scoped" and call.detail.startswith("scoped") \
        and not _session_wide(call)


def _session_wide(call: DbCall) -> bool:
    """Scoped by a session-wide criteria listener (SQLAlchemy `with_loader_criteria`)."""
    return str(call.outcome) == "scoped" and call.detail.startswith("scoped session-wide")


def _probe(call: DbCall) -> bool:
    """A global existence check (is a generated id or slug taken?): no row is read."""
    return str(call.outcome) == "scoped" and call.detail.startswith("global existence check")


def _sound_parts(calls: Sequence[DbCall], tenant_key: str) -> List[str]:
    """Evidence for the calls that need no change: scoped, global, generic."""
    scoped: Dict[str, Counter] = OrderedDict()
    for call in sorted((c for c in calls if str(c.outcome) == "scoped" and not _proven(c)
                        and not _session_wide(c) and not _probe(c)),
                       key=lambda c: ((c.tenant_key or tenant_key) != tenant_key,
                                      c.tenant_key or tenant_key)):
        scoped.setdefault(call.tenant_key or tenant_key, Counter())[str(call.operation)] += 1
    parts = []
    for key, operations in scoped.items():
        words = [plural(operations[op], *_OP_NOUNS[op]) for op in ("read", "write", "insert")
                 if operations.get(op)]
        if words:
            parts.append(f"{_join(words)} scoped by {code(key)}")
    session_wide = [c for c in calls if _session_wide(c)]
    if session_wide:
        parts.append(f"{plural(len(session_wide), 'read')} scoped session-wide (a "
                     "`do_orm_execute` listener's `with_loader_criteria`): " + ", ".join(
                         f"{code(c.symbol or '<module>')} line {c.line}" for c in session_wide))
    proven = [c for c in calls if _proven(c)]
    if proven:
        parts.append(f"{plural(len(proven), 'call')} scoped by a proof: " + ", ".join(
            f"{code(c.symbol or '<module>')} line {c.line} ({c.detail})" for c in proven))
    probes = [c for c in calls if _probe(c)]
    if probes:
        parts.append(f"{plural(len(probes), 'global existence check')}: " + ", ".join(
            f"{code(c.symbol or '<module>')} line {c.line} (`{c.table}`)" for c in probes))
    global_calls = [c for c in calls if str(c.outcome) == "global"]
    if global_calls:
        tables = sorted({c.table for c in global_calls if c.table})
        parts.append(f"{plural(len(global_calls), 'call')} on global "
                     f"{'table' if len(tables) == 1 else 'tables'} "
                     + ", ".join(code(t) for t in tables))
    generic = [c for c in calls if str(c.outcome) == "infrastructure"]
    if generic:
        parts.append(f"{plural(len(generic), 'generic CRUD call')} (table is a parameter: "
                     "its callers are checked)")
    return parts


def _short_finding(finding: Finding) -> str:
    target = ""
    if finding.table and finding.rule.startswith("ORG1"):
        operation = str(finding.operation or "")
        target = f" {operation} on {code(finding.table)}" if operation not in ("", "call") \
            else f" {code(finding.table)}"
    return f"{finding.rule}{target} line {finding.line}"


def _item_status(item: _Item, tenant_key: str) -> Tuple[str, str, List[str]]:
    active = [f for f in item.findings if not f.suppressed]
    accepted = [f for f in item.findings if f.suppressed]
    sound = _sound_parts(item.calls, tenant_key)
    details = [f"line {f.line}: {f.rule} {f.name}: {f.message}" for f in active]
    details += [f"line {f.line}: {f.rule} accepted ({reason(f)})" for f in accepted]
    details += [f"line {c.line}: unverified "
                f"{'call' if str(c.operation) == 'opaque' else c.operation}"
                + (f" on {code(c.table)}" if c.table else "") + f": {c.detail or 'opaque filter'}"
                for c in item.unverified]
    if sound:
        details.append("Sound: " + "; ".join(sound) + ".")
    parts: List[str] = []
    if active:
        status = FAIL
        parts.append(", ".join(_short_finding(f) for f in active))
    elif accepted:
        status = ACCEPTED
    elif item.unverified:
        status = UNVERIFIED
    else:
        status = OK
    if accepted:
        reasons = Counter(reason(f) for f in accepted)
        parts.append("; ".join(f"{plural(n, 'finding')} accepted ({text})"
                               for text, n in reasons.items()))
    if item.unverified:
        parts.append(f"{plural(len(item.unverified), 'call')} unverified ("
                     + ", ".join(sorted({c.detail or 'opaque filter' for c in item.unverified}))
                     + ")")
    parts.extend(sound)
    evidence = "; ".join(parts) if parts else "no database access"
    return status, evidence, details if status != OK else []


def shorten(text: str, limit: int = EVIDENCE_LIMIT) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    if cut.count("`") % 2:  # never leave a code span open
        cut = cut[:cut.rfind("`")]
    return cut.rstrip(" ,;") + "…"


def _relative_to(path: str, base: str) -> str:
    if base and path.startswith(base + "/"):
        return path[len(base) + 1:]
    return path


def anchor_for(*parts: str) -> str:
    text = "-".join(parts).lower()
    return "d-" + re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _area_section(result: RunResult, area: Area, number: int) -> Optional[Section]:
    items = _items(result)
    mine = [items[k] for k in sorted(items, key=lambda k: (k[0], k[1] or ""))
            if k[0] in area.paths]
    quiet = sorted(p for p in area.paths if not any(k[0] == p for k in items))
    if not mine and not quiet:
        return None
    section = Section(f"Section {number} {DASH} {area.title}", f"section-{number}",
                      ["Item"])
    for item in mine:
        status, evidence, details = _item_status(item, result.tenant_key)
        label = _relative_to(item.path, area.base)
        label += f" {code(item.owner)}" if item.owner else " (module level)"
        anchor = anchor_for(item.path, item.owner or "module") if details else ""
        section.rows.append(Row([label], status, shorten(evidence), anchor, details))
    if quiet:
        section.notes.append("No database access in: "
                             + ", ".join(code(_relative_to(p, area.base)) for p in quiet) + ".")
    section.verdict = _verdict(section.rows, "item")
    return section


def _verdict(rows: Sequence[Row], noun: str) -> Tuple[str, str]:
    statuses = Counter(r.status for r in rows)
    total = plural(len(rows), noun)
    if statuses.get(FAIL):
        return FAIL, f"{statuses[FAIL]} of {total} need a fix" + _also(statuses, FAIL)
    if statuses.get(UNVERIFIED):
        return UNVERIFIED, f"{statuses[UNVERIFIED]} of {total} could not be verified" + \
            _also(statuses, UNVERIFIED)
    if statuses.get(ACCEPTED):
        return ACCEPTED, f"{total}, {statuses[ACCEPTED]} with accepted exceptions"
    return OK, f"{total}, all sound" if rows else "nothing to check"


def _also(statuses: Counter, shown: str) -> str:
    rest = [f"{statuses[s]} {s}" for s in (UNVERIFIED, ACCEPTED) if s != shown and statuses.get(s)]
    return f" ({', '.join(rest)})" if rest else ""


# --- routes ------------------------------------------------------------------

def _route_text(route: Dict[str, Any], key: str) -> str:
    value = route.get(key)
    if value is None:
        return ""
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _routes_section(result: RunResult, number: int) -> Section:
    section = Section(f"Section {number} {DASH} Routes", f"section-{number}",
                      ["Route", "Handler", "Auth"])
    routes = [r for r in result.routes if isinstance(r, dict)]
    routes.sort(key=lambda r: (r.get("mounted", True) is False, _route_text(r, "path"),
                               _route_text(r, "methods"), _route_text(r, "file"),
                               str(r.get("line", ""))))
    unmounted = 0
    for route in routes:
        file, handler = _route_text(route, "file"), _route_text(route, "handler")
        mine = [f for f in result.findings if f.path == file and f.symbol and handler
                and (f.symbol == handler or f.symbol.startswith(handler + "."))]
        open_ = [f for f in mine if not f.suppressed]
        auth = route.get("auth")
        auth_text = _route_text(route, "auth") if auth not in (None, True, False) else (
            "yes" if auth else "none")
        if not auth_text:
            auth_text = f"public ({route['public']})" if route.get("public") else "none"
        mounted = route.get("mounted", True) is not False
        if open_:
            status, evidence = FAIL, ", ".join(sorted({f.rule for f in open_}))
        elif mine:
            status, evidence = ACCEPTED, "; ".join(sorted({reason(f) for f in mine}))
        elif not mounted:
            status, evidence = OK, "not mounted: no application includes its router"
        else:
            status, evidence = OK, "no finding"
        unmounted += not mounted
        methods = _route_text(route, "methods").upper()
        path = _route_text(route, "path") if mounted else f"(not mounted) {_route_text(route, 'path')}"
        where = f"{file}:{route['line']}" if route.get("line") else file
        label = f"{methods} {path}".strip()
        handler_text = f"{code(handler)} ({where})" if handler else where
        section.rows.append(Row([label, handler_text, auth_text], status, shorten(evidence)))
    status, text = _verdict(section.rows, "route")
    unauthenticated = sum(1 for f in result.active if f.rule == "ORG201")
    if unauthenticated:
        text += f"; {plural(unauthenticated, 'handler')} without authentication"
    if unmounted:
        text += f"; {unmounted} not mounted"
        section.notes.append(f"{plural(unmounted, 'route')} belong to a router no application "
                             "includes: they are not reachable, so ORG201 does not apply; "
                             "delete them or mount them.")
    section.verdict = (status, text)
    return section


# --- database ----------------------------------------------------------------

def _schema_section(result: RunResult, number: int) -> Section:
    section = Section(f"Section {number} {DASH} Database", f"section-{number}",
                      ["Table", "Tenant column", "RLS"])
    schema = result.schema
    tables = schema.get("tables") if isinstance(schema, dict) else None
    if not isinstance(tables, dict) or not tables:
        section.notes.append("No tables were found in the schema files.")
        section.verdict = (UNVERIFIED, "no tables found in the schema files")
        return section
    tenant = 0
    for name in sorted(tables):
        table = tables[name] if isinstance(tables[name], dict) else {}
        column = table.get("tenant_column")
        rls = bool(table.get("rls_enabled"))
        policies = table.get("policies") if isinstance(table.get("policies"), dict) else {}
        unscoped = sorted(p for p, info in policies.items() if isinstance(info, dict) and (
            info.get("references_tenant_column", info.get("tenant_scoped")) is False))
        tenant += bool(column)
        if not column:
            status, evidence = OK, "no tenant column: global table"
        elif not rls:
            status, evidence = FAIL, "row-level security is not enabled"
        elif unscoped:
            verb = "does" if len(unscoped) == 1 else "do"
            status, evidence = FAIL, (f"{plural(len(unscoped), 'policy', 'policies')} {verb} "
                                      f"not reference {code(column)}: "
                                      + ", ".join(code(p) for p in unscoped))
        elif policies:
            status, evidence = OK, (f"RLS on; {plural(len(policies), 'policy', 'policies')} "
                                    f"scoped by {code(column)}")
        else:
            status, evidence = OK, "RLS on with no policy (denies all but the service role)"
        section.rows.append(Row([code(name), code(column) if column else DASH,
                                 "on" if rls else "off"], status, shorten(evidence)))
    failing = sum(1 for r in section.rows if r.status == FAIL)
    if failing:
        section.verdict = (FAIL, f"{failing} of {plural(tenant, 'tenant table')} lack row-level "
                                 "security or a tenant-scoped policy")
    else:
        section.verdict = (OK, f"{plural(tenant, 'tenant table')}, all with tenant-scoped RLS")
    return section


# --- head and summary ------------------------------------------------------

def _intro(result: RunResult, commit: Optional[str]) -> str:
    parts = [f"Checked by orgscope-lint {__version__}"]
    if commit:
        parts.append(f" at commit {code(commit)}")
    parts.append(". ")
    if result.config_path:
        config = result.config_path.replace("\\", "/")
        root = result.root.replace("\\", "/").rstrip("/")
        if config.startswith(root + "/"):
            config = config[len(root) + 1:]
        parts.append(f"Configuration: {code(config)}. ")
    else:
        parts.append("Configuration: defaults (no `[tool.orgscope-lint]` found). ")
    parts.append("Every database call and route was read from source without running it; "
                 "each status below gives its evidence.")
    return "".join(parts)


def _checked(result: RunResult, numbers: Counts, table_keys: Dict[str, str]
             ) -> List[Tuple[str, str]]:
    outcomes = Counter(str(c.outcome) for c in result.db_calls)
    order = ("scoped", "conditional", "unscoped", "empty", "unknown", "global", "infrastructure")
    words = {"empty": "unfiltered", "unknown": "unverified"}
    breakdown = ", ".join(f"{outcomes[o]} {words.get(o, o)}" for o in order if outcomes.get(o))
    tables = sorted({c.table for c in result.db_calls if c.table})
    key = code(result.tenant_key)
    overrides = sorted(table_keys.items())
    if overrides:
        key += " (" + ", ".join(f"{code(t)}: {code(k)}" for t, k in overrides) + ")"
    rows = [("Code", f"{plural(numbers.files_checked, 'file')}, {numbers.lines} lines"),
            ("Database calls", f"{numbers.db_calls}" + (f" ({breakdown})" if breakdown else ""))]
    if result.routes:
        rows.append(("Routes", str(numbers.routes)))
    rows.append(("Tables used", str(len(tables))))
    rows.append(("Tenant key", key))
    rows.append(("Open findings", open_text(numbers)))
    if numbers.unverified:
        rows.append(("Unverified", plural(numbers.unverified, "item")
                     + " the tool cannot see into (see the sections)"))
    if numbers.unreadable:
        rows.append(("Not checked", _not_checked(result)))
    return rows


def _not_checked(result: RunResult) -> str:
    """The files (or migration statements, with their line) the run could not
    check, or skipped for their size; the details are in `errors`."""
    return (plural(len(result.errors), "file or statement", "files or statements") + ": "
            + ", ".join(code(f"{e.path}:{e.line}" if e.line else e.path)
                        for e in result.errors))


def open_text(numbers: Counts) -> str:
    text = str(numbers.open)
    if numbers.open:
        text += " in " + plural(numbers.open_files, "file") + " (" + ", ".join(
            plural(n, s) for s, n in numbers.open_by_severity.items()) + ")"
    extra = []
    if numbers.accepted:
        extra.append(f"{numbers.accepted} accepted")
    if numbers.baselined:
        extra.append(f"{numbers.baselined} baselined")
    return text + ("; " + ", ".join(extra) if extra else "")


def _summary(result: RunResult, numbers: Counts, built: Sequence[Section]
             ) -> List[Tuple[str, str]]:
    statuses = Counter(r.status for s in built for r in s.rows)
    summary = []
    listed = ", ".join(f"{statuses[s]} {s}" for s in (OK, FAIL, ACCEPTED, UNVERIFIED)
                       if statuses.get(s))
    summary.append(("Items checked", f"{sum(statuses.values())}" + (f" ({listed})" if listed
                                                                      else "")))
    summary.append(("Fixes required", (f"{numbers.open} in {plural(numbers.open_files, 'file')} "
                                       "(see \"Fixes required\")") if numbers.open else "none"))
    accepted = [f for f in result.findings if f.suppressed
                and (f.suppression or {}).get("kind") != "baseline"]
    if accepted:
        reasons = Counter(reason(f) for f in accepted)
        summary.append(("Accepted", f"{len(accepted)}: " + "; ".join(
            f"{n} by {text}" for text, n in sorted(reasons.items()))))
    if numbers.unverified:
        tables = sorted({c.table for c in result.unverified if c.table})
        text = (f"{plural(numbers.unverified, 'item')} whose filter or table the tool cannot "
                "see; review them by hand or run with `--strict`")
        if tables:
            text += "; tables missing from the schema: " + ", ".join(code(t) for t in tables)
        summary.append(("Unverified", text))
    if result.errors:
        summary.append(("Not checked", _not_checked(result)))
    if result.baselined or result.baseline_gone:
        summary.append(("Baseline", f"{result.baselined} known, {result.baseline_gone} fixed "
                                    "since"))
    return summary
