"""Fixes described as data: rules put one of these picklable dicts in a
finding's `fix` field; `orgscope_lint.fix` re-parses the file and applies it.

    {"kind": "add-dict-entry", "path": [["args", 1], ["value"]], "key": "clerk_org_id",
     "value": "org"}
        the dict literal reached from the call at the finding's span by `path`
        (node fields, with an index for sequences) gets `"key": value` as its
        last entry (a supabase row sits deeper: `.insert({...}).execute()`);
    {"kind": "add-import", "module": "app.core.exceptions", "name": "ValidationError"};
    {"kind": "rewrite-suppression", "line": 12, "keep": ["ORG101"]}
        leave only these codes in the `# orgscope: ignore[...]` comment on that
        line (none: remove it); ORG901 states it as a text edit of the comment,
        `{"edits": [...]}` (see `suppress.py`), which the fixer reads as this;
    {"kind": "none", "reason": "..."}
        the rule is fixable in general, but not here: the reason says why.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

if TYPE_CHECKING:  # pragma: no cover
    import libcst as cst

from ..model import Outcome

# libcst and the analyses are imported inside the functions that walk trees:
# the project stage builds import fixes from cached facts without them.

Fix = Dict[str, Any]


def node_path(root: "cst.CSTNode", target: "cst.CSTNode") -> Optional[List[list]]:
    """The steps from `root` down to `target`: `[field]` or `[field, index]`."""
    import libcst as cst
    stack: List[Tuple[cst.CSTNode, List[list]]] = [(root, [])]
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        for field in dataclasses.fields(node):
            value = getattr(node, field.name)
            if isinstance(value, cst.CSTNode):
                stack.append((value, path + [[field.name]]))
            elif isinstance(value, (list, tuple)):
                stack.extend((item, path + [[field.name, index]])
                             for index, item in enumerate(value) if isinstance(item, cst.CSTNode))
    return None


def follow_path(root: "cst.CSTNode", path: List[list]) -> Optional["cst.CSTNode"]:
    import libcst as cst
    node = root
    for step in path:
        value = getattr(node, step[0], None)
        if len(step) > 1:
            value = value[step[1]] if isinstance(value, (list, tuple)) and \
                0 <= step[1] < len(value) else None
        if not isinstance(value, cst.CSTNode):
            return None
        node = value
    return node


def no_fix(reason: str) -> Fix:
    return {"kind": "none", "reason": reason}


def import_fix(module: str, name: str) -> Fix:
    return {"kind": "add-import", "module": module, "name": name,
            "description": f"import `{name}` from `{module}`"}


def tenant_entry_fix(ctx, sink, result) -> Fix:
    """Add the tenant key to the dict literal of a DB call, when exactly one
    trusted tenant value is in scope."""
    import libcst as cst

    from ..analysis.tenant_values import trusted_tenant_names
    what = "row" if sink.operation == "insert" else "filter"
    if result.outcome not in (Outcome.UNSCOPED, Outcome.EMPTY):
        return no_fix(f"the {what} is not visible to the tool")
    node = sink.value_node
    if not isinstance(node, cst.Dict):
        return no_fix(f"the {what} is not a dict literal in the call")
    path = node_path(sink.call, node)
    if path is None:
        return no_fix(f"the {what} is not part of the call")
    names = trusted_tenant_names(ctx, sink)
    if not names:
        return no_fix("no trusted tenant value in scope (a local read from the auth context "
                      "or the function's tenant parameter)")
    if len(names) > 1:
        return no_fix(f"several tenant values in scope ({', '.join(names)}): choose one")
    key = result.tenant_key
    return {"kind": "add-dict-entry", "path": path, "key": key, "value": names[0],
            "description": f'add "{key}": {names[0]} to the {what}'}
