"""Statements built from another function's result, judged with its summary.

    # app/repositories/invoices.py
    def get_readable_statement(self, user):
        return select(Invoice).where(Invoice.tenant_id == user.tenant_id)

    # app/api/invoices.py
    await session.execute(repository.get_readable_statement(user).where(Invoice.id == x))

Each file's analysis summarises its functions whose every return is a select
on one table (`FileFacts.statement_helpers`: the outcome as if the statement
were run there), and leaves each DB call running a statement built from some
call's result unverified, with that call site and the filter keys the use adds
(`FileFacts.statement_uses`). Here, with the resolver, the use takes the
helper's outcome: scoped when the helper's statement pins the tenant key (or
the use adds it itself). A helper whose statement does not is reported once,
at its own definition (the rule for the outcome, ORG101 / ORG105 / ORG104),
naming the uses that run it unscoped. No libcst here.
"""
from __future__ import annotations

import dataclasses
import weakref
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .facts import FileFacts, StatementHelper
from .model import DbCall, Operation, Outcome


@dataclass
class HelperUses:
    helper: StatementHelper
    facts: FileFacts  # the helper's module
    unscoped: List[Tuple[FileFacts, DbCall]] = field(default_factory=list)


@dataclass
class Revised:
    # (path, line, symbol) of a use -> the DB call with the helper's outcome
    calls: Dict[Tuple[str, int, object], DbCall] = field(default_factory=dict)
    # helpers run unscoped somewhere, for one finding each at the definition
    helpers: List[HelperUses] = field(default_factory=list)
    # uses of a generic helper (`select(self.model)`) run unscoped: one finding each
    uses: List[Tuple[FileFacts, DbCall]] = field(default_factory=list)


_MEMO: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def revised(project) -> Revised:
    memo = _MEMO.get(project)
    if memo is None:
        memo = _MEMO[project] = _revise(project)
    return memo


def _revise(project) -> Revised:
    found = Revised()
    helpers: Dict[Tuple[str, str], StatementHelper] = {}
    for facts in project.files:
        for helper in facts.statement_helpers:
            helpers[(helper.module, helper.qualname)] = helper
    if not helpers:
        return found
    uses: Dict[Tuple[str, str], HelperUses] = {}
    for facts in project.files:
        if not facts.statement_uses:
            continue
        calls = {(c.line, c.symbol): c for c in facts.db_calls
                 if c.operation == Operation.OPAQUE}
        for use in facts.statement_uses:
            call = calls.get((use.line, use.symbol))
            if call is None or not 0 <= use.site < len(facts.call_sites):
                continue
            callee = facts.call_sites[use.site].callee
            target = project.resolver.callee(facts, callee)
            helper = helpers.get((target.module, target.qualname)) if target else None
            if helper is None:
                continue
            if helper.model_keys is not None:  # a generic helper on `self.model`
                new = _on_model(project, facts, callee, helper, use, call)
                if new is not None:
                    found.calls[(facts.path, call.line, call.symbol)] = new
                    if new.outcome not in (Outcome.SCOPED, Outcome.GLOBAL):
                        found.uses.append((facts, new))
                continue
            where = f"`{helper.qualname}` ({project.modules[helper.module].path}:{helper.line})"
            key = helper.tenant_key
            pinned = key is not None and (key in use.pinned
                                          or f"{helper.table}.{key}" in use.pinned)
            if helper.outcome in (Outcome.SCOPED, Outcome.GLOBAL):
                outcome = helper.outcome
                detail = f"the statement from {where} pins {key}" \
                    if outcome == Outcome.SCOPED else "global table"
            elif pinned:
                outcome, detail = Outcome.SCOPED, f"the filter added to the statement from " \
                                                  f"{where} sets {key}"
            elif use.opaque:
                outcome = Outcome.UNKNOWN
                detail = (f"part of the filter added to the statement from {where} comes from "
                          "an expression the tool cannot see")
            elif helper.outcome == Outcome.EMPTY and use.pinned:
                outcome = Outcome.UNSCOPED
                detail = (f"filters by {', '.join(_local(k, helper.table) for k in use.pinned)}"
                          f" only (the statement from {where} has no filter)")
            else:
                outcome = helper.outcome
                detail = f"{helper.detail} (the statement from {where})"
            new = dataclasses.replace(call, table=helper.table, operation=Operation.READ,
                                      outcome=outcome, detail=detail, tenant_key=key,
                                      no_fix="the statement is built in another function "
                                             f"({where})")
            found.calls[(facts.path, call.line, call.symbol)] = new
            if outcome not in (Outcome.SCOPED, Outcome.GLOBAL, Outcome.INFRASTRUCTURE):
                entry = uses.get((helper.module, helper.qualname))
                if entry is None:
                    entry = uses[(helper.module, helper.qualname)] = HelperUses(
                        helper, project.modules[helper.module])
                entry.unscoped.append((facts, new))
    found.helpers = list(uses.values())
    return found


def _on_model(project, facts: FileFacts, callee, helper: StatementHelper, use,
              call: DbCall) -> Optional[DbCall]:
    """A generic repository's helper called on a class whose `model = M` names
    the table: its keys and the use's, judged against M's table."""
    resolver = project.resolver
    cls = resolver.receiver_class(facts, callee)
    catalog = project.catalog
    if cls is None or catalog is None:
        return None
    model = next((project.modules[m].class_models[c] for m, c in resolver.mro(cls)
                  if c in project.modules[m].class_models), None)
    table = catalog.table_of_model(model.rsplit(".", 1)[-1]) if model else None
    if table is None:
        return None
    where = f"`{helper.qualname}` ({project.modules[helper.module].path}:{helper.line}) " \
            f"on `{cls[1]}`, model {model}"
    key = catalog.tenant_key_for(table)
    keys = sorted({_local(k, table) for k in (*helper.model_keys, *use.pinned)})
    if not catalog.is_tenant_table(table):
        outcome, detail = Outcome.GLOBAL, "global table"
    elif key in keys:
        outcome, detail = Outcome.SCOPED, f"the statement from {where} is filtered by {key}"
    elif use.opaque:
        outcome = Outcome.UNKNOWN
        detail = (f"part of the filter comes from an expression the tool cannot see (the "
                  f"statement from {where})")
    elif not keys:
        outcome, detail = Outcome.EMPTY, f"no filter (the statement from {where})"
    else:
        outcome = Outcome.UNSCOPED
        detail = f"filters by {', '.join(keys)} only (the statement from {where})"
    return dataclasses.replace(call, table=table, operation=Operation.READ, outcome=outcome,
                               detail=detail, tenant_key=key,
                               no_fix=f"the statement is built in another function ({where})")


def _local(key: str, table: str) -> str:
    return key[len(table) + 1:] if key.startswith(table + ".") else key


def revised_calls(project, facts: FileFacts) -> List[DbCall]:
    """`facts.db_calls`, each use of a statement helper with the helper's outcome."""
    calls = revised(project).calls
    if not calls:
        return list(facts.db_calls)
    return [calls.get((facts.path, c.line, c.symbol), c) for c in facts.db_calls]


def definition_call(entry: HelperUses) -> DbCall:
    """The helper's statement as a DB call at its definition (for the rule's message)."""
    helper = entry.helper
    return DbCall(entry.facts.path, helper.line, helper.qualname, helper.table, Operation.READ,
                  helper.outcome, helper.detail, helper.tenant_key, "sqlalchemy", "select")
