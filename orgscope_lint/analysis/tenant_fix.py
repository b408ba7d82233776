"""The fix of ORG101/ORG102/ORG103 (per file, on the tree): add the tenant key
to the dict literal of a DB call, when exactly one trusted tenant value is in
scope. A supabase row sits deeper in its chain (`.insert({...}).execute()`);
any preset whose sink has a dict literal as its filter or row gets the same fix.
"""
from __future__ import annotations

from typing import Union

import libcst as cst

from ..edits import EditError, FixDraft, NodeEdit, add_dict_entry
from ..model import Operation, Outcome
from .tenant_values import contains, trusted_tenant_names


def tenant_key_fix(ctx, sink, result) -> Union[FixDraft, str]:
    """The draft, or why there is no safe fix."""
    what = "row" if sink.operation == Operation.INSERT else "filter"
    if result.outcome not in (Outcome.UNSCOPED, Outcome.EMPTY):
        return f"the {what} is not visible to the tool"
    node = sink.value_node
    if not isinstance(node, cst.Dict):
        return f"the {what} is not a dict literal in the call"
    if not contains(sink.call, node):
        return f"the {what} is not part of the call"
    names = trusted_tenant_names(ctx, sink)
    if not names:
        return ("no trusted tenant value in scope (a local read from the auth context "
                "or the function's tenant parameter)")
    if len(names) > 1:
        return f"several tenant values in scope ({', '.join(names)}): choose one"
    key = result.tenant_key
    try:
        fixed = add_dict_entry(node, key, names[0])
    except EditError as exc:
        return str(exc)
    return FixDraft(f'add "{key}": {names[0]} to the {what}', (NodeEdit(node, fixed),))

