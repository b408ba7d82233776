"""Per-file route facts: plain, picklable data (no libcst) that the route
analysis of one file leaves in `FileFacts.routes` for the project
stage, where routers are joined across modules into full paths.

Names of routers and dependencies are kept *as written* in their module
(`router`, `agents.router`, `get_current_user`): only the project stage,
which sees every module's imports, can tell what they refer to.
"""
from __future__ import annotations

import fnmatch

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .model import Span

# Provenance tokens: where a tenant value can come from (see analysis/provenance.py).
PARAM = "param:"          # a parameter of the enclosing function ("param:data")
FLASK_REQUEST = "flask-request"  # flask's global `request` (body, args, headers)
REQUEST_STATE = "request-state"  # `request.state.x` / flask `g.x`: set by middleware
AUTH_GLOBAL = "auth-global"  # flask_login's `current_user`: the authenticated user
CONSTANT = "constant"
OPAQUE = "opaque"          # a call result, a global: the tool cannot tell

# Wraps a prefix or path written as an expression (`prefix=settings.API_V1_STR`),
# looked up at project level; shown as `{settings.API_V1_STR}` when unknown.
EXPRESSION = "\x00"


@dataclass(frozen=True)
class RouterFact:
    """`name = APIRouter(prefix=..., dependencies=[...])` (or FastAPI, Blueprint, Flask)."""

    name: str
    kind: str  # fastapi | flask
    prefix: str
    dependencies: Tuple[str, ...]
    app: bool = False  # FastAPI(...) / Flask(...): a root, served as it is


@dataclass(frozen=True)
class IncludeFact:
    """`parent.include_router(child, prefix=..., dependencies=[...])`,
    `parent.register_blueprint(child, url_prefix=...)` or `parent.mount(path, child)`."""

    parent: str
    child: str
    prefix: Optional[str]
    dependencies: Tuple[str, ...]
    replaces_prefix: bool  # flask: url_prefix= replaces the blueprint's own


@dataclass(frozen=True)
class HookFact:
    """`@bp.before_request def require_login(): ...` or `bp.before_request(fn)`:
    a Flask hook that runs before every route of the blueprint (or, app-wide,
    before every route of the app: `app.before_request`, `bp.before_app_request`)."""

    router: str  # as written (`bp`, `create_app.app`)
    function: str  # the hook: a qualname in this module, or a name as written
    app_wide: bool  # before_app_request: every route of the app it is registered on
    kind: str  # before_request | before_app_request
    calls: Tuple[str, ...]  # functions the hook calls, as written

    @property
    def label(self) -> str:
        return f"{self.router.rsplit('.', 1)[-1]}.{self.kind}({self.function.rsplit('.', 1)[-1]})"


@dataclass(frozen=True)
class ResourceMethod:
    """An HTTP method of a Resource-like class (`def get(self, report_id)`)."""

    method: str  # get | post | ...
    span: Span  # its name
    decorators: Tuple[str, ...]  # its own, the class's method_decorators for it included
    params: Tuple[str, ...]  # without self


@dataclass(frozen=True)
class ResourceClass:
    """A class defining HTTP methods, for registrations in other modules
    (`api.add_resource(ReportResource, "/reports")` where ReportResource is imported)."""

    bases: Tuple[str, ...]  # as written
    decorators: Tuple[str, ...]  # class-level `method_decorators` / `decorators`, class decorators
    methods: Tuple[ResourceMethod, ...]


@dataclass(frozen=True)
class ResourceRegistration:
    """`api.add_resource(Imported, "/a", "/b")` (or a project's `add_org_resource`)."""

    router: str  # as written
    resource: str  # the class, as written
    paths: Tuple[str, ...]


@dataclass(frozen=True)
class ParamFact:
    """A route handler parameter and what the framework binds to it."""

    name: str
    # dependency | path | query | header | cookie | body | form | file | request | framework
    source: str
    # the dependency as written (`get_current_user`); "@Name" is an annotation
    # that may be an `Annotated[..., Depends(x)]` alias (resolved at project level)
    dependency: Optional[str]
    header: Optional[str]  # the HTTP header name for header parameters
    used: bool  # referenced in the handler body (only computed for tenant headers)
    span: Span


@dataclass(frozen=True)
class TenantValueFact:
    """The tenant key value a DB call (or a wrapper argument) receives inside a
    route handler, traced back to its sources."""

    span: Span
    sources: Tuple[str, ...]
    expression: str  # source text of the value, for messages
    table: Optional[str]
    method: str
    tenant_key: str
    # the `scoping-helpers` call that checked the caller's membership in this
    # organization first: a trusted tenant value, wherever it came from
    checked: str = ""


@dataclass(frozen=True)
class PrivilegedUse:
    """A privileged (RLS-bypassing) client constructed, called or used."""

    span: Span
    name: str
    kind: str  # call | global | import | dependency


@dataclass
class RouteFact:
    qualname: str
    router: str  # as written in the decorator (`router`, `api.router`)
    methods: Tuple[str, ...]
    path: str
    kind: str  # fastapi | flask
    span: Span  # the route decorator, or the `add_api_route(...)` call
    dependencies: Tuple[str, ...]  # decorator `dependencies=[...]`
    decorators: Tuple[str, ...]  # every other decorator (Flask auth decorators)
    params: Tuple[ParamFact, ...]
    tenant_values: Tuple[TenantValueFact, ...] = ()


@dataclass
class ModuleRoutes:
    routers: Dict[str, RouterFact] = field(default_factory=dict)
    includes: List[IncludeFact] = field(default_factory=list)
    routes: List[RouteFact] = field(default_factory=list)
    # function or class -> the dependencies its own parameters declare ("@Name"
    # as above)
    # (`Class` for `__init__`, `Class.__call__` for callable instances)
    dependencies: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    # module-level `CurrentUser = Annotated[dict, Depends(get_current_user)]`
    aliases: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    # module-level names bound to a privileged client (`admin_db = DatabaseAdminService()`)
    privileged_globals: Tuple[str, ...] = ()
    # function qualname -> privileged clients it constructs, calls or uses
    privileged: Dict[str, List[PrivilegedUse]] = field(default_factory=dict)
    # function -> its tenant header parameters (a dependency reading x-org-id)
    tenant_headers: Dict[str, Tuple[ParamFact, ...]] = field(default_factory=dict)
    # module-level string constants, and string attributes of classes
    # (`class Settings: API_V1_STR: str = "/api/v1"`), for prefixes written as names
    constants: Dict[str, str] = field(default_factory=dict)
    class_constants: Dict[str, Dict[str, str]] = field(default_factory=dict)
    # Flask before_request hooks, and functions that turn unauthenticated callers
    # away (qualname -> evidence: "abort(401)"), see analysis/routes_flask_hooks.py
    hooks: List[HookFact] = field(default_factory=list)
    guards: Dict[str, str] = field(default_factory=dict)
    # Resource-like classes and registrations of classes from other modules
    # (joined at project level, analysis/routes_flask_resources.py)
    resource_classes: Dict[str, ResourceClass] = field(default_factory=dict)
    registrations: List[ResourceRegistration] = field(default_factory=list)
    # function (or `Class.__call__`) -> why it may return None: optional auth,
    # which never authenticates a route (`analysis/optional_auth.py`)
    optional: Dict[str, str] = field(default_factory=dict)


def is_tenant_header(header: Optional[str], patterns) -> bool:
    """Does a header name match one of the configured tenant-header patterns?"""
    return header is not None and any(fnmatch.fnmatchcase(header, p.lower()) for p in patterns)
