"""The project's routes: every module's route facts joined across imports.

Routers are nodes, `include_router` / `register_blueprint` calls are edges;
each route gets one *mount* per path from its router up to a root (an app, or
a router nobody includes), with the prefixes and dependencies collected on the
way. A route is authenticated when an auth dependency reaches it from its
parameters, its decorator, its routers or the include calls above them (or,
for Flask, an auth decorator or a `before_request` hook of its blueprint or app
that turns unauthenticated callers away). Auth dependencies are the configured ones and,
transitively, every project function whose own parameters depend on one.

Computed once per project (`route_table(project)`), shared by ORG201–ORG204
and the route summary on `RunResult.routes`. No libcst here.
"""
from __future__ import annotations

import fnmatch
import weakref
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from .facts import CallSite, FileFacts, WrapperSummary
from .model import Span
from .passed_values import passed_tenant_values
from .route_facts import (AUTH_GLOBAL, EXPRESSION, FLASK_REQUEST, PARAM, HookFact, IncludeFact,
                          ResourceRegistration,
                          ModuleRoutes, ParamFact, PrivilegedUse, RouteFact, RouterFact)

Key = Tuple[str, str]  # (module, top-level name)
Dep = Tuple[FileFacts, str]  # a dependency as written, with the module it is written in

_INPUT_WORDS = {"path": "path parameter", "query": "query parameter", "header": "header",
                "cookie": "cookie", "body": "request body", "form": "form field",
                "file": "uploaded file", "request": "raw request"}


@dataclass(frozen=True)
class Mount:
    prefix: str
    dependencies: Tuple[Dep, ...]
    # False: the router is no app and nothing includes it (its routes are unreachable)
    mounted: bool = True
    routers: Tuple[Key, ...] = ()  # from the root down to the route's own router


@dataclass
class Route:
    """One route at one full path."""

    facts: FileFacts
    fact: RouteFact
    path: str
    mount: Mount
    auth: Optional[Tuple[str, ...]]  # the auth dependency chain, if authenticated
    public: Optional[str]  # the `public-routes` pattern it matches
    # (dependency, why) when its only auth is optional (may return None)
    optional: Optional[Tuple[str, str]] = None

    @property
    def label(self) -> str:
        label = f"{'|'.join(self.fact.methods)} {self.path}"
        return label if self.mount.mounted else f"{label} (not mounted)"


@dataclass
class TenantValue:
    """A tenant value a DB call or wrapper call receives inside a handler."""

    route: Route
    span: Span
    verdict: str  # auth | request | unknown
    culprits: Tuple[str, ...]  # how the untrusted input is described
    what: str  # "select on 'calls'" / "`get_call`'s org_id argument"
    expression: str
    symbol: str
    snippet: str = ""
    statement_line: Optional[int] = None


class RouteTable:
    def __init__(self, project) -> None:
        self.project = project
        self.config = project.config
        self.modules: Dict[str, FileFacts] = project.modules
        self.resolver = project.resolver
        self._auth: Dict[Tuple[str, str], Optional[Tuple[str, ...]]] = {}
        self.routers: Dict[Key, Tuple[FileFacts, RouterFact]] = {}
        self.parents: Dict[Key, List[Tuple[Key, FileFacts, IncludeFact]]] = {}
        for facts in project.files:
            for name, router in routes_of(facts).routers.items():
                self.routers[(facts.module, name)] = (facts, router)
        # an include whose router the tool cannot name (a loop over a list, a
        # getattr) may mount any router: then no route is called unmounted
        self.includes_known = True
        for facts in project.files:
            for include in routes_of(facts).includes:
                parent = self.resolve(facts, include.parent)
                child = self.resolve(facts, include.child)
                if parent in self.routers and child in self.routers:
                    self.parents.setdefault(child, []).append((parent, facts, include))
                elif child not in self.routers:
                    self.includes_known = False
        self.has_app = any(router.app for _, router in self.routers.values())
        self._mounts: Dict[Key, List[Mount]] = {}
        # Flask before_request hooks per router they run for (an app-wide one, on
        # the roots its blueprint is mounted under)
        self.hooks: Dict[Key, List[Tuple[FileFacts, HookFact]]] = {}
        for facts in project.files:
            for hook in routes_of(facts).hooks:
                key = self.resolve(facts, hook.router)
                if key not in self.routers:
                    continue
                roots = {m.routers[0] for m in self.mounts(key, frozenset())} \
                    if hook.app_wide else {key}
                for root in roots:
                    self.hooks.setdefault(root, []).append((facts, hook))
        self._sites: Dict[Tuple[str, Optional[str]], List[CallSite]] = {}
        for facts in project.files:
            for site in facts.call_sites:
                self._sites.setdefault((facts.path, site.symbol), []).append(site)
        self._users: Optional[Dict[Key, List[Route]]] = None
        self.routes: List[Route] = []
        self.by_handler: Dict[Tuple[str, str], List[Route]] = {}
        for facts in project.files:
            for fact in routes_of(facts).routes:
                if fact.kind == "django":  # full path from the URL map (routes_django.py)
                    route = self._django_route(facts, fact)
                    self.routes.append(route)
                    self.by_handler.setdefault((facts.path, fact.qualname), []).append(route)
                    continue
                key = self.resolve(facts, fact.router)
                if key not in self.routers:
                    continue  # decorated by something that is not a router
                for mount in sorted(self.mounts(key, frozenset()), key=lambda m: m.prefix):
                    route = self._route(facts, fact, mount)
                    self.routes.append(route)
                    self.by_handler.setdefault((facts.path, fact.qualname), []).append(route)
        for facts in project.files:  # Resource classes registered by another module
            for registration in routes_of(facts).registrations:
                self._registered(facts, registration)

    # -- names -----------------------------------------------------------------
    def resolve(self, facts: FileFacts, ref: str) -> Optional[Key]:
        """(module, name) that `ref` (as written in `facts`' module) refers to,
        following imports and re-exports; None outside the project."""
        if ref in routes_of(facts).routers:  # includes routers local to an app factory
            return facts.module, ref
        return self.resolver.resolve(facts, ref)

    # -- paths ----------------------------------------------------------------------
    def mounts(self, key: Key, visiting: frozenset) -> List[Mount]:
        if key in self._mounts:
            return self._mounts[key]
        facts, router = self.routers[key]
        own = tuple((facts, d) for d in router.dependencies)
        found: List[Mount] = []
        for parent, includer, include in self.parents.get(key, ()):
            if parent in visiting or parent == key:
                continue
            prefix = self.expand(includer, include.prefix) if include.prefix is not None \
                else None
            if include.replaces_prefix and prefix is not None:
                segment = prefix
            else:
                segment = (prefix or "") + self.expand(facts, router.prefix)
            through = tuple((includer, d) for d in include.dependencies)
            for above in self.mounts(parent, visiting | {key}):
                found.append(Mount(above.prefix + segment,
                                   above.dependencies + through + own,
                                   routers=above.routers + (key,)))
        if not found:
            mounted = router.app or not (self.has_app and self.includes_known)
            found = [Mount(self.expand(facts, router.prefix), own, mounted, (key,))]
        self._mounts[key] = found
        return found

    def _route(self, facts: FileFacts, fact: RouteFact, mount: Mount) -> Route:
        path = mount.prefix + self.expand(facts, fact.path) or "/"
        candidates: List[Dep] = [(facts, p.dependency) for p in fact.params if p.dependency]
        candidates += [(facts, d) for d in fact.dependencies]
        candidates += list(mount.dependencies)
        auth = None
        for owner, dependency in candidates:
            auth = self.auth_chain(owner, dependency)
            if auth:
                break
        decorators = set(self.config.auth_decorators)
        if auth is None:  # Flask-Login style decorators (also seen on FastAPI handlers)
            auth = next(((d,) for d in fact.decorators
                         if d in decorators or d.rsplit(".", 1)[-1] in decorators), None)
        if auth is None and fact.kind == "flask" and "." in fact.qualname:
            # a Resource whose base class (`BaseResource.decorators = [login_required]`)
            # decorates every method
            cls = (facts.module, fact.qualname.split(".")[0])
            if self.resolver.is_class(cls):
                auth = next(((d, f"inherited by {cls[1]}") for d in self.class_decorators(
                    cls, inherited_only=True) if d in decorators
                    or d.rsplit(".", 1)[-1] in decorators), None)
        if auth is None and fact.kind == "flask":
            auth = self.hook_chain(mount)
        route = Route(facts, fact, path, mount, auth, None)
        if auth is None:
            route.optional = next(filter(None, (self.optional_auth(owner, dependency)
                                                for owner, dependency in candidates)), None)
        route.public = self._public(route)
        return route

    def _registered(self, facts: FileFacts, registration: ResourceRegistration) -> None:
        """`api.add_resource(ReportResource, "/reports")` with the class imported:
        each of its HTTP methods is a route, with its class's (and base classes')
        decorators; findings point at the method in the class's module."""
        key = self.resolve(facts, registration.router)
        cls = self.resolve(facts, registration.resource)
        if key not in self.routers or cls is None or not self._is_resource(cls):
            return
        owner = self.modules[cls[0]]
        resource = routes_of(owner).resource_classes.get(cls[1])
        if resource is None:
            return
        decorators = resource.decorators  # the bases' are looked up by `_route`
        for path in registration.paths:
            for method in resource.methods:
                fact = RouteFact(f"{cls[1]}.{method.method}", registration.router,
                                 (method.method.upper(),), self.expand(facts, path), "flask",
                                 method.span, (), decorators + method.decorators,
                                 tuple(ParamFact(p, "path", None, None, False, method.span)
                                       for p in method.params))
                for mount in sorted(self.mounts(key, frozenset()), key=lambda m: m.prefix):
                    route = self._route(owner, fact, mount)
                    self.routes.append(route)
                    self.by_handler.setdefault((owner.path, fact.qualname), []).append(route)

    def _is_resource(self, cls: Key) -> bool:
        """A project class deriving (through project bases) from a Resource or MethodView."""
        for module, name in self.resolver.mro(cls):
            bases = self.modules[module].classes.get(name, ())
            if any(base.rsplit(".", 1)[-1] in ("Resource", "MethodView") for base in bases):
                return True
        return False

    def class_decorators(self, cls: Key, inherited_only: bool = False) -> Tuple[str, ...]:
        """`method_decorators` / `decorators` of a Resource class and its project bases."""
        found: List[str] = []
        for module, name in self.resolver.mro(cls)[1 if inherited_only else 0:]:
            resource = routes_of(self.modules[module]).resource_classes.get(name)
            if resource is not None:
                found.extend(d for d in resource.decorators if d not in found)
        return tuple(found)

    def _django_route(self, facts: FileFacts, fact: RouteFact) -> Route:
        """Django routes carry their auth (permission classes, decorators) as found."""
        route = Route(facts, fact, fact.path, Mount("", ()), fact.dependencies or None, None)
        route.public = self._public(route)
        return route

    def _public(self, route: Route) -> Optional[str]:
        for pattern in self.config.public_routes:
            words = pattern.split()
            methods, glob = (words[0].upper().split(","), words[1]) if len(words) == 2 \
                else (["*"], pattern.strip())
            if "*" not in methods and not set(methods) & set(route.fact.methods):
                continue
            if fnmatch.fnmatchcase(route.path, glob) or fnmatch.fnmatchcase(
                    route.path.rstrip("/") or "/", glob.rstrip("/") or "/"):
                return pattern
        return None

    def expand(self, facts: FileFacts, text: str) -> str:
        """Replace each expression in a prefix or path by the string constant it
        names (a module constant, or a settings class attribute through an
        instance: `settings.API_V1_STR`), or by `{expression}` when unknown."""
        if EXPRESSION not in text:
            return text
        parts = text.split(EXPRESSION)
        for index in range(1, len(parts), 2):
            value = self.constant(facts, parts[index])
            parts[index] = value if value is not None else "{" + parts[index] + "}"
        return "".join(parts)

    def constant(self, facts: FileFacts, expression: str) -> Optional[str]:
        target = self.resolve(facts, expression)
        if target is not None:
            return routes_of(self.modules[target[0]]).constants.get(target[1])
        head, _, attribute = expression.rpartition(".")
        owner_key = self.resolve(facts, head) if head else None
        if owner_key is None or "." in attribute:
            return None
        cls_key = self.resolver.instance_class(owner_key) or owner_key
        return routes_of(self.modules[cls_key[0]]).class_constants.get(cls_key[1], {}).get(
            attribute)

    # -- auth ---------------------------------------------------------------------
    def auth_chain(self, facts: FileFacts, dependency: str,
                   visiting: frozenset = frozenset()) -> Optional[Tuple[str, ...]]:
        """The chain from `dependency` to a configured auth dependency, or None."""
        memo = (facts.module, dependency)
        if memo in self._auth:
            return self._auth[memo]
        chain = self._auth_chain(facts, dependency, visiting | {memo})
        if not visiting:
            self._auth[memo] = chain
        return chain

    def _auth_chain(self, facts, dependency: str, visiting) -> Optional[Tuple[str, ...]]:
        configured = set(self.config.auth_dependencies)
        if dependency.startswith("@"):
            return self._alias_chain(facts, dependency[1:], visiting)
        name = dependency.rsplit(".", 1)[-1]
        target = self.resolve(facts, dependency)
        if target is not None and self.optional_of(target):
            return None  # optional auth: the route runs without a caller too
        if name in configured or dependency in configured:
            return (name,)
        if target is None:
            return None
        module, target_name = target
        if f"{module}.{target_name}" in configured:
            return (target_name,)
        # `_read = Authenticator(scopes)` then `Depends(_read)`: made by an auth dependency
        made_by = self.modules[module].instances.get(target_name, "")
        if made_by and made_by.rsplit(".", 1)[-1] in configured:
            return (target_name, made_by.rsplit(".", 1)[-1])
        owner, declared = self.declared(target)
        for inner in declared:
            if (owner.module, inner) in visiting:
                continue
            chain = self.auth_chain(owner, inner, visiting)
            if chain:
                return (target_name,) + chain
        return None

    def hook_chain(self, mount: Mount) -> Optional[Tuple[str, ...]]:
        """The first before_request hook above the route (its blueprint, a parent
        blueprint, the app) that authenticates: `(bp.before_request(fn), evidence)`."""
        for key in mount.routers:
            for facts, hook in self.hooks.get(key, ()):
                chain = self._hook_auth(facts, hook)
                if chain is not None:
                    return (hook.label,) + chain
        return None

    def _hook_auth(self, facts: FileFacts, hook: HookFact) -> Optional[Tuple[str, ...]]:
        """() when the hook is auth by configuration (its name in
        `auth-dependencies`), (evidence,) when its body or a guard it calls turns
        unauthenticated callers away, (configured,) when it calls a configured
        auth dependency; None when it is no auth."""
        configured = set(self.config.auth_dependencies)
        guards = routes_of(facts).guards
        name = hook.function.rsplit(".", 1)[-1]
        if name in configured or hook.function in configured:
            return ()
        if hook.function in guards:
            return (guards[hook.function],)
        target = self.resolve(facts, hook.function)
        if target is not None and target[0] != facts.module:  # an imported hook
            if f"{target[0]}.{target[1]}" in configured:
                return ()
            evidence = routes_of(self.modules[target[0]]).guards.get(target[1])
            if evidence:
                return (evidence,)
        for call in hook.calls:
            last = call.rsplit(".", 1)[-1]
            if last in configured or call in configured:
                return (last,)
            local = hook.function.rsplit(".", 1)[0] + "." + call \
                if "." in hook.function else None  # a sibling inside an app factory
            if local in guards:
                return (last, guards[local])
            target = self.resolve(facts, call)
            if target is None:
                continue
            if f"{target[0]}.{target[1]}" in configured:
                return (last,)
            evidence = routes_of(self.modules[target[0]]).guards.get(target[1])
            if evidence:
                return (last, evidence)
        return None

    def optional_of(self, target: Key) -> Optional[str]:
        """Why the dependency `target` may return None instead of a caller (a
        function, a class's `__call__`, or a module-level instance's class)."""
        optional = getattr(routes_of(self.modules[target[0]]), "optional", {})
        why = optional.get(target[1]) or optional.get(f"{target[1]}.__call__")
        if why:
            return why
        cls = self.resolver.instance_class(target)
        if cls is not None and cls[0] in self.modules:
            return getattr(routes_of(self.modules[cls[0]]), "optional", {}).get(
                f"{cls[1]}.__call__")
        return None

    def optional_auth(self, facts: FileFacts, dependency: str,
                      seen: frozenset = frozenset()) -> Optional[Tuple[str, str]]:
        """(dependency, why) when `dependency` is, or an alias names, optional auth."""
        if dependency.startswith("@"):
            target = self.resolve(facts, dependency[1:])
            if target is None or target in seen:
                return None
            owner = self.modules[target[0]]
            for inner in routes_of(owner).aliases.get(target[1], ()):
                found = self.optional_auth(owner, inner, seen | {target})
                if found:
                    return found
            return None
        target = self.resolve(facts, dependency)
        why = self.optional_of(target) if target is not None else None
        return (target[1], why) if why else None

    def declared(self, target: Key) -> Tuple[FileFacts, Tuple[str, ...]]:
        """The dependencies FastAPI resolves before calling `target`: a function's
        parameters, a class's `__init__` (or `__call__` for `Depends(Class())`),
        or `__call__` of the class of a module-level instance."""
        owner = self.modules[target[0]]
        routes = routes_of(owner)
        declared = routes.dependencies.get(target[1]) or routes.dependencies.get(
            f"{target[1]}.__call__", ())
        cls = self.resolver.instance_class(target) if not declared else None
        if cls is not None:
            owner = self.modules[cls[0]]
            declared = routes_of(owner).dependencies.get(f"{cls[1]}.__call__", ())
        return owner, declared

    def _alias_chain(self, facts, alias: str, visiting) -> Optional[Tuple[str, ...]]:
        target = self.resolve(facts, alias)
        if target is None:
            return None
        owner = self.modules[target[0]]
        for inner in routes_of(owner).aliases.get(target[1], ()):
            chain = self.auth_chain(owner, inner, visiting)
            if chain:
                return chain
        return None

    def dependency_users(self) -> Dict[Key, List[Route]]:
        """Every project function a route depends on, directly or through other
        dependencies, routers and include calls -> the routes that depend on it."""
        if self._users is not None:
            return self._users
        self._users = {}
        for route in self.routes:
            pending: List[Dep] = [(route.facts, p.dependency) for p in route.fact.params
                                  if p.dependency]
            pending += [(route.facts, d) for d in route.fact.dependencies]
            pending += list(route.mount.dependencies)
            seen = set()
            while pending:
                facts, dependency = pending.pop()
                if dependency.startswith("@"):
                    target = self.resolve(facts, dependency[1:])
                    if target is not None:
                        owner = self.modules[target[0]]
                        pending += [(owner, d) for d in routes_of(owner).aliases.get(
                            target[1], ())]
                    continue
                target = self.resolve(facts, dependency)
                if target is None or target in seen:
                    continue
                seen.add(target)
                self._users.setdefault(target, []).append(route)
                owner, declared = self.declared(target)
                pending += [(owner, d) for d in declared]
        return self._users

    def is_alias(self, facts: FileFacts, alias: str) -> bool:
        target = self.resolve(facts, alias)
        return target is not None and target[1] in routes_of(self.modules[target[0]]).aliases

    # -- provenance ---------------------------------------------------------------
    def param_role(self, facts: FileFacts, param: ParamFact) -> str:
        """auth | dependency | framework | input"""
        dependency = param.dependency
        is_dependency = param.source == "dependency" or (
            dependency is not None and dependency.startswith("@")
            and self.is_alias(facts, dependency[1:]))
        if is_dependency:
            return "auth" if dependency and self.auth_chain(facts, dependency) else "dependency"
        return "framework" if param.source == "framework" else "input"

    def verdict(self, route: Route, sources: Sequence[str]) -> Tuple[str, Tuple[str, ...]]:
        params = {p.name: p for p in route.fact.params}
        culprits: List[str] = []
        trusted = False
        for source in sources:
            if source.startswith(PARAM) and source[len(PARAM):] in params:
                param = params[source[len(PARAM):]]
                role = self.param_role(route.facts, param)
                if role == "auth":
                    trusted = True
                elif role == "input":
                    word = _INPUT_WORDS.get(param.source, param.source)
                    culprits.append(f"the {word} `{param.name}`"
                                    + (f" ({param.header})" if param.header else ""))
            elif source == FLASK_REQUEST:
                culprits.append("flask's `request`")
            elif source == AUTH_GLOBAL:
                trusted = True
        if culprits:
            return "request", tuple(culprits)
        return ("auth" if trusted else "unknown"), ()

    def tenant_values(self, route: Route) -> List[TenantValue]:
        """Tenant values of the DB calls and wrapper calls inside the handler."""
        found: List[TenantValue] = []
        fact = route.fact
        for value in fact.tenant_values:
            verdict, culprits = ("auth", ()) if value.checked \
                else self.verdict(route, value.sources)
            found.append(TenantValue(route, value.span, verdict, culprits,
                                     f"{value.method} on '{value.table}'", value.expression,
                                     fact.qualname))
        for site in self.sites(route.facts, fact.qualname):
            for wrapper in self.project.resolve_call(route.facts, site):
                sources = _argument_sources(site, wrapper)
                if sources is None:
                    continue
                verdict, culprits = ("auth", ()) if _member_checked(site, wrapper) \
                    else self.verdict(route, sources)
                found.append(TenantValue(
                    route, site.span, verdict, culprits,
                    f"`{wrapper.qualname}`'s `{wrapper.param}` argument (scopes "
                    f"'{wrapper.table}')", "", fact.qualname, site.snippet,
                    site.statement_line))
            for param, call, sources in passed_tenant_values(self.project, route.facts, site):
                verdict, culprits = self.verdict(route, sources)
                what = "row" if call.operation == "insert" else "filter"
                found.append(TenantValue(
                    route, site.span, verdict, culprits,
                    f"the {what} passed as `{param.qualname}`'s `{param.param}` "
                    f"({call.method} on '{call.table}')", "", fact.qualname, site.snippet,
                    site.statement_line))
        return found

    def sites(self, facts: FileFacts, qualname: str) -> List[CallSite]:
        """Call sites inside the function `qualname` of `facts`' module."""
        return self._sites.get((facts.path, qualname), [])

    def auth_params(self, route: Route) -> List[str]:
        return [p.name for p in route.fact.params
                if self.param_role(route.facts, p) == "auth"]

    # -- privileged clients ----------------------------------------------------------
    def privileged_uses(self, facts: FileFacts, qualname: str) -> List[PrivilegedUse]:
        routes = routes_of(facts)
        found = []
        for use in routes.privileged.get(qualname, ()):
            if use.kind == "import":
                target = self.resolve(facts, use.name)
                if target is None or target[1] not in routes_of(
                        self.modules[target[0]]).privileged_globals:
                    continue
            found.append(use)
        return found

    def callee_units(self, facts: FileFacts, site: CallSite) -> List[Tuple[FileFacts, str]]:
        """The project function a call site runs, when known (for one-level-down
        checks): (its module's facts, its qualified name)."""
        target = self.resolver.callee(facts, site.callee)
        return [(self.modules[target.module], target.qualname)] if target else []


def _argument_sources(site: CallSite, wrapper: WrapperSummary) -> Optional[List[str]]:
    if wrapper.param in site.keywords:
        key = wrapper.param
    elif site.positional > wrapper.index and not site.has_star:  # `*args` shifts positions
        key = str(wrapper.index)
    else:
        return None
    tokens = site.provenance.get(key)
    return tokens.split("|") if tokens else None


def _member_checked(site: CallSite, wrapper: WrapperSummary) -> bool:
    """The caller's membership in the organization this argument names was
    checked by a `scoping-helpers` call before the call (`CallSite.verified`)."""
    key = wrapper.param if wrapper.param in site.keywords else str(wrapper.index)
    return "@member" in site.verified.get(key, ())


_EMPTY = ModuleRoutes()


def routes_of(facts: FileFacts) -> ModuleRoutes:
    return facts.routes or _EMPTY


_TABLES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def route_table(project) -> RouteTable:
    table = _TABLES.get(project)
    if table is None:
        table = RouteTable(project)
        _TABLES[project] = table
    return table


def route_summaries(project) -> List[dict]:
    """Plain dicts for `RunResult.routes` (the report's route table)."""
    table = route_table(project)
    summaries = []
    for route in table.routes:
        values = table.tenant_values(route)
        verdicts = {v.verdict for v in values}
        source = next((v for v in ("request", "auth", "unknown") if v in verdicts), None)
        calls = [{"line": c.line, "table": c.table, "operation": c.operation,
                  "outcome": c.outcome}
                 for c in route.facts.db_calls if c.symbol == route.fact.qualname]
        summaries.append({
            "methods": list(route.fact.methods), "path": route.path,
            "handler": route.fact.qualname, "module": route.facts.module,
            "file": route.facts.path, "line": route.fact.span.line,
            "auth": list(route.auth or ()), "public": route.public,
            "mounted": route.mount.mounted,
            "tenant_source": source, "db_calls": calls})
    return sorted(summaries, key=lambda s: (s["path"], s["methods"]))
