"""Flask-RESTX / Flask-RESTful / Flask-RESTPlus `Resource` classes as routes.

    api = Api(bp, prefix="/v1")               # a router, mounted on the blueprint
    ns = Namespace("reports", path="/reports")
    api.add_namespace(ns, path="/r")          # the namespace's path is replaced

    @ns.route("/<int:report_id>")
    class ReportResource(Resource):
        method_decorators = [login_required]  # (or `decorators`, or a dict per method)
        def get(self, report_id): ...

    api.add_resource(ReportList, "/reports", "/reports/all")

Each HTTP method the class defines is a route (`ReportResource.get`), with
the class-level `method_decorators` / `decorators`, the class's other
decorators and the method's own as its decorators (so `login_required`
counts as auth, as on a Flask view). Fills the shared `_Scan` of
analysis/routes.py: routers, includes and routes.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import libcst as cst

from ..model import Span
import re

from ..route_facts import (IncludeFact, ParamFact, ResourceClass, ResourceMethod,
                           ResourceRegistration, RouteFact, RouterFact)
from .syntax import argument, dotted, string_value

_MODULES = ("flask_restx", "flask_restful", "flask_restplus")
_HTTP = ("get", "post", "put", "patch", "delete", "head", "options")
_RESOURCE_BASES = ("Resource", "MethodView")
_REGISTER = re.compile(r"^add_\w*resource$")


def _last(name: Optional[str]) -> str:
    return name.rsplit(".", 1)[-1] if name else ""


def collect(declarations, statements: List[cst.CSTNode]) -> None:
    """Add the module's Api / Namespace routers, `add_namespace` /
    `add_resource` registrations and Resource routes to `declarations.scan`."""
    info = declarations.info
    scan = declarations.scan

    def from_restx(func: Optional[str]) -> bool:
        head = (func or "").split(".")[0]
        origin = info.imports.get(head)
        return origin is not None and origin[0].split(".")[0] in _MODULES

    classes: Dict[str, cst.ClassDef] = {}
    for stmt in statements:
        if isinstance(stmt, cst.ClassDef):
            classes[stmt.name.value] = stmt
            if any(isinstance(i, cst.FunctionDef) and i.name.value in _HTTP
                   for i in stmt.body.body) or any(_method_decorators(stmt)):
                scan.resource_classes[stmt.name.value] = stmt  # for other modules
    # `class ApiExt(Api): ...` (a project's Api with its own registration helpers)
    api_classes = {name for name, node in classes.items()
                   if any(_last(dotted(b.value)) == "Api" and from_restx(dotted(b.value))
                          for b in node.bases)}
    for name, value in info.module_assignments.items():
        if not isinstance(value, cst.Call):
            continue
        func = dotted(value.func)
        kind = _last(func)
        if func in api_classes:
            kind = "Api"
        elif kind not in ("Api", "Namespace") or not from_restx(func):
            continue
        if kind == "Api":
            prefix = declarations._string(argument(value, None, "prefix")) or ""
            scan.routers[name] = RouterFact(name, "flask", prefix, ())
            parent = dotted(argument(value, 0, "app")) if argument(value, 0, "app") else None
            if parent:
                scan.includes.append(IncludeFact(parent, name, None, (), False))
        else:
            path = declarations._string(argument(value, None, "path"))
            title = string_value(argument(value, 0, "name"))
            scan.routers[name] = RouterFact(name, "flask", path if path is not None else
                                            f"/{title}" if title else "", ())
    for stmt in statements:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                    _registration(declarations, small.value, classes)
        elif isinstance(stmt, cst.ClassDef) and _is_resource(stmt):
            for decorator in stmt.decorators:
                call = decorator.decorator
                if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) \
                        and call.func.attr.value == "route":
                    router = dotted(call.func.value)
                    if router:
                        paths = [declarations._string(a.value) or "" for a in call.args
                                 if a.keyword is None and not a.star]
                        for path in paths or [""]:
                            _resource_routes(declarations, stmt, router, path, decorator)


def _is_resource(node: cst.ClassDef) -> bool:
    return any(_last(dotted(b.value)) in _RESOURCE_BASES for b in node.bases)


def _registration(declarations, call: cst.Call, classes: Dict[str, cst.ClassDef]) -> None:
    func = call.func
    if not isinstance(func, cst.Attribute):
        return
    owner = dotted(func.value)
    if not owner:
        return
    scan = declarations.scan
    if func.attr.value == "add_namespace":
        child = argument(call, 0, "ns")
        child_name = dotted(child) if child is not None else None
        if child_name:
            path = argument(call, None, "path")
            prefix = declarations._string(path) if path is not None else None
            scan.includes.append(IncludeFact(owner, child_name, prefix, (), prefix is not None))
    elif _REGISTER.match(func.attr.value):  # add_resource, a project's add_org_resource
        target = argument(call, 0, "resource")
        paths = [declarations._string(a.value) or "" for a in call.args[1:]
                 if a.keyword is None and not a.star]
        node = classes.get(target.value) if isinstance(target, cst.Name) else None
        if node is None:
            resource = dotted(target) if target is not None else None
            if resource and paths:  # a class of another module: joined at project level
                scan.registrations.append(ResourceRegistration(owner, resource, tuple(paths)))
            return
        for path in paths:
            _resource_routes(declarations, node, owner, path, call)


def resource_class(node: cst.ClassDef, spans) -> ResourceClass:
    """The plain facts of a Resource-like class, for registrations elsewhere."""
    from .routes import _all_params
    class_wide, per_method = _method_decorators(node)
    class_decorators = tuple(filter(None, (
        dotted(d.decorator.func) if isinstance(d.decorator, cst.Call) else dotted(d.decorator)
        for d in node.decorators)))
    methods = []
    for item in node.body.body:
        if not isinstance(item, cst.FunctionDef) or item.name.value not in _HTTP:
            continue
        own = tuple(filter(None, (
            dotted(d.decorator.func) if isinstance(d.decorator, cst.Call) else dotted(d.decorator)
            for d in item.decorators)))
        methods.append(ResourceMethod(
            item.name.value, spans.get(item.name, Span(1, 1, 1, 1)),
            per_method.get(item.name.value, ()) + own,
            tuple(p.name.value for p in _all_params(item)[1:])))
    return ResourceClass(tuple(filter(None, (dotted(b.value.value if isinstance(
        b.value, cst.Subscript) else b.value) for b in node.bases))),
        class_decorators + class_wide, tuple(methods))


def _resource_routes(declarations, node: cst.ClassDef, router: str, path: str,
                     anchor: cst.CSTNode) -> None:
    from .routes import _Route, _all_params  # the shared route shapes
    class_wide, per_method = _method_decorators(node)
    class_decorators = tuple(filter(None, (
        dotted(d.decorator.func) if isinstance(d.decorator, cst.Call) else dotted(d.decorator)
        for d in node.decorators if d is not anchor)))
    for item in node.body.body:
        if not isinstance(item, cst.FunctionDef) or item.name.value not in _HTTP:
            continue
        method = item.name.value
        own = tuple(filter(None, (
            dotted(d.decorator.func) if isinstance(d.decorator, cst.Call) else dotted(d.decorator)
            for d in item.decorators)))
        decorators = class_decorators + class_wide + per_method.get(method, ()) + own
        params = [p for p in _all_params(item)][1:]  # without self
        facts = tuple(ParamFact(p.name.value, "path", None, None, False, Span(0, 0, 0, 0))
                      for p in params)
        fact = RouteFact(f"{node.name.value}.{method}", router, (method.upper(),), path, "flask",
                         Span(0, 0, 0, 0), (), decorators, facts)
        # each method is its own route: findings point at its name
        declarations.scan.routes.append(_Route(fact, item.name, item, params))


def _method_decorators(node: cst.ClassDef) -> Tuple[Tuple[str, ...], Dict[str, Tuple[str, ...]]]:
    """`method_decorators = [a, b]` / `decorators = [...]` (every method) and
    `method_decorators = {"get": [a]}` (per method)."""
    every: List[str] = []
    per: Dict[str, Tuple[str, ...]] = {}
    for stmt in node.body.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if not (isinstance(small, cst.Assign) and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                    and small.targets[0].target.value in ("method_decorators", "decorators")):
                continue
            value = small.value
            if isinstance(value, (cst.List, cst.Tuple)):
                every.extend(_names(value))
            elif isinstance(value, cst.Dict):
                for element in value.elements:
                    if isinstance(element, cst.DictElement):
                        key = string_value(element.key)
                        if key and isinstance(element.value, (cst.List, cst.Tuple)):
                            per[key.lower()] = tuple(_names(element.value))
    return tuple(every), per


def _names(node) -> List[str]:
    found = []
    for element in node.elements:
        value = element.value
        name = dotted(value.func) if isinstance(value, cst.Call) else dotted(value)
        if name:
            found.append(name)
    return found
