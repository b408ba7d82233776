"""Route facts of one module: routers found by construction (`APIRouter(...)`,
`FastAPI(...)`, `Blueprint(...)`, `Flask(...)`), `include_router` /
`register_blueprint` calls, route handlers with their parameters and
dependencies, Annotated dependency aliases, the dependencies of every function
(for transitive auth), privileged clients, and the provenance of the tenant
values DB calls and wrapper calls receive inside handlers.

The scan of declarations walks top-level statements only; the per-call facts
come from a flow hook riding on the shared flow analysis (no extra walk). The
result is `ModuleRoutes` (plain data) in `FileFacts.routes`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Tuple

import libcst as cst

from ..model import Span
from ..route_facts import (EXPRESSION, HookFact, IncludeFact, ResourceRegistration, ModuleRoutes, ParamFact, PrivilegedUse,
                           RouteFact, RouterFact, TenantValueFact, is_tenant_header)
from . import routes_flask_hooks, routes_flask_resources
from .routes_project_routers import project_router_kind
from .flow import Env, FlowAnalyzer
from .syntax import argument, dotted, iter_children, string_value
from .module import Unit, _blocks_of
from .provenance import Tracer
from .values import DictVal, ListVal
from .optional_auth import optional_reason
from .routes_django import DjangoRoutes

ROUTER_CONSTRUCTORS = {"APIRouter": "fastapi", "FastAPI": "fastapi",
                       "Blueprint": "flask", "Flask": "flask"}
APP_CONSTRUCTORS = ("FastAPI", "Flask")  # roots: the others must be mounted on one
_FRAMEWORK_MODULES = ("fastapi", "starlette", "flask", "quart")
_HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
_DEPENDS = ("Depends", "Security")
_PARAM_FUNCTIONS = {"Header": "header", "Query": "query", "Path": "path", "Body": "body",
                    "Cookie": "cookie", "Form": "form", "File": "file"}
_REQUEST_TYPES = ("Request", "WebSocket", "HTTPConnection")
_FRAMEWORK_TYPES = ("Response", "BackgroundTasks", "SecurityScopes", "JSONResponse")
_SCALAR_TYPES = ("str", "int", "float", "bool", "UUID", "date", "datetime", "Optional",
                 "List", "list", "Union", "Literal", "Enum")
# imperative registration: method -> where the endpoint is (position, keyword)
_REGISTRATIONS = {"add_api_route": (1, "endpoint"), "add_websocket_route": (1, "endpoint"),
                  "add_url_rule": (2, "view_func")}
_PATH_PARAM = re.compile(r"{(\w+)(?::[^}]*)?}")
# Files without any of these cannot declare routes, dependencies or aliases.
_ROUTE_TEXT = re.compile(rb"APIRouter|FastAPI|Blueprint|Flask|Depends|Security|Annotated|Resource|"
                         rb"include_router|register_blueprint|\.mount\(|before_(?:app_)?request|"
                         rb"\.add_(?:api_route|url_rule|websocket_route)\(|"
                         rb"@[\w.]+\.(?:get|post|put|patch|delete|head|options|trace|api_route|"
                         rb"websocket|route)\(")


# --- declarations ---------------------------------------------------------------

@dataclass
class _Route:
    fact: RouteFact
    anchor: cst.CSTNode  # the decorator, or the `add_api_route(...)` call
    node: cst.FunctionDef
    param_nodes: List[cst.Param]


@dataclass
class _Scan:
    """Declarations of a module, still holding nodes (positions come later)."""

    routers: Dict[str, RouterFact] = field(default_factory=dict)
    includes: List[IncludeFact] = field(default_factory=list)
    routes: List[_Route] = field(default_factory=list)
    dependencies: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    aliases: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    privileged_globals: Tuple[str, ...] = ()
    class_constants: Dict[str, Dict[str, str]] = field(default_factory=dict)
    hooks: List[HookFact] = field(default_factory=list)  # Flask before_request hooks
    resource_classes: Dict[str, cst.ClassDef] = field(default_factory=dict)
    registrations: List[ResourceRegistration] = field(default_factory=list)
    guards: Dict[str, str] = field(default_factory=dict)  # function -> "abort(401)"
    # function -> (tenant header parameters, the function) for dependencies
    tenant_headers: Dict[str, Tuple[List[Tuple[ParamFact, cst.Param]], cst.FunctionDef]] = \
        field(default_factory=dict)
    optional: Dict[str, str] = field(default_factory=dict)  # see route_facts.ModuleRoutes


def _last(name: Optional[str]) -> str:
    return name.rsplit(".", 1)[-1] if name else ""


def dependency_of(node: cst.CSTNode) -> Optional[str]:
    """`Depends(get_user)` -> "get_user"; `Security(JWTBearer())` -> "JWTBearer";
    `Depends()` -> "" (the annotation is the dependency); anything else -> None."""
    if not isinstance(node, cst.Call) or _last(dotted(node.func)) not in _DEPENDS:
        return None
    target = argument(node, 0, "dependency")
    if target is None:
        return ""
    if isinstance(target, cst.Call):
        target = target.func
    return dotted(target) or None


def param_dependency(param: cst.Param, aliases, imports) -> Optional[str]:
    """The dependency a parameter declares (as written), or "@Alias" for an
    annotation that may be an `Annotated` alias (a module-level one in
    `aliases`, or an imported name); None for a plain parameter."""
    annotation = param.annotation.annotation if param.annotation is not None else None
    if param.default is not None:
        dependency = dependency_of(param.default)
        if dependency == "" and annotation is not None:
            return dotted(annotation)
        if dependency:
            return dependency
    if annotation is None:
        return None
    inline = annotated_dependencies(annotation)
    if inline:
        return inline[0]
    name = dotted(annotation)
    if name and (name in aliases or name.split(".")[0] in imports):
        return "@" + name
    return None


def annotated_dependencies(node: cst.CSTNode) -> Tuple[str, ...]:
    """`Annotated[dict, Depends(get_user)]` -> ("get_user",)."""
    if not isinstance(node, cst.Subscript) or _last(dotted(node.value)) != "Annotated":
        return ()
    found = []
    for element in node.slice[1:]:
        if isinstance(element.slice, cst.Index):
            dependency = dependency_of(element.slice.value)
            if dependency == "":
                first = node.slice[0].slice
                dependency = dotted(first.value) if isinstance(first, cst.Index) else None
            if dependency:
                found.append(dependency)
    return tuple(found)


def dependency_list(node: Optional[cst.CSTNode]) -> Tuple[str, ...]:
    """`[Depends(a), Security(b)]` -> ("a", "b")."""
    if not isinstance(node, (cst.List, cst.Tuple)):
        return ()
    found = (dependency_of(element.value) for element in node.elements)
    return tuple(d for d in found if d)


class _Declarations:
    """One pass over top-level statements collecting what the project stage joins."""

    def __init__(self, ctx) -> None:
        self.info = ctx.info
        self.config = ctx.config
        self.module = ctx.module
        self.source = ctx.source.data
        self.scan = _Scan()

    def run(self, module: cst.Module, routes: bool) -> _Scan:
        """Privileged globals and class string constants always (a prefix may be
        `settings.API_V1_STR` from another module; module-level instances are
        `FileFacts.instances`); routes, routers, includes and dependencies only
        when `routes` (the text can declare them)."""
        scan = self.scan
        privileged = set(self.config.privileged_clients)
        globals_: List[str] = []
        for name, value in self.info.module_assignments.items():
            if isinstance(value, cst.Call):
                func = dotted(value.func)
                kind = self._router_kind(func) if routes else None
                if kind is not None:
                    scan.routers[name] = self._router(name, kind, value)
                elif _last(func) in privileged:
                    globals_.append(name)
            elif routes:
                aliased = annotated_dependencies(value)
                if aliased:
                    scan.aliases[name] = aliased
        scan.privileged_globals = tuple(globals_)
        for stmt in module.body:
            if isinstance(stmt, cst.ClassDef):
                constants = _class_constants(stmt)
                if constants:
                    scan.class_constants[stmt.name.value] = constants
        if routes_flask_hooks.GUARD_TEXT.search(self.source):
            # an auth helper module may hold the guard a hook calls
            scan.guards.update(routes_flask_hooks.guards(module.body))
        if not routes:
            return scan
        statements = _flatten(module.body)
        functions = {stmt.name.value: (stmt.name.value, stmt) for stmt in statements
                     if isinstance(stmt, cst.FunctionDef)}
        for stmt in statements:
            if isinstance(stmt, cst.SimpleStatementLine):
                self._includes(stmt, {}, functions)
            elif isinstance(stmt, cst.FunctionDef):
                self._function(stmt, stmt.name.value, {})
                self._factory(stmt)
            elif isinstance(stmt, cst.ClassDef):
                for item in stmt.body.body:
                    if isinstance(item, cst.FunctionDef) and item.name.value in (
                            "__init__", "__call__"):
                        deps = self._param_dependencies(item)
                        key = stmt.name.value if item.name.value == "__init__" \
                            else f"{stmt.name.value}.__call__"
                        if deps:
                            scan.dependencies[key] = deps
                        optional = optional_reason(item) if item.name.value == "__call__" \
                            else None
                        if optional:
                            scan.optional[key] = optional
        routes_flask_resources.collect(self, statements)  # Flask-RESTX / RESTful resources
        routes_flask_hooks.collect(self, statements, {}, functions)  # before_request hooks
        return scan

    def _string(self, node: Optional[cst.CSTNode]) -> Optional[str]:
        """A string literal or a module-level string constant (`prefix=API_PREFIX`);
        any other expression is kept between `EXPRESSION` marks for the project
        stage to look up (`settings.API_V1_STR`) rather than vanishing from the path."""
        if node is None or (isinstance(node, cst.Name) and node.value == "None"):
            return None
        if isinstance(node, cst.Name) and node.value in self.info.constants:
            return self.info.constants[node.value]
        value = string_value(node)
        if value is not None:
            return value
        return EXPRESSION + (dotted(node) or "...") + EXPRESSION

    # routers and includes
    def _router_kind(self, func: Optional[str]) -> Optional[str]:
        if not func:
            return None
        kind = ROUTER_CONSTRUCTORS.get(_last(func))
        head = func.split(".")[0]
        imported = self.info.imports.get(head)
        if kind is None or (imported is not None
                            and not imported[0].startswith(_FRAMEWORK_MODULES)):
            # a project subclass or factory of APIRouter
            return project_router_kind(self.info, self.module, func)
        return kind

    def _router(self, name: str, kind: str, call: cst.Call) -> RouterFact:
        prefix_node = argument(call, None, "prefix" if kind == "fastapi" else "url_prefix")
        if prefix_node is None and _last(dotted(call.func)) not in ROUTER_CONSTRUCTORS:
            prefix_node = argument(call, 0, None)  # a factory: `make_router("/admin")`
        prefix = self._string(prefix_node)
        deps = dependency_list(argument(call, None, "dependencies"))
        return RouterFact(name, kind, prefix or "", deps,
                          app=_last(dotted(call.func)) in APP_CONSTRUCTORS)

    def _factory(self, node: cst.FunctionDef) -> None:
        """`def create_app(): app = FastAPI(); app.include_router(...)`, with routes
        nested in it: routers local to the function are named `create_app.app`."""
        local: Dict[str, str] = {}
        body = list(_flatten(node.body.body))
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call) \
                            and len(small.targets) == 1 \
                            and isinstance(small.targets[0].target, cst.Name):
                        kind = self._router_kind(dotted(small.value.func))
                        if kind is not None:
                            name = small.targets[0].target.value
                            local[name] = f"{node.name.value}.{name}"
                            self.scan.routers[local[name]] = self._router(
                                local[name], kind, small.value)
        if not local:
            return
        functions = {stmt.name.value: (f"{node.name.value}.{stmt.name.value}", stmt)
                     for stmt in body if isinstance(stmt, cst.FunctionDef)}
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                self._includes(stmt, local, functions)
            elif isinstance(stmt, cst.FunctionDef):
                self._function(stmt, functions[stmt.name.value][0], local)
        routes_flask_hooks.collect(self, body, local, functions)
        if routes_flask_hooks.GUARD_TEXT.search(self.source):
            self.scan.guards.update(routes_flask_hooks.guards(body, node.name.value + "."))

    def _includes(self, stmt: cst.SimpleStatementLine, local: Dict[str, str],
                  functions: Dict[str, Tuple[str, cst.FunctionDef]]) -> None:
        for small in stmt.body:
            if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                self._include(small.value, local, functions)

    def _include(self, call: cst.Call, local: Dict[str, str],
                 functions: Dict[str, Tuple[str, cst.FunctionDef]]) -> None:
        func = call.func
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        if method in _REGISTRATIONS:
            # `router.add_api_route("/x", handler, ...)`: a route without a decorator
            endpoint = argument(call, *_REGISTRATIONS[method])
            target = functions.get(endpoint.value) if isinstance(endpoint, cst.Name) else None
            route = self._route(call, call, target[1], target[0], local) if target else None
            if route is not None:
                self.scan.routes.append(route)
            return
        if method == "include_router":
            child, prefix = argument(call, 0, "router"), argument(call, None, "prefix")
        elif method == "register_blueprint":
            child, prefix = argument(call, 0, "blueprint"), argument(call, None, "url_prefix")
        elif method == "mount":  # a sub-application: `app.mount("/v2", v2_app)`
            child, prefix = argument(call, 1, "app"), argument(call, 0, "path")
        else:
            return
        parent = dotted(func.value)
        child_name = dotted(child) if child is not None else None
        if not parent or not child_name:
            return
        self.scan.includes.append(IncludeFact(
            local.get(parent, parent), local.get(child_name, child_name), self._string(prefix),
            dependency_list(argument(call, None, "dependencies")),
            method == "register_blueprint"))

    # functions, handlers and their parameters
    def _function(self, node: cst.FunctionDef, qualname: str, local: Dict[str, str]) -> None:
        if not local:
            deps = self._param_dependencies(node) or self._closure_dependencies(node)
            if deps:
                self.scan.dependencies[qualname] = deps
            optional = optional_reason(node)
            if optional:
                self.scan.optional[qualname] = optional
        routes = 0
        for decorator in node.decorators:  # stacked route decorators: one route each
            route = self._route(decorator.decorator, decorator, node, qualname, local)
            if route is not None:
                self.scan.routes.append(route)
                routes += 1
        if not routes and not local:
            # a dependency may read the tenant header for the routes that use it
            headers = [(fact, param) for fact, param in (
                (self._param(p, "", "fastapi"), p) for p in _all_params(node))
                if fact.source == "header"
                and is_tenant_header(fact.header, self.config.tenant_headers)]
            if headers:
                self.scan.tenant_headers[qualname] = (headers, node)

    def _route(self, call: cst.BaseExpression, anchor: cst.CSTNode, node: cst.FunctionDef,
               qualname: str, local: Dict[str, str]) -> Optional[_Route]:
        """The route `call` declares for the handler `node`: `call` is a route
        decorator (`anchor` the decorator) or an `add_api_route(...)` call."""
        if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute):
            return None
        router = dotted(call.func.value)
        if not router:
            return None
        router = local.get(router, router)
        head = router.split(".")[0]
        if router not in self.scan.routers and head not in self.info.imports:
            return None  # not a router by construction
        attr = call.func.attr.value
        kind = self.scan.routers[router].kind if router in self.scan.routers else \
            ("flask" if attr in ("route", "add_url_rule") else "fastapi")
        if attr in _HTTP_METHODS:
            methods: Tuple[str, ...] = (attr.upper(),)
        elif attr in ("api_route", "route", "add_api_route", "add_url_rule"):
            listed = argument(call, None, "methods")
            methods = tuple(m.upper() for m in (
                string_value(e.value) for e in getattr(listed, "elements", ())) if m) or ("GET",)
        elif attr in ("websocket", "add_websocket_route"):
            methods = ("WEBSOCKET",)
        else:
            return None
        flask = attr in ("route", "add_url_rule")
        path = self._string(argument(call, 0, "rule" if flask else "path")) or ""
        others = tuple(filter(None, (dotted(d.decorator.func) if isinstance(
            d.decorator, cst.Call) else dotted(d.decorator) for d in node.decorators
            if d is not anchor)))
        param_nodes = _all_params(node)
        params = tuple(self._param(p, path, kind) for p in param_nodes)
        # spans stay empty until the checker's positions pass (see `_finish`)
        fact = RouteFact(qualname, router, methods, path, kind, Span(0, 0, 0, 0),
                         dependency_list(argument(call, None, "dependencies")), others, params)
        return _Route(fact, anchor, node, param_nodes)

    def _closure_dependencies(self, node: cst.FunctionDef) -> Tuple[str, ...]:
        """A dependency factory (`Depends(PolicyGuard(policy))`) that returns a
        nested function: FastAPI resolves the nested function's parameters."""
        if not isinstance(node.body, cst.IndentedBlock):
            return ()
        nested = {stmt.name.value: stmt for stmt in node.body.body
                  if isinstance(stmt, cst.FunctionDef)}
        if not nested:
            return ()
        local: Dict[str, str] = {}  # `_auth = Authenticator(...)` inside the factory
        for stmt in node.body.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                            and isinstance(small.targets[0].target, cst.Name) \
                            and isinstance(small.value, cst.Call) and dotted(small.value.func):
                        local[small.targets[0].target.value] = dotted(small.value.func)
                    if isinstance(small, cst.Return) and isinstance(small.value, cst.Name) \
                            and small.value.value in nested:
                        return tuple(local.get(d, d) for d in
                                     self._param_dependencies(nested[small.value.value]))
        return ()

    def _param_dependencies(self, node: cst.FunctionDef) -> Tuple[str, ...]:
        found = []
        for param in _all_params(node):
            dependency = self._dependency_param(param)
            if dependency:
                found.append(dependency)
        return tuple(found)

    def _dependency_param(self, param: cst.Param) -> Optional[str]:
        return param_dependency(param, self.scan.aliases, self.info.imports)

    def _param(self, param: cst.Param, path: str, kind: str) -> ParamFact:
        name = param.name.value
        span = Span(0, 0, 0, 0)
        if kind == "flask":
            return ParamFact(name, "path", None, None, False, span)
        annotation = param.annotation.annotation if param.annotation is not None else None
        dependency = self._dependency_param(param)
        # "@X" is a dependency only if X is a local alias; an imported X is decided
        # at project level (it may be a body model)
        if dependency and (not dependency.startswith("@") or dependency[1:] in self.scan.aliases):
            return ParamFact(name, "dependency", dependency, None, False, span)
        marker = self._param_function(param, annotation)
        if marker is not None:
            source, call = marker
            header = _header_name(name, call) if source == "header" else None
            return ParamFact(name, source, dependency, header, False, span)
        type_name = _last(dotted(annotation.value if isinstance(annotation, cst.Subscript)
                                 else annotation) if annotation is not None else None)
        if type_name in _REQUEST_TYPES:
            source = "request"
        elif type_name in _FRAMEWORK_TYPES:
            source = "framework"
        elif name in _PATH_PARAM.findall(path):
            source = "path"
        elif annotation is None or type_name in _SCALAR_TYPES:
            source = "query"
        else:
            source = "body"
        return ParamFact(name, source, dependency, None, False, span)

    @staticmethod
    def _param_function(param: cst.Param, annotation) -> Optional[Tuple[str, cst.Call]]:
        """`Header(...)`, `Query(...)`, ... as the default or inside `Annotated`."""
        candidates = [param.default]
        if isinstance(annotation, cst.Subscript) and \
                _last(dotted(annotation.value)) == "Annotated":
            candidates += [e.slice.value for e in annotation.slice[1:]
                           if isinstance(e.slice, cst.Index)]
        for node in candidates:
            if isinstance(node, cst.Call):
                source = _PARAM_FUNCTIONS.get(_last(dotted(node.func)))
                if source is not None:
                    return source, node
        return None


def _header_name(param: str, call: cst.Call) -> str:
    """The HTTP header `Header(...)` binds: its alias, or the parameter name with
    underscores as hyphens (unless `convert_underscores=False`)."""
    alias = string_value(argument(call, None, "alias"))
    if alias:
        return alias.lower()
    keep = argument(call, None, "convert_underscores")
    if isinstance(keep, cst.Name) and keep.value == "False":
        return param.lower()
    return param.replace("_", "-").lower()


def _class_constants(node: cst.ClassDef) -> Dict[str, str]:
    """`API_V1_STR: str = "/api/v1"` in a class body (settings classes)."""
    found: Dict[str, str] = {}
    for stmt in node.body.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                targets, value = [small.target], small.value
            elif isinstance(small, cst.Assign):
                targets, value = [t.target for t in small.targets], small.value
            else:
                continue
            text = string_value(value)
            if text is None:
                continue
            for target in targets:
                if isinstance(target, cst.Name):
                    found[target.value] = text
    return found


def _flatten(body) -> List[cst.CSTNode]:
    """Statements of a block, looking into `if` / `try` blocks (conditional
    includes, `try: import ...`) and loops (`for r in routers: app.include_router(r)`,
    whose router the project stage cannot name)."""
    found: List[cst.CSTNode] = []
    stack = list(reversed(list(body)))
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, (cst.If, cst.Try, cst.For, cst.While)):
            for block in reversed(_blocks_of(stmt)):
                stack.extend(reversed(list(block)))
        else:
            found.append(stmt)
    return found


def _all_params(node: cst.FunctionDef) -> List[cst.Param]:
    params = node.params
    return list(params.posonly_params) + list(params.params) + list(params.kwonly_params)


def _uses_name(body: cst.CSTNode, name: str) -> bool:
    stack = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name):
            if node.value == name:
                return True
            continue
        stack.extend(iter_children(node))
    return False


# --- the flow hook ----------------------------------------------------------------

# arguments that may be a filter or row handed to the function that runs it
_DICT_ARGUMENTS = (cst.Dict, cst.Name, cst.List, cst.Call)

class RouteHook:
    """Rides on the shared flow analysis: records privileged clients in every
    function and, inside route handlers, the provenance of every call argument
    (wrapper calls are checked with it at project level)."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.privileged = frozenset(ctx.config.privileged_clients)
        self.privileged_text = any(n.encode() in ctx.source.data for n in self.privileged)
        relevant = self.privileged_text or _ROUTE_TEXT.search(ctx.source.data) is not None
        self.scan = _Declarations(ctx).run(ctx.module, relevant)
        self.handlers = {route.fact.qualname for route in self.scan.routes}
        self.imported = {name for name, (_, attr) in ctx.info.imports.items() if attr}
        self.tracer = Tracer(ctx.info.imports)
        self.unit: Optional[Unit] = None
        self.in_handler = False
        self.uses: Dict[str, Dict[cst.Call, Tuple[str, str]]] = {}
        # call -> argument (position or keyword) -> its provenance tokens
        self.arguments: Dict[cst.Call, Dict[str, FrozenSet[str]]] = {}

    def start_unit(self, unit: Unit) -> None:
        self.unit = unit
        self.in_handler = unit.qualname in self.handlers and unit.node is not None

    def __call__(self, call: cst.Call, env: Env, analyzer: FlowAnalyzer) -> None:
        if self.unit is not None and self.unit.node is not None:
            self._privileged(call, env)
        if self.in_handler:
            # a call in a loop is met again with a wider environment: join
            sources: Dict[str, FrozenSet[str]] = dict(self.arguments.get(call, {}))
            position = 0
            for arg in call.args:
                if arg.star:
                    continue
                key = arg.keyword.value if arg.keyword is not None else str(position)
                if arg.keyword is None:
                    position += 1
                sources[key] = sources.get(key, frozenset()) | self.tracer.sources(
                    analyzer.origins(arg.value, env))
                if isinstance(arg.value, _DICT_ARGUMENTS):
                    # a filter or row handed to the function that runs it
                    # (passed_values.py): where its tenant column's value comes from
                    for column, origins in self._tenant_entries(
                            analyzer.value_of(arg.value, env)).items():
                        entry = f"{key}.{column}"
                        sources[entry] = sources.get(entry, frozenset()) | \
                            self.tracer.sources(origins)
            self.arguments[call] = sources

    def _tenant_entries(self, value) -> Dict[str, FrozenSet]:
        """Tenant column -> the origins of its value in a dict (or every row
        of a list of rows) passed as an argument."""
        rows = [value] if isinstance(value, DictVal) else (
            list(value.rows) if isinstance(value, ListVal) else [])
        columns = {self.ctx.config.tenant_key, *self.ctx.config.tenant_columns}
        found: Dict[str, FrozenSet] = {}
        for row in rows:
            for column in columns & set(row.values):
                found[column] = found.get(column, frozenset()) | frozenset(row.values[column])
        return found

    def _privileged(self, call: cst.Call, env: Env) -> None:
        func = call.func
        use = None
        if self.privileged_text:
            name = dotted(func)
            if name and _last(name) in self.privileged:
                use = (name, "call")
        if use is None and isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            base = func.value.value
            if base not in env.defs:  # a global, not a local or parameter
                if base in self.scan.privileged_globals:
                    use = (base, "global")
                elif base in self.imported:
                    # maybe another module's privileged instance: the project stage
                    # knows; the first use per function is enough to tell
                    uses = self.uses.get(self.unit.qualname, {})
                    if (base, "import") in uses.values():
                        return
                    use = (base, "import")
        if use is not None:
            self.uses.setdefault(self.unit.qualname, {})[call] = use


# --- the analysis: plain facts with positions ----------------------------------------

class RouteAnalysis:
    """Routes, routers, dependencies, tenant headers and privileged clients of
    one file (`FileFacts.routes`), and the provenance of every call argument
    in a route handler (`call_provenance`, attached to `CallSite`s). Always
    runs: the route table and the report need it whichever rules are on."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.hook = RouteHook(ctx)
        self.call_provenance: Dict[cst.Call, Dict[str, str]] = {}
        self._tenant_values: Dict[str, list] = {}
        self.django = DjangoRoutes(ctx) if ctx.catalog is not None and (getattr(
            ctx.catalog, "project_facts", None) or {}).get("django") else None
        self._db = None

    def hooks(self) -> List[object]:
        return [self.hook]

    def nodes(self, db) -> List[cst.CSTNode]:
        """The nodes whose positions the facts need (after the flow pass)."""
        hook = self.hook
        scan = hook.scan
        self.call_provenance = {
            call: {key: "|".join(sorted(sources)) for key, sources in arguments.items()}
            for call, arguments in hook.arguments.items()}
        tenant_values = self._tenant_values
        for sink in db.sinks:
            if sink.unit.qualname in hook.handlers and sink.unit.node is not None:
                result = db.classified[sink.call]
                if result.tenant_origins:
                    # a membership check of the caller in that organization before
                    # (a `scoping-helpers` call): the value is the caller's tenant
                    checked = db.prover.membership_checked(
                        result.tenant_origins, db.prover.envs.get(sink.call) or [], sink.unit)
                    tenant_values.setdefault(sink.unit.qualname, []).append(
                        (sink, result, checked or ""))
        nodes: List[cst.CSTNode] = [r.anchor for r in scan.routes]
        nodes += [p for r in scan.routes for p in r.param_nodes]
        nodes += [sink.call for values in tenant_values.values() for sink, _, _ in values]
        nodes += [call for uses in hook.uses.values() for call in uses]
        nodes += [param for headers, _ in scan.tenant_headers.values() for _, param in headers]
        nodes += [item.name for node in scan.resource_classes.values()
                  for item in node.body.body if isinstance(item, cst.FunctionDef)]
        if self.django is not None:
            self._db = db
            nodes += self.django.nodes()
            nodes += [s.anchor or s.call for s in db.sinks]
        return nodes

    def finish(self, facts, spans) -> None:
        scan = self.hook.scan
        if (scan.routes or scan.routers or scan.includes or scan.dependencies
                or scan.aliases or scan.privileged_globals
                or scan.class_constants or self.hook.uses or scan.tenant_headers
                or scan.hooks or scan.guards or scan.resource_classes or scan.registrations
                or self.ctx.info.constants):
            facts.routes = _finish(self.ctx, self.hook, self._tenant_values, spans)
        if self.django is not None and self._db is not None:
            self.django.finish(facts, spans, self._db)


def _finish(ctx, hook: RouteHook, tenant_values, spans) -> ModuleRoutes:
    scan = hook.scan
    blank = Span(1, 1, 1, 1)
    facts = ModuleRoutes(dict(scan.routers), list(scan.includes), [], dict(scan.dependencies),
                         dict(scan.aliases), scan.privileged_globals,
                         constants=dict(ctx.info.constants),
                         class_constants=dict(scan.class_constants),
                         hooks=list(scan.hooks), guards=dict(scan.guards),
                         resource_classes={
                             name: routes_flask_resources.resource_class(node, spans)
                             for name, node in scan.resource_classes.items()},
                         registrations=list(scan.registrations),
                         optional=dict(scan.optional))
    headers = ctx.config.tenant_headers
    for route in scan.routes:
        params = []
        for param, node in zip(route.fact.params, route.param_nodes):
            used = is_tenant_header(param.header, headers) and _uses_name(
                route.node.body, param.name)
            params.append(ParamFact(param.name, param.source, param.dependency, param.header,
                                    used, spans.get(node, blank)))
        values = []
        for sink, result, checked in tenant_values.get(route.fact.qualname, ()):
            origin_nodes = [o.node for o in result.tenant_origins if o.node is not None]
            text = ctx.module.code_for_node(origin_nodes[0]) if origin_nodes else \
                next(iter(result.tenant_origins)).name or ""
            values.append(TenantValueFact(
                spans.get(sink.call, blank), tuple(sorted(hook.tracer.sources(
                    result.tenant_origins))), " ".join(text.split())[:120], sink.table,
                sink.method, result.tenant_key or ctx.config.tenant_key, checked))
        fact = route.fact
        facts.routes.append(RouteFact(fact.qualname, fact.router, fact.methods, fact.path,
                                      fact.kind, spans.get(route.anchor, blank),
                                      fact.dependencies, fact.decorators, tuple(params),
                                      tuple(values)))
    for qualname, (headers, node) in scan.tenant_headers.items():
        facts.tenant_headers[qualname] = tuple(
            ParamFact(fact.name, fact.source, fact.dependency, fact.header,
                      _uses_name(node.body, fact.name), spans.get(param, blank))
            for fact, param in headers)
    for qualname, uses in hook.uses.items():
        facts.privileged[qualname] = [PrivilegedUse(spans.get(call, blank), name, kind)
                                      for call, (name, kind) in uses.items()]
    return facts
