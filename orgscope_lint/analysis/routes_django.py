"""Django and DRF routes of one module, from the Django preset's project
pre-pass (`catalog.project_facts["django"]`: the URL map joined from every urls.py,
and each view class's actions and permission classes).

Each handler in this module that a URL reaches becomes a `RouteFact` of kind
"django" with its full path and methods: a function view, a method of a class
view (`get`, `post`, an `@action`), or, for the built-in actions a view class
inherits (`list`, `retrieve`, ...), the class itself. Auth is the permission
classes (`permission_classes`, `get_permissions()`, `@permission_classes`,
settings' `DEFAULT_PERMISSION_CLASSES`) and decorators that require a user;
`AllowAny` is public. Tenant values of the DB calls in a handler are traced
to URL kwargs (`self.kwargs["slug"]`, a view parameter), the request body or
query (`request.data`, `request.GET`) or the principal (`request.user`):
a URL kwarg is trusted when a `scoping-helpers` entry guards the handler.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from ..model import Span
from ..route_facts import AUTH_GLOBAL, PARAM, ModuleRoutes, ParamFact, RouteFact, TenantValueFact
from .provenance import Tracer
from .syntax import dotted

_KWARG = re.compile(r"{(\w+)}")
_INPUT = frozenset({"data", "query_params", "GET", "POST", "body", "headers", "META",
                    "COOKIES", "FILES"})
_BLANK = Span(1, 1, 1, 1)


class DjangoRoutes:
    def __init__(self, ctx) -> None:
        notes = (getattr(ctx.catalog, "project_facts", None) or {}).get("django") or {}
        self.ctx = ctx
        self.routes: Dict[str, list] = notes.get("routes", {}).get(ctx.module_name, {})
        self.views: Dict[str, dict] = notes.get("views", {}).get(ctx.module_name, {})
        self.functions: Dict[str, dict] = notes.get("functions", {}).get(ctx.module_name, {})
        self.default = notes.get("default_permissions")
        self.anchors: Dict[str, cst.CSTNode] = {}
        if not self.routes:
            return
        for stmt in ctx.module.body:
            if isinstance(stmt, cst.FunctionDef):
                self.anchors[stmt.name.value] = stmt.name
            elif isinstance(stmt, cst.ClassDef):
                self.anchors[stmt.name.value] = stmt.name
                for item in stmt.body.body:
                    if isinstance(item, cst.FunctionDef):
                        self.anchors[f"{stmt.name.value}.{item.name.value}"] = item.name

    def nodes(self) -> List[cst.CSTNode]:
        return list(self.anchors.values())

    # -- auth ---------------------------------------------------------------------
    def _auth(self, handler: str, action: str = "") -> Tuple[Tuple[str, ...], Tuple[str, ...], bool]:
        """(auth names, decorators, guarded by a scoping helper) of a function view,
        or of a class view's action (its method's decorators count)."""
        from ..presets.django_project import AUTH_DECORATORS, AUTH_PERMISSIONS
        config = self.ctx.config
        helpers = set(getattr(config, "scoping_helpers", ()))
        decorators: Tuple[str, ...] = ()
        if handler in self.views:
            permissions = self.views[handler]["permissions"]
            if permissions is None and self.views[handler].get("drf"):
                permissions = self.default  # DRF's settings apply to DRF views only
            decorators = tuple(self.views[handler].get("decorators", {}).get(action, ()))
        else:
            function = self.functions.get(handler, {})
            decorators = tuple(function.get("decorators", ()))
            permissions = function.get("permissions")
            if permissions is None and "api_view" in decorators:
                permissions = self.default
        permissions = list(permissions or ())
        known = set(config.auth_dependencies) | AUTH_PERMISSIONS
        auth = [p for p in permissions if p in known]
        auth += [d for d in decorators if d in AUTH_DECORATORS or d in config.auth_decorators]
        guarded = bool(helpers & (set(permissions) | set(decorators)))
        return tuple(dict.fromkeys(auth)), decorators, guarded

    # -- facts --------------------------------------------------------------------
    def finish(self, facts, spans, db) -> None:
        if not self.routes:
            return
        if facts.routes is None:
            facts.routes = ModuleRoutes()
        tracer = Tracer(self.ctx.info.imports)
        values = self._values(db, spans, tracer)
        attached: Set[str] = set()
        for handler, entries in sorted(self.routes.items()):
            own = set(self.views.get(handler, {}).get("own", ()))
            for methods, path, action in entries:
                auth, decorators, guarded = self._auth(handler, action)
                qualname = f"{handler}.{action}" if action in own else handler
                anchor = self.anchors.get(qualname) or self.anchors.get(handler)
                kwargs = tuple(dict.fromkeys(_KWARG.findall(path)))
                params = tuple(ParamFact(k, "path", None, None, False, _BLANK) for k in kwargs)
                params += (ParamFact("request.data", "body", None, None, False, _BLANK),)
                found: List[TenantValueFact] = []
                for unit, fact in values:
                    mine = unit == qualname or (unit.split(".")[0] == handler
                                                and handler not in attached)
                    if mine and (unit == qualname or unit not in {
                            f"{handler}.{a}" for _, _, a in entries if a in own}):
                        found.append(fact)
                attached.add(handler)
                if guarded:
                    found = [TenantValueFact(f.span, tuple(s for s in f.sources
                                                           if s[len(PARAM):] not in kwargs),
                                             f.expression, f.table, f.method, f.tenant_key)
                             for f in found]
                facts.routes.routes.append(RouteFact(
                    qualname, "", tuple(methods), path, "django",
                    spans.get(anchor, _BLANK) if anchor is not None else _BLANK,
                    auth, decorators, params, tuple(found)))

    def _values(self, db, spans, tracer) -> List[Tuple[str, TenantValueFact]]:
        found: List[Tuple[str, TenantValueFact]] = []
        seen = set()
        for sink in db.sinks:
            result = db.classified[sink.call]
            if not result.tenant_origins or sink.unit.node is None:
                continue
            sources = set()
            for origin in result.tenant_origins:
                sources |= self._sources(origin, tracer, 0)
            nodes = [o.node for o in result.tenant_origins if o.node is not None]
            text = self.ctx.module.code_for_node(nodes[0]) if nodes else ""
            span = spans.get(sink.anchor or sink.call, _BLANK)
            key = (span, tuple(sorted(sources)))
            if key in seen:
                continue
            seen.add(key)
            found.append((sink.unit.qualname, TenantValueFact(
                span, tuple(sorted(sources)), " ".join(text.split())[:120], sink.table,
                sink.method, result.tenant_key or self.ctx.config.tenant_key)))
        return found

    def _sources(self, origin, tracer: Tracer, depth: int) -> Set[str]:
        if depth > 20:
            return set()
        if origin.kind == "param":
            return {PARAM + (origin.name or "")}
        if origin.kind != "expr" or origin.node is None:
            return set(tracer.sources([origin]))
        words = _words(origin.node)
        if words is None:
            return set(tracer.sources([origin]))
        if len(words) == 1 and origin.defs and words[0] in origin.defs:
            found: Set[str] = set()
            for inner in origin.defs[words[0]]:
                found |= self._sources(inner, tracer, depth + 1)
            return found
        if "kwargs" in words:
            index = words.index("kwargs")
            if index + 1 < len(words):
                return {PARAM + words[index + 1]}
        if "request" in words:
            index = words.index("request")
            following = words[index + 1] if index + 1 < len(words) else ""
            if following in _INPUT:
                return {PARAM + "request.data"}
            if following in ("user", "auth"):
                return {AUTH_GLOBAL}
        if words and origin.defs and words[0] in origin.defs and words[0] not in (
                "self", "request"):
            found = set()
            for inner in origin.defs[words[0]]:
                found |= self._sources(inner, tracer, depth + 1)
            return found
        return set(tracer.sources([origin]))


def _words(node: cst.CSTNode) -> Optional[List[str]]:
    """`self.kwargs["slug"]` -> [self, kwargs, slug]; `request.data.get("x")` ->
    [request, data, get, x]; None for other shapes."""
    words: List[str] = []
    current = node
    while True:
        if isinstance(current, cst.Name):
            words.append(current.value)
            return list(reversed(words))
        if isinstance(current, cst.Attribute):
            words.append(current.attr.value)
            current = current.value
        elif isinstance(current, cst.Subscript):
            key = current.slice[0].slice if current.slice else None
            value = getattr(key, "value", None)
            if isinstance(value, cst.SimpleString):
                words.append(value.evaluated_value if isinstance(
                    value.evaluated_value, str) else "?")
            current = current.value
        elif isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute):
            if current.func.attr.value == "get" and current.args:
                first = current.args[0].value
                if isinstance(first, cst.SimpleString) and isinstance(
                        first.evaluated_value, str):
                    words.append(first.evaluated_value)
            current = current.func.value
        else:
            name = dotted(current) if isinstance(current, cst.BaseExpression) else None
            return [name] if name else None
