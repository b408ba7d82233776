"""Which trusted tenant values are in scope at a DB call, so that a fix can add
the missing tenant key without guessing.

Trusted means: a local whose every reaching definition reads the tenant claim
from the auth context (`clerk_org_id = current_user["clerk_org_id"]`, where
`current_user` comes from `Depends(get_current_user)`), or a parameter that the
same function already uses as the tenant key of another DB call (the wrapper
summary: `assign_number(self, organization_id, ...)`). Request input and
`a or b` mixtures are never trusted.

Whether a dependency is an auth dependency is the project stage's judgement
(the route analysis's: `require_admin_role` is one because its own parameter
depends on `get_current_user`, in whichever module it is defined), so each
trusted value comes with the dependencies, as written here, it relies on.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Mapping, Optional, Set, Tuple

import libcst as cst

from ..model import Outcome
from .dbcalls import Sink
from .flow import Env, FlowAnalyzer
from .routes import annotated_dependencies, param_dependency
from .syntax import called_name, dotted, iter_children, string_value
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


@dataclass(frozen=True)
class TenantChoice:
    """One trusted tenant value in scope: the names holding it (sorted), the one
    to use, and the dependencies (as written in the module) that must be auth
    dependencies for it to be trusted."""

    names: Tuple[str, ...]
    value: str
    requires: Tuple[str, ...]


def tenant_choices(ctx, sink: Sink, at: Optional[cst.CSTNode] = None) -> List[TenantChoice]:
    """The distinct trusted tenant values in scope at `sink`: aliases of the
    same value count once. With `at` (where a query kept in a variable is
    built, the fix's place), only names bound before it."""
    hook: Optional[TenantValues] = ctx.tenant_values
    envs = hook.envs.get(sink.call, []) if hook else []
    if not envs:
        return []
    judge = _Judge(ctx, sink)
    common: Optional[Dict[str, FrozenSet[Origin]]] = None
    for env in envs:
        here = {name: origins for name, origins in env.defs.items()
                if origins and all(judge.trusted(o) is not None for o in origins)
                and (all(o.kind == "param" for o in origins)
                     or _assigned_before(sink.unit, name, at or sink.call))}
        common = here if common is None else {
            n: o for n, o in common.items() if n in here and here[n] == o}
    groups: Dict[FrozenSet[Origin], List[str]] = {}
    for name, origins in sorted((common or {}).items()):
        groups.setdefault(origins, []).append(name)
    choices = []
    for origins, names in groups.items():
        preferred = [n for n in names if n == ctx.config.tenant_key]
        requires: Set[str] = set()
        for origin in origins:
            requires |= judge.trusted(origin) or frozenset()
        choices.append(TenantChoice(tuple(names), (preferred or names)[0],
                                    tuple(sorted(requires))))
    return sorted(choices, key=lambda c: c.names)


def trusted_tenant_names(ctx, sink: Sink) -> List[str]:
    """Names holding one trusted tenant value at `sink`, judged in this file
    alone (a dependency is authentication when it is configured as one): for
    a preset's own fix. An empty or longer list means there is no single
    choice. The default fix leaves the judgement to the project stage."""
    configured = {d.split(".")[-1] for d in ctx.config.auth_dependencies}
    choices = [c for c in tenant_choices(ctx, sink)
               if all(r.split(".")[-1] in configured for r in c.requires)]
    if len(choices) != 1:
        return sorted(name for choice in choices for name in choice.names)
    return [choices[0].value]


def _assigned_before(unit, name: str, call: cst.Call) -> bool:
    """`name = ...` is a statement of the function's own body that runs before
    the statement holding `call`: bound on every path that reaches the call
    (the reaching definitions alone cannot tell a name assigned in one branch
    only, which would be unbound on the other)."""
    body = unit.body.body if isinstance(unit.body, cst.BaseSuite) else unit.body
    for statement in body:
        if contains(statement, call):
            break
        if isinstance(statement, cst.SimpleStatementLine) and any(
                _binds(small, name) for small in statement.body):
            return True
    # a closure: bound in the function around it before the definition
    outer = getattr(unit, "outer", None)
    return outer is not None and _assigned_before(outer, name, call)


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


Requires = Optional[FrozenSet[str]]  # None: not trusted; else the auth dependencies relied on


class _Judge:
    def __init__(self, ctx, sink: Sink) -> None:
        config = ctx.config
        self.claims: Set[str] = ({config.tenant_key} | set(config.tenant_columns)
                                 | set(config.table_keys.values()))
        self.sources = set(config.tenant_sources)
        # flask_login's `current_user` is the authenticated user (a global proxy)
        self.auth_globals = {name for name, (module, attr) in ctx.info.imports.items()
                             if module.split(".")[0] == "flask_login" and attr == "current_user"}
        unit = sink.unit
        aliases = {name for name, value in ctx.info.module_assignments.items()
                   if annotated_dependencies(value)}  # `CurrentUser = Annotated[...]`
        # parameter -> the dependency it declares, as the route analysis reads it
        self.dependencies: Dict[str, str] = {}
        # a closure sees the parameters of the functions around it (the route's
        # auth dependency): the innermost binding of a name wins
        units = []
        while unit is not None:
            units.append(unit)
            unit = getattr(unit, "outer", None)
        for each in reversed(units):
            for param in each.params:
                self.dependencies.pop(param.name.value, None)
                dependency = param_dependency(param, aliases, ctx.info.imports)
                if dependency:
                    self.dependencies[param.name.value] = dependency
        db = ctx.db
        self.tenant_params = {
            origin.name for other in db.sinks if any(other.unit is u for u in units)
            and db.classified[other.call].outcome == Outcome.SCOPED
            for origin in db.classified[other.call].tenant_origins if origin.kind == "param"}

    def trusted(self, origin: Origin) -> Requires:
        if origin.kind == "param":
            return frozenset() if origin.name in self.tenant_params else None
        if origin.kind == "expr" and origin.node is not None:
            return self._claim_read(origin.node, origin.defs or {})
        return None

    def _claim_read(self, node: cst.CSTNode, defs: Mapping) -> Requires:
        """`auth["clerk_org_id"]`, `auth.get("clerk_org_id")`, `auth.clerk_org_id`;
        a configured `tenant-sources` expression or call, and flask_login's
        `current_user.<tenant key>`: trusted whatever the auth dependencies are."""
        if self.sources:
            target = node.expression if isinstance(node, cst.Await) else node
            called = dotted(target.func) if isinstance(target, cst.Call) else None
            name = dotted(target)
            if (name and name in self.sources) or (called and (
                    called in self.sources or called.split(".")[-1] in self.sources)):
                return frozenset()
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) \
                and node.value.value in self.auth_globals and node.value.value not in defs:
            return frozenset() if node.attr.value in self.claims else None
        if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(
                node.slice[0].slice, cst.Index):
            if string_value(node.slice[0].slice.value) in self.claims:
                return self._auth_context(node.value, defs)
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and node.func.attr.value == "get" and node.args \
                and node.args[0].keyword is None:
            if string_value(node.args[0].value) in self.claims:
                return self._auth_context(node.func.value, defs)
        elif isinstance(node, cst.Attribute):
            if node.attr.value in self.claims:
                return self._auth_context(node.value, defs)
        return None

    def _auth_context(self, node: cst.CSTNode, defs: Mapping) -> Requires:
        """A name bound only to a dependency parameter or to the result of a call
        (`await get_current_user(request)`): trusted if those are auth dependencies."""
        if not isinstance(node, cst.Name):
            return None
        origins = defs.get(node.value)
        if not origins:
            return None
        requires: Set[str] = set()
        for origin in origins:
            if origin.kind == "param" and origin.name in self.dependencies:
                requires.add(self.dependencies[origin.name])
            elif origin.kind == "expr" and origin.node is not None:
                called = called_name(origin.node)
                if called is None:
                    return None
                requires.add(called)
            else:
                return None
        return frozenset(requires)
