"""The fix of ORG101/ORG102/ORG103 (per file, on the tree): add the tenant key
to the dict literal of a DB call, when exactly one trusted tenant value is in
scope. A supabase row sits deeper in its chain (`.insert({...}).execute()`);
any preset whose sink has a dict literal as its filter or row gets the same fix.

Which values are trusted depends on which dependencies are auth dependencies,
and only the project stage knows that (`require_admin_role` depends on
`get_current_user` in another module): so this drafts one fix per tenant value
in scope, with the dependencies it relies on, and the project stage keeps the
one that is safe (`rules/db.py`), as the route analysis judges them.
"""
from __future__ import annotations

from typing import Union

import libcst as cst

from ..edits import ChoiceDrafts, EditError, FixDraft, NodeEdit, add_dict_entry
from ..model import Operation, Outcome
from .tenant_values import contains, tenant_choices


def tenant_key_fix(ctx, sink, result) -> Union[ChoiceDrafts, FixDraft, str]:
    """The candidate drafts, or why there is no safe fix."""
    what = "row" if sink.operation == Operation.INSERT else "filter"
    if result.outcome not in (Outcome.UNSCOPED, Outcome.EMPTY):
        return f"the {what} is not visible to the tool"
    node = sink.value_node
    if not isinstance(node, cst.Dict):
        return f"the {what} is not a dict literal in the call"
    stored = sink.stored()  # a query kept in a variable: fixed where it is built
    at = stored[0] if stored is not None and contains(stored[0], node) else None
    if at is None and not contains(sink.call, node):
        return f"the {what} is not part of the call"
    key = result.tenant_key
    choices = []
    for choice in tenant_choices(ctx, sink, at):
        try:
            fixed = add_dict_entry(node, key, choice.value)
        except EditError as exc:
            return str(exc)
        draft = FixDraft(f'add "{key}": {choice.value} to the {what}', (NodeEdit(node, fixed),))
        choices.append((choice.names, choice.requires, draft))
    return ChoiceDrafts(tuple(choices))
