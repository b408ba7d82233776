"""Route handlers and tenant provenance: ORG201–ORG204.

Each file's route facts are gathered per file (`analysis/routes.py`); the
rules judge them at project level, where routers, prefixes and auth
dependencies are joined across modules (`routing.py`). Every message names the
route's method and full path.
"""
from __future__ import annotations

from typing import List

from ..facts import RawFinding
from ..route_facts import is_tenant_header
from ..routing import Route, route_table, routes_of
from .base import Example, Rule

_AUTH = """
from fastapi import Depends, HTTPException, Request

from app.core.database import DatabaseAdminService, DatabaseService, db, get_admin_db
from app.core.security import bearer, get_supabase_admin_client, verify

async def get_current_user(token: str = Depends(bearer)) -> dict:
    return verify(token)

async def require_admin_role(current_user: dict = Depends(get_current_user)) -> dict:
    if current_user.get("org_role") != "admin":
        raise HTTPException(status_code=403)
    return current_user
"""


class _RouteRule(Rule):
    """A rule over the project's routes (the route analysis always runs)."""


def _label(routes: List[Route]) -> str:
    more = f" (and {len(routes) - 1} more)" if len(routes) > 1 else ""
    return routes[0].label + more


class UnauthenticatedRoute(_RouteRule):
    """Route handler with no auth dependency that is not declared public.

    ## What it does
    Finds every FastAPI route (`@router.get/post/put/patch/delete/head/options/
    api_route/websocket` on an object constructed as `APIRouter(...)` or
    `FastAPI(...)`, or `add_api_route`) and every Flask route (`@bp.route`,
    `@app.get`, `add_url_rule`, ...), works out its full path through
    `APIRouter(prefix=)`, `include_router(prefix=)` and `mount` across modules, and checks that an auth dependency reaches it: a parameter
    `Depends(x)` / `Security(x)` / `Annotated[..., Depends(x)]`, the decorator's
    `dependencies=[...]`, `APIRouter(dependencies=[...])` or
    `include_router(..., dependencies=[...])` anywhere above it, or an auth
    decorator (`auth-decorators`, e.g. Flask-Login's `login_required`). Auth dependencies are `auth-dependencies` and every project
    function whose own parameters depend on one (`require_admin_role`
    depending on `get_current_user`). A dependency that may return `None`
    instead of a caller (`get_optional_current_user`: a value on one path and
    `None` on another, or a return type admitting `None` on one that never
    raises) is optional auth and authenticates nothing, even when listed or
    depending on `get_current_user`: the message says the only auth is
    optional.

    ## Why is this bad?
    Without a verified token there is no organization to scope by: the
    handler either serves every organization's data or trusts what the
    client says.

    ## Example
    ```python
    @router.get("/calls/{call_id}")
    async def get_call(call_id: str):
        ...
    ```

    ## Use instead
    ```python
    @router.get("/calls/{call_id}")
    async def get_call(call_id: str, current_user: dict = Depends(get_current_user)):
        ...
    ```
    Routes that are public on purpose (health checks, signed webhooks) go in
    `public-routes`, e.g. `["GET /health", "/webhooks/*"]`.
    Routes of a router that no application (`FastAPI()`, `Flask()`) includes
    are unreachable: they are listed as "not mounted" and not reported (unless
    some include names its router in a way the tool cannot follow, such as a
    loop over a list; then every route counts as mounted).

    ## Options
    `auth-dependencies`, `auth-decorators`, `public-routes`.
    """

    code = "ORG201"
    name = "unauthenticated-route"
    VALID = (
        _AUTH + """
from fastapi import APIRouter

router = APIRouter(prefix="/calls")

@router.get("/{call_id}")
async def get_call(call_id: str, current_user: dict = Depends(get_current_user)):
    return call_id

@router.delete("/{call_id}")
async def delete_call(call_id: str, admin: dict = Depends(require_admin_role)):
    return call_id
""",
        Example("""
from typing import Annotated
from fastapi import APIRouter, Depends, Security

from app.auth import get_current_user

CurrentUser = Annotated[dict, Depends(get_current_user)]
router = APIRouter()

@router.get("/a")
async def a(user: CurrentUser):
    return user

@router.get("/b")
async def b(user: Annotated[dict, Security(get_current_user)]):
    return user

@router.get("/c", dependencies=[Depends(get_current_user)])
async def c():
    return 1
""", files={"app/auth.py": "def get_current_user():\n    return {}\n"}),
        Example("""
from fastapi import FastAPI

app = FastAPI()

@app.get("/health")
async def health():
    return {"ok": True}

@app.post("/webhooks/clerk")
async def clerk_webhook():
    return {}
""", config={"public-routes": ["GET /health", "/webhooks/*"]}),
        Example("""
from fastapi import Depends, FastAPI

from app.api import router
from app.auth import get_current_user

app = FastAPI()
app.include_router(router, prefix="/api", dependencies=[Depends(get_current_user)])
""", path="app/main.py", files={
            "app/api.py": ("from fastapi import APIRouter\n\nrouter = APIRouter()\n\n"
                           "@router.get('/streams/calls/{call_id}')\n"
                           "async def stream(call_id: str):\n    return call_id\n"),
            "app/auth.py": "def get_current_user():\n    return {}\n"}),
        Example("""
from flask import Blueprint
from flask_login import login_required

bp = Blueprint("calls", __name__, url_prefix="/calls")

@bp.route("/<call_id>")
@login_required
def get_call(call_id):
    return call_id
"""),
        # a router no application includes serves nothing: "not mounted" in the report
        Example("""
from fastapi import FastAPI

app = FastAPI()
""", path="app/main.py", files={
            "app/legacy.py": ("from fastapi import APIRouter\n\nrouter = APIRouter()\n\n"
                              "@router.get('/')\nasync def old_index():\n    return {}\n")}),
        # an optional dependency next to one that refuses: authenticated
        Example("""
from typing import Optional
from fastapi import APIRouter, Depends, Header

from app.auth import get_current_user

router = APIRouter()

async def get_optional_current_user(authorization: Optional[str] = Header(None)):
    if not authorization:
        return None
    return {"token": authorization}

@router.get("/feed", dependencies=[Depends(get_current_user)])
async def feed(viewer: Optional[dict] = Depends(get_optional_current_user)):
    return viewer
""", files={"app/auth.py": "def get_current_user():\n    return {}\n"}),
    )
    INVALID = (
        """
from fastapi import APIRouter

router = APIRouter(prefix="/calls")

@router.get("/{call_id}")  # expect: ORG201
async def get_call(call_id: str):
    return call_id
""",
        Example("""
from fastapi import FastAPI

from app.api import router

app = FastAPI()
app.include_router(router, prefix="/api")
""", path="app/main.py", files={
            "app/api.py": ("from fastapi import APIRouter\n\nrouter = APIRouter()\n\n"
                           "@router.get('/streams/calls/{call_id}')  # expect: ORG201\n"
                           "async def stream(call_id: str):\n    return call_id\n")}),
        Example("""
from fastapi import Depends, FastAPI

app = FastAPI()

def get_settings():
    return {}

@app.api_route("/health", methods=["GET", "POST"])  # expect: ORG201
async def health(settings: dict = Depends(get_settings)):
    return {"ok": True}
""", config={"public-routes": ["GET /healthz"]}),
        """
from flask import Flask

app = Flask(__name__)

@app.route("/calls/<call_id>", methods=["DELETE"])  # expect: ORG201
def delete_call(call_id):
    return call_id
""",
        # the only auth is optional (it may return None): listed by name, or
        # reaching the configured `get_current_user`, it still lets anonymous
        # callers in
        Example("""
from typing import Optional
from fastapi import APIRouter, Depends, Header, HTTPException

from app.auth import get_current_user

router = APIRouter()

async def get_optional_current_user(authorization: Optional[str] = Header(None)):
    if not authorization:
        return None
    return {"token": authorization}

async def maybe_member(user: dict = Depends(get_current_user)) -> Optional[dict]:
    return user if user.get("org") else None

@router.get("/calls/{call_id}")  # expect: ORG201
async def get_call(call_id: str, viewer=Depends(get_optional_current_user)):
    return call_id

@router.get("/agents/{agent_id}")  # expect: ORG201
async def get_agent(agent_id: str, member=Depends(maybe_member)):
    return agent_id
""", config={"auth-dependencies": ["get_current_user", "get_optional_current_user"]},
            files={"app/auth.py": "def get_current_user():\n    return {}\n"}),
    )

    def check_project(self, project, emit) -> None:
        table = route_table(project)
        for routes in table.by_handler.values():
            exposed = [r for r in routes if r.auth is None and r.public is None
                       and r.mount.mounted]
            if not exposed:
                continue
            route = exposed[0]
            configured = project.config.auth_dependencies
            fix = (f"`Depends({configured[0]})`" if configured and route.fact.kind == "fastapi"
                   else "an auth dependency" if route.fact.kind == "fastapi"
                   else "an auth decorator (or a before_request hook that aborts 401)")
            if route.optional:
                dependency, why = route.optional
                message = (f"{_label(exposed)} ({route.fact.qualname}): its only auth, "
                           f"`{dependency}`, is optional ({why}), so the route also runs "
                           f"for anonymous callers: add {fix} or list it in public-routes")
            else:
                message = (f"{_label(exposed)} ({route.fact.qualname}) has no auth "
                           f"dependency: add {fix} or list it in public-routes")
            emit(route.facts.path, RawFinding(self.code, route.fact.span, message,
                                              symbol=route.fact.qualname, operation="route"))


class TenantFromRequest(_RouteRule):
    """Tenant id taken from request input instead of the auth context.

    ## What it does
    Traces the tenant key value of every DB call inside a route handler (and
    the tenant argument of every call to a scoping wrapper such as
    `get_call(call_id, org_id=...)`) back to where it came from. The auth
    dependency's result (`current_user["clerk_org_id"]`,
    `current_user.get(...)`, attributes of an auth object, Flask-Login's
    `current_user`) is trusted. Path, query, header, cookie and body
    parameters, `request.json()`, `request.headers`, body model attributes
    and `data.get(...)` are not. `request.state` (set by middleware) and
    opaque values (call results, globals) are never flagged. `a or b` and `a if c else b` are untrusted when an untrusted operand can
    be the result. Functions that are not routes trust their parameters: the
    calls to them from handlers are checked instead. Public routes (signed
    webhooks) are not checked: the payload is all they have.

    ## Why is this bad?
    Whoever sends the request chooses the organization: any signed-in user
    can read or write another organization's rows by sending its id.

    ## Example
    ```python
    clerk_org_id = data.get("clerk_org_id") or current_user.get("clerk_org_id")
    db.insert("agents", {"name": data["name"], "clerk_org_id": clerk_org_id})
    ```

    ## Use instead
    ```python
    clerk_org_id = current_user["clerk_org_id"]
    db.insert("agents", {"name": data["name"], "clerk_org_id": clerk_org_id})
    ```
    """

    code = "ORG202"
    name = "tenant-from-request"
    VALID = (
        _AUTH + """
from fastapi import APIRouter

router = APIRouter()

@router.post("/agents")
async def create_agent(data: dict, current_user: dict = Depends(get_current_user)):
    org = current_user.get("clerk_org_id") or current_user["user_id"]
    return db.insert("agents", {"name": data["name"], "clerk_org_id": org})

@router.get("/calls/{call_id}")
async def get_call(call_id: str, current_user: dict = Depends(require_admin_role)):
    return db.get_call(call_id, org_id=current_user["clerk_org_id"])
""",
        Example(_AUTH + """
from fastapi import APIRouter

router = APIRouter()

def load(db, org_id):
    return db.select("calls", {"clerk_org_id": org_id})

@router.get("/calls")
async def list_calls(request: Request, current_user: dict = Depends(get_current_user)):
    state_org = request.state.org_id
    db.select("calls", {"clerk_org_id": state_org})
    return load(db, current_user["clerk_org_id"])
"""),
        # a membership check of the caller in the path's organization (`scoping-helpers`)
        Example(_AUTH + """
from fastapi import APIRouter
from app.access import require_member

router = APIRouter()

@router.get("/orgs/{org_id}/calls")
async def org_calls(org_id: str, current_user: dict = Depends(get_current_user)):
    require_member(org_id, current_user["user_id"])
    return db.select("calls", {"clerk_org_id": org_id})
""", config={"scoping-helpers": ["require_member"]}),
    )
    INVALID = (
        _AUTH + """
from fastapi import APIRouter

router = APIRouter()

@router.post("/agents")
async def create_agent(data: dict, current_user: dict = Depends(get_current_user)):
    clerk_org_id = data.get("clerk_org_id") or current_user.get("clerk_org_id")
    return db.insert("agents", {"name": data["name"], "clerk_org_id": clerk_org_id})  # expect: ORG202

@router.get("/calls")
async def list_calls(org: str, current_user: dict = Depends(get_current_user)):
    org_id = current_user["clerk_org_id"] if not org else org
    return db.select("calls", {"clerk_org_id": org_id})  # expect: ORG202

@router.get("/agents/{agent_id}")
async def get_agent(agent_id: str, request: Request, current_user: dict = Depends(get_current_user)):
    body = await request.json()
    return db.select_one("agents", {"id": agent_id, "clerk_org_id": str(body["org"])})  # expect: ORG202
""",
        _AUTH + """
from fastapi import APIRouter, Header

router = APIRouter()

def load(db, call_id, org_id=None):
    return db.select_one("calls", {"id": call_id, "clerk_org_id": org_id})

@router.get("/calls/{call_id}")
async def get_call(
    call_id: str,
    x_client_id: str = Header(...),  # expect: ORG203
    current_user: dict = Depends(get_current_user),
):
    return load(db, call_id, org_id=x_client_id)  # expect: ORG202
""",
        """
from flask import Blueprint, request
from flask_login import login_required

from app.db import db

bp = Blueprint("agents", __name__)

@bp.post("/agents")
@login_required
def create_agent():
    payload = request.get_json()
    return db.insert("agents", {"name": payload["name"], "clerk_org_id": payload["org"]})  # expect: ORG202
""",
        # the membership check was of another organization
        Example(_AUTH + """
from fastapi import APIRouter
from app.access import require_member

router = APIRouter()

@router.get("/orgs/{org_id}/calls")
async def org_calls(org_id: str, team: str, current_user: dict = Depends(get_current_user)):
    require_member(team, current_user["user_id"])
    return db.select("calls", {"clerk_org_id": org_id})  # expect: ORG202
""", config={"scoping-helpers": ["require_member"]}),
    )

    def check_project(self, project, emit) -> None:
        table = route_table(project)
        for routes in table.by_handler.values():
            if all(r.public for r in routes):
                continue  # signed webhooks: the payload is all there is
            auth = table.auth_params(routes[0])
            use = f"`{auth[0]}` (the auth dependency)" if auth else "the auth dependency"
            for value in table.tenant_values(routes[0]):
                if value.verdict != "request":
                    continue
                source = " or ".join(value.culprits)
                # a bare parameter name adds nothing to "the query parameter `org`"
                via = f" (`{value.expression}`)" if value.expression and \
                    not value.expression.isidentifier() else ""
                emit(value.route.facts.path, RawFinding(
                    self.code, value.span,
                    f"{_label(routes)}: the tenant id for {value.what} comes from {source}"
                    f"{via}: take it from {use} instead",
                    symbol=value.symbol, operation="route", snippet=value.snippet,
                    statement_line=value.statement_line))


class ClientTenantHeader(_RouteRule):
    """Route (or a dependency it uses) declares a tenant-identifying header parameter.

    ## What it does
    Flags route parameters bound to a header that names an organization
    (`Header(...)`, with its alias or parameter name matching `tenant-headers`:
    `x-client-id`, `x-org-id`, `x-tenant-id`, `x-organization-id`,
    `x-workspace-id`), and such parameters of a dependency the routes use
    (directly, through another dependency, a router or an include). An unused one is dead weight that invites misuse; a used
    one lets the client pick the organization (and is ORG202 where it reaches
    a query).

    ## Why is this bad?
    The organization must come from the verified token. A header is whatever
    the client sends.

    ## Example
    ```python
    @router.get("/agents")
    async def list_agents(x_client_id: Optional[str] = Header(None),
                          current_user: dict = Depends(get_current_user)):
        ...
    ```

    ## Use instead
    ```python
    @router.get("/agents")
    async def list_agents(current_user: dict = Depends(get_current_user)):
        ...
    ```

    ## Options
    `tenant-headers` (globs, case-insensitive).
    """

    code = "ORG203"
    name = "client-tenant-header"
    severity = "warning"
    security_severity = "5.0"
    VALID = (
        _AUTH + """
from typing import Optional
from fastapi import APIRouter, Header

router = APIRouter()

@router.get("/agents")
async def list_agents(
    x_request_id: Optional[str] = Header(None),
    current_user: dict = Depends(get_current_user),
):
    return x_request_id
""",
    )
    INVALID = (
        _AUTH + """
from typing import Annotated, Optional
from fastapi import APIRouter, Header

router = APIRouter()

@router.get("/agents")
async def list_agents(
    x_client_id: Optional[str] = Header(None),  # expect: ORG203
    current_user: dict = Depends(get_current_user),
):
    return []

@router.get("/calls")
async def list_calls(
    org: Annotated[str, Header(alias="X-Org-Id")],  # expect: ORG203
    current_user: dict = Depends(get_current_user),
):
    return []
""",
        Example(_AUTH + """
from fastapi import APIRouter, Header

router = APIRouter()

@router.get("/agents")
async def list_agents(
    x_account: str = Header(...),  # expect: ORG203
    current_user: dict = Depends(get_current_user),
):
    return []
""", config={"tenant-headers": ["x-account*"]}),
        Example("""
from fastapi import APIRouter, Depends

from app.deps import get_active_org

router = APIRouter(dependencies=[Depends(get_active_org)])

@router.get("/agents")
async def list_agents():
    return []
""", files={"app/deps.py": _AUTH + """
from fastapi import Header

async def get_active_org(
    x_org_id: str = Header(None),  # expect: ORG203
    current_user: dict = Depends(get_current_user),
):
    return x_org_id or current_user["clerk_org_id"]
"""}),
    )

    def check_project(self, project, emit) -> None:
        table = route_table(project)
        patterns = project.config.tenant_headers
        for routes in table.by_handler.values():
            route = routes[0]
            for param in route.fact.params:
                if param.source == "header" and is_tenant_header(param.header, patterns):
                    emit(route.facts.path, self._finding(param, _label(routes),
                                                         route.fact.qualname))
        # dependencies that read the header on behalf of the routes using them
        for (module, name), routes in table.dependency_users().items():
            facts = project.modules[module]
            for param in routes_of(facts).tenant_headers.get(name, ()):
                emit(facts.path, self._finding(
                    param, f"{_label(routes)} (through the dependency `{name}`)", name))

    def _finding(self, param, label: str, symbol: str) -> RawFinding:
        advice = ("and uses it: take the organization from the token instead" if param.used
                  else "but never uses it: remove it, the organization comes from the token")
        return RawFinding(self.code, param.span,
                          f"{label} reads the tenant header `{param.header}` into "
                          f"`{param.name}` {advice}", symbol=symbol, operation="route")


class PrivilegedClientInRoute(_RouteRule):
    """Admin / service-role client used in an authenticated user route.

    ## What it does
    Flags `privileged-clients` (classes or factories such as
    `DatabaseAdminService`, `get_supabase_admin_client`) constructed or called
    in an authenticated route handler, injected into it with `Depends(...)`,
    used through a module-level instance, or used by a project function the
    handler calls (one level down). Code in a system context is exempt.

    ## Why is this bad?
    The service-role client bypasses row-level security: the application code
    is then the only thing standing between one organization and another's
    data, and a single missing filter leaks everything.

    ## Example
    ```python
    @router.get("/agents")
    async def list_agents(current_user: dict = Depends(get_current_user)):
        return DatabaseAdminService().select("agents", {"clerk_org_id": ...})
    ```

    ## Use instead
    ```python
    @router.get("/agents")
    async def list_agents(current_user: dict = Depends(get_current_user)):
        return DatabaseService().select("agents", {"clerk_org_id": ...})
    ```

    ## Options
    `privileged-clients`, `system-contexts`.
    """

    code = "ORG204"
    name = "privileged-client-in-route"
    VALID = (
        Example(_AUTH + """
from fastapi import APIRouter

router = APIRouter()
admin_db = DatabaseAdminService()

@router.get("/agents")
async def list_agents(current_user: dict = Depends(get_current_user)):
    return DatabaseService().select("agents", {"clerk_org_id": current_user["clerk_org_id"]})

@router.post("/webhooks/clerk")
async def clerk_webhook(event: dict):
    return admin_db.insert("clients", {"clerk_org_id": event["org"]})
""", config={"public-routes": ["/webhooks/*"]}),
        Example(_AUTH + """
from fastapi import APIRouter

router = APIRouter()

@router.post("/internal/sync")
async def sync(current_user: dict = Depends(get_current_user)):
    return DatabaseAdminService().count("agents", {"clerk_org_id": current_user["clerk_org_id"]})  # expect-accepted: ORG204
""", path="app/api/internal.py", config={"system-contexts": [
            {"paths": ["app/api/internal.py"], "reason": "internal service route"}]}),
    )
    INVALID = (
        _AUTH + """
from fastapi import APIRouter

router = APIRouter()
admin_db = DatabaseAdminService()

def _usage(org):
    client = get_supabase_admin_client()
    return client

@router.get("/agents")
async def list_agents(current_user: dict = Depends(get_current_user)):
    db = DatabaseAdminService()  # expect: ORG204
    return db.select("agents", {"clerk_org_id": current_user["clerk_org_id"]})

@router.get("/agents/count")
async def count_agents(current_user: dict = Depends(get_current_user)):
    return admin_db.count("agents", {"clerk_org_id": current_user["clerk_org_id"]})  # expect: ORG204

@router.get("/usage")
async def usage(current_user: dict = Depends(get_current_user)):
    return _usage(current_user["clerk_org_id"])  # expect: ORG204

@router.get("/agents/{agent_id}")
async def get_agent(
    agent_id: str,
    current_user: dict = Depends(get_current_user),
    admin=Depends(get_admin_db),  # expect: ORG204
):
    return agent_id
""",
        Example(_AUTH + """
from fastapi import APIRouter

from app.services.admin import admin_db

router = APIRouter()

@router.get("/agents")
async def list_agents(current_user: dict = Depends(get_current_user)):
    return admin_db.select("agents", {"clerk_org_id": current_user["clerk_org_id"]})  # expect: ORG204
""", files={"app/services/admin.py": (
            "from app.core.database import DatabaseAdminService\n\n"
            "admin_db = DatabaseAdminService()\n")}),
    )

    def check_project(self, project, emit) -> None:
        table = route_table(project)
        privileged = set(project.config.privileged_clients)
        for routes in table.by_handler.values():
            authenticated = [r for r in routes if r.auth]
            if not authenticated:
                continue
            route = authenticated[0]
            seen = set()
            for span, message, snippet, statement_line in _privileged_in(table, route,
                                                                         privileged):
                if (span.line, span.column) in seen:
                    continue
                seen.add((span.line, span.column))
                emit(route.facts.path, RawFinding(
                    self.code, span, f"{_label(authenticated)}: {message}",
                    symbol=route.fact.qualname, operation="route", snippet=snippet,
                    statement_line=statement_line))


def _privileged_in(table, route: Route, privileged):
    """(span, message, snippet, statement line) of each privileged client the
    handler uses: itself, through a dependency, or one call down."""
    facts, qualname = route.facts, route.fact.qualname
    for use in table.privileged_uses(facts, qualname):
        yield (use.span, f"uses the privileged client `{use.name}` (bypasses RLS) in a user "
                         "route: use the user-scoped client", "", None)
    for param in route.fact.params:
        dependency = param.dependency or ""
        if dependency.rsplit(".", 1)[-1] in privileged:
            yield (param.span, f"injects the privileged client `{dependency}` (bypasses RLS) "
                               "into a user route: depend on the user-scoped client", "", None)
    for site in table.sites(facts, qualname):
        for owner, unit in table.callee_units(facts, site):
            uses = table.privileged_uses(owner, unit)
            if uses:
                yield (site.span, f"calls `{unit}`, which uses the privileged client "
                                  f"`{uses[0].name}` (bypasses RLS): pass it the user-scoped "
                                  "client", site.snippet, site.statement_line)
                break


__all__ = ["UnauthenticatedRoute", "TenantFromRequest", "ClientTenantHeader",
           "PrivilegedClientInRoute"]
