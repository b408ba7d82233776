"""Which trusted tenant values are in scope at a DB call, so that a fix can add
the missing tenant key without guessing.

Trusted means: a local whose every reaching definition reads the tenant claim
from the auth context (`clerk_org_id = current_user["clerk_org_id"]`, where
`current_user` comes from `Depends(get_current_user)`), or a parameter that the
same function already uses as the tenant key of another DB call (the wrapper
summary: `assign_number(self, organization_id, ...)`). Request input and
`a or b` mixtures are never trusted.
"""
from __future__ import annotations

from typing import Dict, FrozenSet, List, Mapping, Optional, Set

import libcst as cst

from ..model import Outcome
from .dbcalls import Sink
from .flow import Env, FlowAnalyzer
from .syntax import dotted, iter_children, string_value
from .values import Origin


class TenantValues:
    """Flow hook: keeps the environment in force at every method call (more
    than one when the call sits in a loop). Every DB sink is a method call
    (`db.update(...)`, `client.table(...)....execute()`); keeping a reference
    to the immutable environment costs next to nothing."""

    def __init__(self) -> None:
        self.envs: Dict[cst.Call, List[Env]] = {}

    def start_unit(self, unit) -> None:
        pass

    def __call__(self, call: cst.Call, env: Env, analyzer: FlowAnalyzer) -> None:
        if isinstance(call.func, cst.Attribute):
            self.envs.setdefault(call, []).append(env)


def trusted_tenant_names(ctx, sink: Sink) -> List[str]:
    """Names holding one trusted tenant value at `sink`: aliases of the same
    value count once; an empty or longer list means there is no single choice."""
    hook: Optional[TenantValues] = ctx.tenant_values
    envs = hook.envs.get(sink.call, []) if hook else []
    if not envs:
        return []
    judge = _Judge(ctx, sink)
    common: Optional[Dict[str, FrozenSet[Origin]]] = None
    for env in envs:
        here = {name: origins for name, origins in env.defs.items()
                if origins and all(judge.trusted(o) for o in origins)
                and (all(o.kind == "param" for o in origins)
                     or _assigned_before(sink.unit, name, sink.call))}
        common = here if common is None else {
            n: o for n, o in common.items() if n in here and here[n] == o}
    groups: Dict[FrozenSet[Origin], List[str]] = {}
    for name, origins in sorted((common or {}).items()):
        groups.setdefault(origins, []).append(name)
    if len(groups) != 1:
        return sorted(name for names in groups.values() for name in names)
    (names,) = groups.values()
    preferred = [n for n in names if n == ctx.config.tenant_key]
    return [(preferred or names)[0]]


def _assigned_before(unit, name: str, call: cst.Call) -> bool:
    """`name = ...` is a statement of the function's own body that runs before
    the statement holding `call`: bound on every path that reaches the call
    (the reaching definitions alone cannot tell a name assigned in one branch
    only, which would be unbound on the other)."""
    body = unit.body.body if isinstance(unit.body, cst.BaseSuite) else unit.body
    for statement in body:
        if contains(statement, call):
            return False
        if isinstance(statement, cst.SimpleStatementLine) and any(
                _binds(small, name) for small in statement.body):
            return True
    return False


def _binds(small: cst.CSTNode, name: str) -> bool:
    if isinstance(small, cst.Assign):
        return any(isinstance(t.target, cst.Name) and t.target.value == name
                   for t in small.targets)
    return (isinstance(small, cst.AnnAssign) and small.value is not None
            and isinstance(small.target, cst.Name) and small.target.value == name)


def contains(root: cst.CSTNode, node: cst.CSTNode) -> bool:
    """`node` is `root` or inside it."""
    stack = [root]
    while stack:
        current = stack.pop()
        if current is node:
            return True
        stack.extend(iter_children(current))
    return False


class _Judge:
    def __init__(self, ctx, sink: Sink) -> None:
        config = ctx.config
        self.claims: Set[str] = ({config.tenant_key} | set(config.tenant_columns)
                                 | set(config.table_keys.values()))
        self.auth_dependencies = {d.split(".")[-1] for d in config.auth_dependencies}
        unit = sink.unit
        self.auth_params = {p.name.value for p in unit.params if self._auth_param(p)}
        db = ctx.db
        self.tenant_params = {
            origin.name for other in db.sinks if other.unit is unit
            and db.classified[other.call].outcome == Outcome.SCOPED
            for origin in db.classified[other.call].tenant_origins if origin.kind == "param"}

    def trusted(self, origin: Origin) -> bool:
        if origin.kind == "param":
            return origin.name in self.tenant_params
        if origin.kind == "expr" and origin.node is not None:
            return self._claim_read(origin.node, origin.defs or {})
        return False

    def _claim_read(self, node: cst.CSTNode, defs: Mapping) -> bool:
        """`auth["clerk_org_id"]`, `auth.get("clerk_org_id")`, `auth.clerk_org_id`."""
        if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(
                node.slice[0].slice, cst.Index):
            return (string_value(node.slice[0].slice.value) in self.claims
                    and self._auth_context(node.value, defs))
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and node.func.attr.value == "get" and node.args \
                and node.args[0].keyword is None:
            return (string_value(node.args[0].value) in self.claims
                    and self._auth_context(node.func.value, defs))
        if isinstance(node, cst.Attribute):
            return node.attr.value in self.claims and self._auth_context(node.value, defs)
        return False

    def _auth_context(self, node: cst.CSTNode, defs: Mapping) -> bool:
        if not isinstance(node, cst.Name):
            return False
        origins = defs.get(node.value)
        if not origins:
            return False
        for origin in origins:
            if origin.kind == "param":
                if origin.name not in self.auth_params:
                    return False
            elif origin.kind == "expr" and origin.node is not None:
                if not self._auth_call(origin.node):
                    return False
            else:
                return False
        return True

    def _auth_call(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Await):
            node = node.expression
        if isinstance(node, cst.Call):
            name = dotted(node.func)
            return bool(name) and name.split(".")[-1] in self.auth_dependencies
        return False

    def _auth_param(self, param: cst.Param) -> bool:
        """`user = Depends(get_current_user)` or `Annotated[dict, Depends(...)]`."""
        if param.default is not None and self._depends_on_auth(param.default):
            return True
        annotation = param.annotation.annotation if param.annotation else None
        if isinstance(annotation, cst.Subscript) and dotted(annotation.value) in (
                "Annotated", "typing.Annotated", "typing_extensions.Annotated"):
            return any(isinstance(e.slice, cst.Index) and self._depends_on_auth(e.slice.value)
                       for e in annotation.slice[1:])
        return False

    def _depends_on_auth(self, node: cst.CSTNode) -> bool:
        if not isinstance(node, cst.Call):
            return False
        name = dotted(node.func)
        if not name or name.split(".")[-1] not in ("Depends", "Security") or not node.args:
            return False
        target = dotted(node.args[0].value)
        return bool(target) and target.split(".")[-1] in self.auth_dependencies
