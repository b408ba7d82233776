"""Filters and rows that cross a function boundary, judged at the project stage
(no libcst here: warm runs use it):

- a DB call whose whole filter or row is a parameter of its function
  (`def save_row(db, row): db.insert("t", row)`) is as scoped as what its
  callers pass: a caller passing a dict without the tenant key is a finding
  at the DB call that names the caller (`ValueParam`, `CallSite.dicts`);
- a DB call whose filter or row is what a project function in another module
  returns (`db.select("t", tenant_filter(org, id=x))`) has that function's
  keys, plus the keywords merged from its `**extra` (`ValueHelper`,
  `HelperValue`); a helper of the same module is interpreted in the file's
  own analysis (analysis/returns.py).

Both stay "unverified" in the file's DB calls (the report's counts); only the
findings change.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from .facts import CallSite, FileFacts, RawFinding, ValueHelper, ValueParam
from .model import DbCall, Span

EXTRA = "**"  # a helper's `**extra` keywords, in its summary


def missing_key(keys, key: str, plain: str = "which has no \"{key}\"") -> str:
    """"which puts the tenant value under "organization", not "org_id"" when one
    of `keys` looks like the tenant key (a shared word: org / organization),
    else `plain`."""
    words = [w for w in key.lower().split("_") if w not in ("id", "uuid", "key") and len(w) > 2]
    for other in sorted(keys):
        if other == key or other.startswith("(") or other == EXTRA:
            continue
        parts = [w for w in other.lower().split("_") if len(w) > 2]
        if any(a.startswith(b) or b.startswith(a) for a in parts for b in words):
            return f"which puts the tenant value under \"{other}\", not \"{key}\""
    return plain.format(key=key)


def _index(project, name: str, items) -> Dict[Tuple[str, str], list]:
    cache = project.__dict__.setdefault("_passed_values", {})
    if name not in cache:
        found: Dict[Tuple[str, str], list] = {}
        for facts in project.files:
            for item in getattr(facts, items):
                found.setdefault((item.module, item.qualname), []).append(item)
        cache[name] = found
    return cache[name]


def _callers(project) -> Dict[Tuple[str, str], List[Tuple[FileFacts, CallSite]]]:
    cache = project.__dict__.setdefault("_passed_values", {})
    if "callers" not in cache:
        params = _index(project, "params", "value_params")
        found: Dict[Tuple[str, str], List[Tuple[FileFacts, CallSite]]] = {}
        if params:
            for facts in project.files:
                for site in facts.call_sites:
                    target = project.resolve_call(facts, site, params)
                    if target:
                        found.setdefault((target[0].module, target[0].qualname), []).append(
                            (facts, site))
        cache["callers"] = found
    return cache["callers"]


def _argument(site: CallSite, param: ValueParam) -> Optional[str]:
    if param.param in site.keywords:
        return param.param
    return str(param.index) if site.positional > param.index else None


def passed_tenant_values(project, facts: FileFacts, site: CallSite
                         ) -> Iterator[Tuple[ValueParam, DbCall, List[str]]]:
    """The filters and rows call site `site` hands to a function that runs
    them, with the sources of the tenant value in them (`CallSite.provenance`
    entries `<argument>.<tenant column>`): (the parameter, its DB call, the
    sources)."""
    for param in project.resolve_call(facts, site, _index(project, "params", "value_params")):
        owner = project.modules.get(param.module)
        if owner is None or param.call >= len(owner.db_calls):
            continue
        call = owner.db_calls[param.call]
        key = _argument(site, param)
        tokens = site.provenance.get(f"{key}.{call.tenant_key}") \
            if key is not None and call.tenant_key else None
        if tokens:
            yield param, call, tokens.split("|")


def judged(project, path: str, line: int, symbol: Optional[str]) -> bool:
    """The unverified DB call at `line` is judged here instead (`--strict`
    does not also call it unverifiable): every caller passes a dict the tool
    sees, or one passes a dict without the tenant key (that finding names it),
    or its filter is built by a summarised helper."""
    facts = project.by_path.get(path)
    if facts is None:
        return False
    callers = _callers(project)
    for param in facts.value_params:
        call = facts.db_calls[param.call]
        if call.line != line or call.symbol != symbol:
            continue
        passed = []
        for _, site in callers.get((param.module, param.qualname), []):
            key = _argument(site, param)
            passed.append(site.dicts.get(key) if key is not None else None)
        seen = [p for p in passed if p is not None and not p[1]]
        # every caller seen, or one seen without the key (then a finding says so)
        return bool(passed) and (len(seen) == len(passed)
                                 or any(call.tenant_key not in p[0] for p in seen))
    for use in facts.helper_values:
        call = facts.db_calls[use.call]
        if call.line != line or call.symbol != symbol:
            continue
        site = facts.call_sites[use.site]
        helpers = project.resolve_call(facts, site, _index(project, "helpers", "value_helpers"))
        return bool(helpers) and not helpers[0].opaque and not site.has_star
    return False


def findings(project, code: str, operations: Sequence[str],
             message) -> Iterator[Tuple[str, RawFinding]]:
    """The findings of rule `code` (for DB calls of `operations`; `message`
    words one from a DbCall): callers passing a filter or row without the
    tenant key, and project helpers building one without it."""
    callers = _callers(project)
    for facts in project.files:
        for param in facts.value_params:
            call = facts.db_calls[param.call]
            if call.operation not in operations or not call.tenant_key:
                continue
            missing = []
            sites = callers.get((param.module, param.qualname), [])
            seen = 0
            for caller, site in sites:
                key = _argument(site, param)
                passed = site.dicts.get(key) if key is not None else None
                if passed is not None and not passed[1]:
                    seen += 1
                    if call.tenant_key not in passed[0]:
                        missing.append((caller, site, passed[0]))
            if not missing and sites and seen == len(sites):
                project.proven[(facts.path, call.line)] = (
                    f"scoped: every caller passes `{param.param}` with \"{call.tenant_key}\"")
            if missing:
                caller, site, keys = missing[0]
                where = f"{caller.path}:{site.span.line}" + (
                    f" (`{site.symbol}`)" if site.symbol else "")
                what = "row" if call.operation == "insert" else "filter"
                others = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
                detail = (f"filters by {', '.join(keys)} only" if keys and what == "filter"
                          else f"{'empty' if not keys else 'the'} {what}")
                wrong = missing_key(keys, call.tenant_key, "")
                note = (f"`{param.param}` is passed by the caller at {where}{others}"
                        + (f", {wrong}" if wrong else ""))
                project.refuted[(facts.path, call.line)] = f"{detail} ({note})"
                yield facts.path, _finding(code, call, message, detail, note)
        for use in facts.helper_values:
            call = facts.db_calls[use.call]
            if call.operation not in operations or not call.tenant_key:
                continue
            site = facts.call_sites[use.site]
            helpers = project.resolve_call(facts, site, _index(project, "helpers",
                                                               "value_helpers"))
            if not helpers:
                continue
            helper: ValueHelper = helpers[0]
            if helper.opaque or site.has_star:
                continue
            keys = {k for k in helper.keys if k != EXTRA}
            if EXTRA in helper.keys:
                keys |= {k for k in site.keywords if k not in helper.params}
            if call.tenant_key in keys:
                target = project.resolver.callee(facts, site.callee)
                where = project.modules[target.module].path if target is not None \
                    and target.module in project.modules else helper.module
                project.proven[(facts.path, call.line)] = (
                    f"scoped: built by `{helper.qualname}()` at {where}:{helper.line}, "
                    f"with \"{call.tenant_key}\"")
                continue
            what = "row" if call.operation == "insert" else "filter"
            target = project.resolver.callee(facts, site.callee)
            path = project.modules[target.module].path if target is not None \
                and target.module in project.modules else helper.module
            detail = f"filters by {', '.join(sorted(keys))} only" if keys and what == "filter" \
                else f"the {what}"
            note = (f"the {what} is built by `{helper.qualname}()` at {path}:{helper.line}, "
                    f"{missing_key(keys, call.tenant_key)}")
            project.refuted[(facts.path, call.line)] = f"{detail} ({note})"
            yield facts.path, _finding(code, call, message, detail, note)


def _finding(code: str, call: DbCall, message, detail: str, note: str) -> RawFinding:
    said = message(dataclasses.replace(call, detail=f"{detail} ({note})"))
    if f"({note})" not in said:  # a message that does not say the detail (ORG103):
        # the note goes with the place, so the cause still groups in the report
        head, sep, rest = said.partition(": ")
        said = f"{head} ({note}){sep}{rest}"
    return RawFinding(code, call.span or Span(call.line, 1, call.line, 1), said, call.symbol,
                      call.table, call.method, call.snippet, statement_line=call.statement_line)
