"""Fixes described as data: rules put one of these picklable dicts in a
finding's `fix` field; `orgscope_lint.fix` re-parses the file and applies it.

    {"kind": "add-dict-entry", "argument": 1, "key": "clerk_org_id", "value": "org"}
        the call at the finding's span gets `"key": value` as the last entry
        of the dict literal passed as its argument number `argument`;
    {"kind": "add-import", "module": "app.core.exceptions", "name": "ValidationError"};
    {"kind": "rewrite-suppression", "line": 12, "keep": ["ORG101"]}
        leave only these codes in the `# orgscope: ignore[...]` comment on that
        line (none: remove it); ORG901 states it as a text edit of the comment,
        `{"edits": [...]}` (see `suppress.py`), which the fixer reads as this;
    {"kind": "none", "reason": "..."}
        the rule is fixable in general, but not here: the reason says why.
"""
from __future__ import annotations

from typing import Any, Dict

import libcst as cst

from ..analysis.dbcalls import EMPTY_FILTER, UNSCOPED
from ..analysis.tenant_values import trusted_tenant_names

Fix = Dict[str, Any]


def no_fix(reason: str) -> Fix:
    return {"kind": "none", "reason": reason}


def import_fix(module: str, name: str) -> Fix:
    return {"kind": "add-import", "module": module, "name": name,
            "description": f"import `{name}` from `{module}`"}


def tenant_entry_fix(ctx, sink, result) -> Fix:
    """Add the tenant key to the dict literal of a DB call, when exactly one
    trusted tenant value is in scope."""
    what = "row" if sink.operation == "insert" else "filter"
    if result.outcome not in (UNSCOPED, EMPTY_FILTER):
        return no_fix(f"the {what} is not visible to the tool")
    node = sink.value_node
    if not isinstance(node, cst.Dict):
        return no_fix(f"the {what} is not a dict literal in the call")
    argument = next((i for i, arg in enumerate(sink.call.args) if arg.value is node), None)
    if argument is None:
        return no_fix(f"the {what} is not an argument of the call")
    names = trusted_tenant_names(ctx, sink)
    if not names:
        return no_fix("no trusted tenant value in scope (a local read from the auth context "
                      "or the function's tenant parameter)")
    if len(names) > 1:
        return no_fix(f"several tenant values in scope ({', '.join(names)}): choose one")
    key = result.tenant_key
    return {"kind": "add-dict-entry", "argument": argument, "key": key, "value": names[0],
            "description": f'add "{key}": {names[0]} to the {what}'}
