"""Route discovery, full paths across modules, transitive auth, public routes,
tenant provenance and the route summary on `RunResult.routes`."""
import json
import pickle
from pathlib import Path
from textwrap import dedent, indent

import pytest

from orgscope_lint.config import load_config
from orgscope_lint.engine import Options, run
from orgscope_lint.report import renderer
from orgscope_lint.route_facts import ModuleRoutes
from orgscope_lint.testing import config_from, found, run_sources

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "sample_backend"

AUTH = dedent("""
    from fastapi import Depends, HTTPException

    def get_current_user():
        return {}

    def require_admin_role(current_user: dict = Depends(get_current_user)):
        if current_user.get("org_role") != "admin":
            raise HTTPException(status_code=403)
        return current_user
""")

STREAMS = dedent("""
    from fastapi import APIRouter

    router = APIRouter(prefix="/streams")

    @router.get("/calls/{call_id}")
    async def stream_call(call_id: str):
        return call_id
""")


def _run(sources, **config):
    result = run_sources({k: dedent(v) for k, v in sources.items()}, config_from(config))
    assert not result.internal_errors, result.internal_errors
    assert not [f for f in result.findings if f.rule == "ORG001"], "example does not parse"
    return result


def _codes(result, code):
    return [f for f in result.findings if f.rule == code and not f.suppressed]


def _paths(result):
    return sorted((tuple(r["methods"]), r["path"]) for r in result.routes)


# -- done-when: include_router dependencies in another module ------------------------

def _three_modules(include_deps: str):
    return {
        "app/core/auth.py": AUTH,
        "app/api/v1/streams.py": STREAMS,
        "app/api/v1/__init__.py": f"""
            from fastapi import APIRouter, Depends

            from app.api.v1 import streams
            from app.core.auth import get_current_user

            api_router = APIRouter()
            api_router.include_router(streams.router{include_deps})
        """,
        "app/main.py": """
            from fastapi import FastAPI

            from app.api.v1 import api_router

            app = FastAPI()
            app.include_router(api_router, prefix="/api/v1")
        """,
    }


def test_route_protected_only_by_include_router_dependencies_is_not_flagged():
    result = _run(_three_modules(", dependencies=[Depends(get_current_user)]"))
    assert _codes(result, "ORG201") == []
    [route] = result.routes
    assert route["path"] == "/api/v1/streams/calls/{call_id}"
    assert route["auth"] == ["get_current_user"]


def test_the_same_route_without_include_dependencies_is_flagged_with_its_full_path():
    result = _run(_three_modules(""))
    [finding] = _codes(result, "ORG201")
    assert finding.path == "app/api/v1/streams.py"
    assert finding.line == 6
    assert "GET /api/v1/streams/calls/{call_id}" in finding.message
    assert finding.symbol == "stream_call"


# -- paths ------------------------------------------------------------------------------

def test_prefixes_of_routers_and_includes_are_joined_in_order():
    result = _run({
        "app/main.py": """
            from fastapi import FastAPI
            from app.api import v1

            app = FastAPI()
            app.include_router(v1.api_router, prefix="/api")
        """,
        "app/api/v1/__init__.py": """
            from fastapi import APIRouter
            from app.api.v1.telephony import router as telephony_router

            api_router = APIRouter(prefix="/v1")
            api_router.include_router(telephony_router, prefix="/telephony")
        """,
        "app/api/v1/telephony/__init__.py": """
            from fastapi import APIRouter
            from . import numbers

            router = APIRouter()
            router.include_router(numbers.router, prefix="/numbers")
        """,
        "app/api/v1/telephony/numbers.py": """
            from fastapi import APIRouter

            router = APIRouter(prefix="/phone")

            @router.get("")
            def list_numbers(): ...

            @router.api_route("/{number_id}", methods=["get", "put"])
            def number(number_id: str): ...

            @router.websocket("/live")
            async def live(ws): ...
        """,
    })
    assert _paths(result) == [
        (("GET",), "/api/v1/telephony/numbers/phone"),
        (("GET", "PUT"), "/api/v1/telephony/numbers/phone/{number_id}"),
        (("WEBSOCKET",), "/api/v1/telephony/numbers/phone/live"),
    ]


def test_routers_are_found_by_construction_not_by_name():
    result = _run({"app/x.py": """
        from fastapi import APIRouter
        import fastapi

        class Cache:
            def get(self, key):
                return key

        things = APIRouter()
        more = fastapi.APIRouter(prefix="/more")
        router = Cache()

        @things.get("/a")
        def a(): ...

        @more.post("/b")
        def b(): ...

        @router.get("/not-a-route")
        def c(): ...
    """})
    assert _paths(result) == [(("GET",), "/a"), (("POST",), "/more/b")]


def test_a_router_imported_through_a_package_re_export_is_resolved():
    result = _run({
        "app/api/__init__.py": "from app.api.routes import router\n",
        "app/api/routes.py": """
            from fastapi import APIRouter
            router = APIRouter()

            @router.get("/x")
            def x(): ...
        """,
        "app/main.py": """
            from fastapi import FastAPI
            from app.api import router

            app = FastAPI()
            app.include_router(router, prefix="/p")
        """,
    })
    assert _paths(result) == [(("GET",), "/p/x")]


def test_a_router_included_twice_has_two_mounts_and_a_cycle_does_not_hang():
    result = _run({"app/x.py": """
        from fastapi import APIRouter, FastAPI

        app = FastAPI()
        a = APIRouter()
        b = APIRouter()

        @b.get("/r")
        def r(): ...

        app.include_router(b, prefix="/one")
        app.include_router(b, prefix="/two")
        a.include_router(b, prefix="/b")
        b.include_router(a, prefix="/a")
    """})
    paths = [p for _, p in _paths(result)]
    assert "/one/r" in paths and "/two/r" in paths
    [finding] = _codes(result, "ORG201")  # one finding per handler, naming the others
    assert "more" in finding.message


def test_flask_blueprints_and_register_blueprint_url_prefix():
    result = _run({"app/web.py": """
        from flask import Blueprint, Flask
        from flask_login import login_required

        app = Flask(__name__)
        bp = Blueprint("calls", __name__, url_prefix="/calls")

        @bp.route("/<call_id>", methods=["GET", "DELETE"])
        @login_required
        def call(call_id): ...

        @bp.post("/")
        def create(): ...

        app.register_blueprint(bp, url_prefix="/api/calls")
    """})
    assert _paths(result) == [(("GET", "DELETE"), "/api/calls/<call_id>"),
                              (("POST",), "/api/calls/")]
    [finding] = _codes(result, "ORG201")
    assert "POST /api/calls/" in finding.message


# -- auth ------------------------------------------------------------------------------

def test_transitive_auth_across_modules_and_the_chain_in_the_summary():
    result = _run({
        "app/core/auth.py": AUTH,
        "app/api/admin.py": """
            from fastapi import APIRouter, Depends
            from app.core.auth import require_admin_role

            router = APIRouter(dependencies=[Depends(require_admin_role)])

            @router.get("/members")
            def members(): ...
        """,
    })
    assert _codes(result, "ORG201") == []
    assert result.routes[0]["auth"] == ["require_admin_role", "get_current_user"]


def test_annotated_alias_imported_from_another_module_authenticates():
    result = _run({
        "app/core/auth.py": AUTH + dedent("""
            from typing import Annotated
            CurrentUser = Annotated[dict, Depends(get_current_user)]
        """),
        "app/api/x.py": """
            from fastapi import APIRouter
            from app.core.auth import CurrentUser
            from app.models import Payload

            router = APIRouter()

            @router.get("/ok")
            def ok(user: CurrentUser): ...

            @router.post("/not-ok")
            def not_ok(payload: Payload): ...
        """,
    })
    [finding] = _codes(result, "ORG201")
    assert "POST /not-ok" in finding.message


def test_class_and_callable_instance_dependencies_resolve_transitively():
    result = _run({
        "app/core/auth.py": AUTH,
        "app/api/x.py": """
            from fastapi import APIRouter, Depends, Security
            from app.core.auth import get_current_user

            class RoleChecker:
                def __init__(self, role):
                    self.role = role

                def __call__(self, user: dict = Depends(get_current_user)):
                    return user

            class Principal:
                def __init__(self, user: dict = Depends(get_current_user)):
                    self.user = user

            admins = RoleChecker("admin")
            router = APIRouter()

            @router.get("/a")
            def a(user=Depends(admins)): ...

            @router.get("/b")
            def b(principal: Principal = Depends()): ...

            @router.get("/c")
            def c(principal=Security(Principal)): ...
        """,
    })
    assert _codes(result, "ORG201") == []


def test_configured_auth_dependency_may_be_qualified():
    sources = {"app/core/auth.py": AUTH, "app/api/x.py": """
        from fastapi import APIRouter, Depends
        from app.core import auth

        router = APIRouter()

        @router.get("/a")
        def a(user=Depends(auth.get_current_user)): ...
    """}
    assert _codes(_run(sources), "ORG201") == []
    result = _run(sources, **{"auth-dependencies": ["app.core.auth.get_current_user"]})
    assert _codes(result, "ORG201") == []
    result = _run(sources, **{"auth-dependencies": ["verify_token"]})
    assert len(_codes(result, "ORG201")) == 1


@pytest.mark.parametrize("pattern, flagged", [
    ("GET /health", False), ("POST /health", True), ("/heal*", False),
    ("GET,HEAD /health/", False), ("/other", True),
])
def test_public_route_patterns(pattern, flagged):
    result = _run({"app/main.py": """
        from fastapi import FastAPI
        app = FastAPI()

        @app.get("/health")
        def health(): ...
    """}, **{"public-routes": [pattern]})
    assert bool(_codes(result, "ORG201")) is flagged
    assert (result.routes[0]["public"] is None) is flagged


# -- provenance ----------------------------------------------------------------------

def _handler(body: str, params: str = "data: dict, org: str, request: Request"):
    return {"app/core/auth.py": AUTH, "app/api/x.py": f"""
from fastapi import APIRouter, Depends, Request
from app.core.auth import get_current_user
from app.core.database import db, lookup_org

router = APIRouter()

@router.post("/x/{{org}}")
async def handler({params}, current_user: dict = Depends(get_current_user)):
{indent(dedent(body).strip(), "    ")}
"""}


@pytest.mark.parametrize("value, untrusted", [
    ('current_user["clerk_org_id"]', False),
    ('current_user.get("clerk_org_id") or current_user["user_id"]', False),
    ('data.get("clerk_org_id") or current_user.get("clerk_org_id")', True),
    ('current_user.get("clerk_org_id") or data.get("clerk_org_id")', True),
    ('org if org else current_user["clerk_org_id"]', True),
    ('current_user["clerk_org_id"] if org else current_user["user_id"]', False),
    ('str(org).strip()', True),
    ('getattr(data, "org_id")', True),
    ('request.headers.get("x-org")', True),
    ('request.state.org_id', False),
    ('lookup_org(org)', False),
    ('db.select_one("calls", {"id": org})["clerk_org_id"]', False),
    ('f"org_{org}"', True),
])
def test_tenant_value_provenance(value, untrusted):
    body = f"""
    value = {value}
    alias = value
    return db.select("calls", {{"clerk_org_id": alias}})
    """
    result = _run(_handler(body))
    assert bool(_codes(result, "ORG202")) is untrusted


def test_awaited_request_json_and_body_model_attributes_are_request_input():
    body = """
        payload = await request.json()
        db.select("calls", {"clerk_org_id": payload["org"]})
        db.select("calls", {"clerk_org_id": data.org_id})
    """
    result = _run(_handler(body))
    messages = [f.message for f in _codes(result, "ORG202")]
    assert len(messages) == 2
    assert "the raw request `request`" in messages[0]
    assert "the request body `data`" in messages[1]
    assert all(m.startswith("POST /x/{org}: ") for m in messages)


def test_wrapper_called_with_request_supplied_tenant_argument():
    result = _run({"app/core/auth.py": AUTH, "app/core/store.py": """
        def load_call(db, call_id, org_id=None):
            return db.select_one("calls", {"id": call_id, "clerk_org_id": org_id})
    """, "app/api/x.py": """
        from fastapi import APIRouter, Depends
        from app.core.auth import get_current_user
        from app.core.store import load_call

        router = APIRouter()

        @router.get("/calls/{call_id}")
        def get_call(call_id: str, org: str, current_user: dict = Depends(get_current_user)):
            load_call(db, call_id, current_user["clerk_org_id"])
            return load_call(db, call_id, org_id=org)
    """})
    [finding] = _codes(result, "ORG202")
    assert finding.line == 11
    assert "`load_call`'s `org_id` argument" in finding.message
    assert "the query parameter `org`" in finding.message


def test_non_route_functions_trust_their_parameters():
    result = _run({"app/services.py": """
        def create(db, data, org_id):
            return db.insert("agents", {"name": data["name"], "clerk_org_id": data.get("org") or org_id})
    """})
    assert _codes(result, "ORG202") == []


# -- summary, JSON and pickling ---------------------------------------------------------

def test_fixture_routes_in_json_summary_and_messages_name_method_and_path():
    config = load_config(None, FIXTURE)
    result = run([FIXTURE], config, Options(jobs=1, use_cache=False))
    document = json.loads(renderer("json")(result))
    assert document["summary"]["routes"] == len(result.routes) > 60
    by_path = {(tuple(r["methods"]), r["path"]): r for r in result.routes}
    streams = by_path[(("GET",), "/api/v1/streams/calls/{call_id}")]
    assert streams["auth"] == ["get_current_user"]
    assert by_path[(("GET",), "/health")]["public"] == "GET /health"
    tools = by_path[(("POST",), "/api/v1/tools")]
    assert tools["tenant_source"] == "request"
    assert tools["db_calls"][0]["table"] == "tools"
    assert by_path[(("GET",), "/api/v1/tools")]["tenant_source"] == "auth"
    assert by_path[(("POST",), "/internal/orgs/{org_id}/recount")]["auth"] == [
        "verify_internal_token"]
    route_findings = [f for f in document["findings"] if f["rule"].startswith("ORG2")]
    assert {f["rule"] for f in route_findings} == {"ORG201", "ORG202", "ORG203", "ORG204"}
    labels = {f"{','.join(r['methods'])} {r['path']}" for r in result.routes}
    for finding in route_findings:
        assert any(label.replace(",", "|") in finding["message"] for label in labels), finding


def test_route_facts_survive_the_process_pool():
    config = load_config(None, FIXTURE)
    serial = run([FIXTURE], config, Options(jobs=1, use_cache=False))
    from orgscope_lint import engine
    threshold = engine.PARALLEL_THRESHOLD
    engine.PARALLEL_THRESHOLD = 1
    try:
        parallel = run([FIXTURE], load_config(None, FIXTURE), Options(jobs=2, use_cache=False))
    finally:
        engine.PARALLEL_THRESHOLD = threshold
    assert parallel.routes == serial.routes
    assert found(parallel) == found(serial)


def test_module_routes_pickle_round_trip():
    from orgscope_lint.checker import analyze_file
    from orgscope_lint.engine import active_rules
    path = "app/api/v1/dashboard.py"
    config = load_config(None, FIXTURE)
    facts = analyze_file(path, (FIXTURE / path).read_bytes(), config, active_rules(config))
    routes = facts.routes
    assert isinstance(routes, ModuleRoutes)
    assert pickle.loads(pickle.dumps(routes)) == routes
    assert [r.qualname for r in routes.routes] == ["dashboard_summary", "dashboard_call"]
    headers = [p for r in routes.routes for p in r.params if p.source == "header"]
    assert [(p.header, p.used) for p in headers] == [("x-client-id", False), ("x-client-id", True)]


def test_app_factory_stacked_decorators_and_conditional_includes():
    result = _run({
        "app/core/auth.py": AUTH,
        "app/api.py": """
            from fastapi import APIRouter
            router = APIRouter()

            @router.get("/a")
            @router.get("/alias-of-a")
            def a(): ...
        """,
        "app/main.py": """
            from fastapi import Depends, FastAPI
            from app.api import router
            from app.core.auth import get_current_user
            from app.core.config import settings

            def create_app() -> FastAPI:
                app = FastAPI()
                if settings.debug:
                    app.include_router(router, prefix="/debug")
                else:
                    app.include_router(router, prefix="/api", dependencies=[Depends(get_current_user)])

                @app.get("/health")
                def health():
                    return {"ok": True}

                return app
        """,
    }, **{"public-routes": ["GET /health"]})
    assert _paths(result) == [
        (("GET",), "/api/a"), (("GET",), "/api/alias-of-a"),
        (("GET",), "/debug/a"), (("GET",), "/debug/alias-of-a"), (("GET",), "/health")]
    [finding] = _codes(result, "ORG201")
    assert finding.message.startswith("GET /debug/a (and 1 more) (a) has no auth dependency")


def test_constant_prefixes_and_header_naming():
    result = _run({"app/x.py": """
        from fastapi import APIRouter, Header

        PREFIX = "/v2"
        router = APIRouter(prefix=PREFIX)

        @router.get("/a")
        def a(
            x_org_id: str = Header(...),
            x_tenant_id: str = Header(..., convert_underscores=False),
            client: str = Header(..., alias="X-Client-Id"),
        ):
            return client
    """})
    assert _paths(result) == [(("GET",), "/v2/a")]
    messages = sorted(f.message for f in _codes(result, "ORG203"))
    assert len(messages) == 2
    assert "`x-client-id` into `client` and uses it" in messages[0]
    assert "`x-org-id` into `x_org_id` but never uses it" in messages[1]
    assert "Depends(get_current_user)" in _codes(result, "ORG201")[0].message


def test_security_with_an_instance_uses_the_class_call_dependencies():
    result = _run({"app/core/auth.py": AUTH, "app/api/x.py": """
        from fastapi import APIRouter, Depends, Security
        from app.core.auth import get_current_user

        class Bearer:
            def __call__(self, user: dict = Depends(get_current_user)):
                return user

        router = APIRouter()

        @router.get("/a")
        def a(user=Security(Bearer())): ...
    """})
    assert _codes(result, "ORG201") == []
    assert result.routes[0]["auth"] == ["Bearer", "get_current_user"]


def test_an_imported_privileged_instance_is_found_without_naming_its_class():
    result = _run({"app/core/auth.py": AUTH, "app/services/admin.py": """
        from app.core.database import DatabaseAdminService
        admin_db = DatabaseAdminService()
        settings_db = object()
    """, "app/api/x.py": """
        from fastapi import APIRouter, Depends
        from app.core.auth import get_current_user
        from app.services.admin import admin_db, settings_db

        router = APIRouter()

        @router.get("/a")
        def a(current_user: dict = Depends(get_current_user)):
            settings_db.get("x")
            admin_db.count("agents", {"clerk_org_id": current_user["clerk_org_id"]})
            return admin_db.select("agents", {"clerk_org_id": current_user["clerk_org_id"]})
    """})
    [finding] = _codes(result, "ORG204")
    assert finding.line == 11
    assert "`admin_db`" in finding.message and finding.message.startswith("GET /a: ")


def test_a_mounted_sub_application_contributes_its_path():
    result = _run({"app/main.py": """
        from fastapi import FastAPI
        from fastapi.staticfiles import StaticFiles
        from app.v2 import v2_app

        app = FastAPI()
        app.mount("/v2", v2_app)
        app.mount("/static", StaticFiles(directory="static"))
    """, "app/v2.py": """
        from fastapi import FastAPI
        v2_app = FastAPI()

        @v2_app.get("/items")
        def items(): ...
    """})
    assert _paths(result) == [(("GET",), "/v2/items")]


def test_prefixes_written_as_settings_attributes_and_imported_constants():
    result = _run({"app/main.py": """
        from fastapi import APIRouter, FastAPI
        from app.core import config
        from app.core.config import API_PREFIX, settings

        app = FastAPI()
        router = APIRouter(prefix=API_PREFIX)

        @router.get("/items")
        def items(): ...

        @router.get(config.ITEM_PATH)
        def item(): ...

        app.include_router(router, prefix=settings.API_V1_STR)
        app.include_router(router, prefix=settings.UNKNOWN)
    """, "app/core/config.py": """
        API_PREFIX = "/things"
        ITEM_PATH = "/{item_id}"

        class Settings(BaseSettings):
            API_V1_STR: str = "/api/v1"
            PROJECT_NAME = "x"

        settings = Settings()
    """})
    assert _paths(result) == [
        (("GET",), "/api/v1/things/items"), (("GET",), "/api/v1/things/{item_id}"),
        (("GET",), "{settings.UNKNOWN}/things/items"),
        (("GET",), "{settings.UNKNOWN}/things/{item_id}")]


def test_a_dependency_reading_a_tenant_header_is_flagged_for_the_routes_using_it():
    result = _run({"app/core/auth.py": AUTH + dedent("""
        from fastapi import Header

        def get_active_org(
            x_org_id: str = Header(None),
            current_user: dict = Depends(get_current_user),
        ):
            return x_org_id or current_user["clerk_org_id"]

        def unused_dependency(x_org_id: str = Header(None)):
            return None
    """), "app/api/x.py": """
        from fastapi import APIRouter, Depends
        from app.core.auth import get_active_org

        router = APIRouter(prefix="/calls")

        @router.get("")
        def list_calls(org: str = Depends(get_active_org)): ...
    """})
    [finding] = _codes(result, "ORG203")
    assert finding.path == "app/core/auth.py"
    assert finding.message.startswith("GET /calls (through the dependency `get_active_org`) "
                                      "reads the tenant header `x-org-id` into `x_org_id` and "
                                      "uses it")
    assert _codes(result, "ORG201") == []


def test_a_configured_auth_decorator_also_authenticates_a_fastapi_route():
    sources = {"app/x.py": """
        from fastapi import APIRouter
        from app.security import requires_auth

        router = APIRouter()

        @router.get("/a")
        @requires_auth
        async def a(): ...
    """}
    assert _codes(_run(sources), "ORG201") == []
    assert len(_codes(_run(sources, **{"auth-decorators": ["login_required"]}), "ORG201")) == 1


@pytest.mark.parametrize("pattern", ["health", "FETCH /health", "GET /a /b", "GET"])
def test_malformed_public_route_patterns_are_config_errors_naming_the_key(tmp_path, pattern):
    from orgscope_lint.config import ConfigError
    config = tmp_path / "pyproject.toml"
    config.write_text(f'[tool.orgscope-lint]\npublic-routes = ["GET /ok", "{pattern}"]\n')
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert str(error.value).startswith(f"{config}: `tool.orgscope-lint.public-routes[1]`: ")


def test_routes_registered_with_add_api_route_and_add_url_rule():
    result = _run({"app/core/auth.py": AUTH, "app/api.py": """
        from fastapi import APIRouter, Depends
        from flask import Blueprint
        from app.core.auth import get_current_user

        router = APIRouter(prefix="/r")
        bp = Blueprint("b", __name__, url_prefix="/b")

        def listing(current_user: dict = Depends(get_current_user)): ...

        def open_listing(): ...

        def flask_view(item_id): ...

        router.add_api_route("/list", listing, methods=["GET"])
        router.add_api_route("/open", endpoint=open_listing, methods=["POST"])
        bp.add_url_rule("/<item_id>", "view", flask_view)
    """})
    assert _paths(result) == [(("GET",), "/b/<item_id>"), (("GET",), "/r/list"),
                              (("POST",), "/r/open")]
    flagged = sorted((f.line, f.message.split(" (")[0]) for f in _codes(result, "ORG201"))
    assert flagged == [(16, "POST /r/open"), (17, "GET /b/<item_id>")]


def test_supabase_chains_in_handlers_are_traced_too():
    result = _run({"app/core/auth.py": AUTH, "app/x.py": """
        from fastapi import APIRouter, Depends
        from app.core.auth import get_current_user
        from app.db import supabase

        router = APIRouter()

        @router.get("/x")
        def x(org: str, current_user: dict = Depends(get_current_user)):
            query = supabase.table("calls").select("*")
            query = query.eq("clerk_org_id", org)
            supabase.table("calls").select("*").eq("clerk_org_id", current_user["clerk_org_id"]).execute()
            return query.execute()
    """}, db={"presets": ["dbservice", "supabase"]})
    [finding] = _codes(result, "ORG202")
    assert finding.line == 13
    assert finding.message == (
        "GET /x: the tenant id for select on 'calls' comes from the query parameter `org`: "
        "take it from `current_user` (the auth dependency) instead")


def test_checking_one_file_still_sees_the_includes_of_the_whole_project():
    """pre-commit passes changed files only: the route's auth comes from an
    include_router call in a file that was not passed."""
    config = load_config(None, FIXTURE)
    result = run([FIXTURE / "app" / "api" / "v1" / "streams.py"], config,
                 Options(jobs=1, use_cache=False))
    assert [r["path"] for r in result.routes] == ["/api/v1/streams/calls/{call_id}"]
    assert result.routes[0]["auth"] == ["get_current_user"]
    assert result.findings == []


def test_odd_shapes_never_crash_the_analysis():
    result = _run({"app/odd.py": """
        from typing import Annotated
        from fastapi import APIRouter, Depends, FastAPI, Header

        router = APIRouter(prefix=f"/{1}", dependencies=[Depends(lambda: 1), *extra])
        app = FastAPI()
        paths = ["/a"]

        @router.get(*paths)
        @router.get(path=f"/{paths[0]}", dependencies=(Depends(),))
        @router.post()
        @router
        @router.get
        async def weird(
            a: Annotated[int, 3, Depends()],
            b: Annotated[list, Depends(get)] = Header(),
            *args,
            c=Depends(lambda: None),
            **kwargs,
        ):
            return a

        router.include_router()
        router.include_router(*routers)
        app.add_api_route()
        app.add_api_route("/x", endpoint=lambda: 1)
        app.mount("/static", StaticFiles())
        app.include_router(router, prefix=None)
        app.include_router(router, prefix="/" + "p")

        class View:
            @router.get("/method")
            def method(self): ...
    """})
    assert {r["handler"] for r in result.routes} == {"weird"}
    assert not [r for r in result.routes if "None" in r["path"]]  # prefix=None is no prefix


def test_flask_login_current_user_is_the_auth_context():
    result = _run({"app/web.py": """
        from flask import Blueprint, request
        from flask_login import current_user, login_required
        from app.db import db

        bp = Blueprint("agents", __name__)

        @bp.get("/agents")
        @login_required
        def agents():
            db.select("agents", {"clerk_org_id": current_user.org_id})
            return db.select("agents", {"clerk_org_id": request.args["org"]})
    """})
    [finding] = _codes(result, "ORG202")
    assert finding.line == 12 and "flask's `request`" in finding.message
    assert result.routes[0]["tenant_source"] == "request"
    assert result.routes[0]["auth"] == ["login_required"]


# -- routers nobody mounts ----------------------------------------------------------

def test_a_router_no_application_includes_is_not_mounted_and_not_flagged():
    sources = _three_modules(", dependencies=[Depends(get_current_user)]")
    sources["app/api/legacy.py"] = """
        from fastapi import APIRouter

        router = APIRouter(prefix="/old")

        @router.get("/")
        async def old_index():
            return {}
    """
    result = _run(sources)
    assert _codes(result, "ORG201") == []
    legacy = [r for r in result.routes if r["handler"] == "old_index"]
    assert [(r["path"], r["mounted"]) for r in legacy] == [("/old/", False)]
    mounted = [r for r in result.routes if r["handler"] == "stream_call"]
    assert [r["mounted"] for r in mounted] == [True]
    report = renderer("markdown")(result)
    assert "| GET (not mounted) /old/ | `old_index` (app/api/legacy.py:6) | none | OK – not " \
           "mounted: no application includes its router |" in report


def test_without_an_application_or_with_an_include_the_tool_cannot_follow_routes_count():
    # no FastAPI() anywhere: the app may be built elsewhere, so the route is served
    result = _run({"app/api/v1/streams.py": STREAMS})
    assert [f.symbol for f in _codes(result, "ORG201")] == ["stream_call"]
    # an include over a list names no router: any router may be mounted by it
    result = _run({"app/api/v1/streams.py": STREAMS, "app/main.py": """
        from fastapi import FastAPI

        from app.api.v1 import streams

        app = FastAPI()
        for module in (streams,):
            app.include_router(module.router)
    """})
    assert [f.symbol for f in _codes(result, "ORG201")] == ["stream_call"]
    assert [r["mounted"] for r in result.routes] == [True]


def test_optional_auth_never_authenticates_a_route():
    """A dependency that may return None instead of a caller lets anonymous
    callers in: not by reaching `get_current_user` (directly, through an
    `Annotated` alias, or as a callable instance's `__call__`), not when listed
    in auth-dependencies by name; a loose `Optional[...]` annotation on one
    that raises is no optional auth."""
    result = _run({
        "app/core/auth.py": AUTH + dedent("""
            from typing import Annotated, Optional
            from fastapi import Header, HTTPException

            async def get_optional_current_user(authorization: Optional[str] = Header(None)):
                if not authorization:
                    return None
                return {"token": authorization}

            async def maybe_member(user: dict = Depends(get_current_user)) -> Optional[dict]:
                return user if user.get("org") else None

            async def strict_member(user: dict = Depends(get_current_user)) -> Optional[dict]:
                if not user.get("org"):
                    raise HTTPException(status_code=403)
                return user

            class OptionalViewer:
                def __call__(self, user: dict = Depends(get_current_user)) -> Optional[dict]:
                    return user or None

            viewer = OptionalViewer()
            MaybeMember = Annotated[Optional[dict], Depends(maybe_member)]
        """),
        "app/api/x.py": """
            from fastapi import APIRouter, Depends
            from app.core.auth import (MaybeMember, get_optional_current_user, maybe_member,
                                       strict_member, viewer)

            router = APIRouter()

            @router.get("/named")
            def named(user=Depends(get_optional_current_user)): ...

            @router.get("/through")
            def through(user=Depends(maybe_member)): ...

            @router.get("/alias")
            def alias(user: MaybeMember): ...

            @router.get("/instance")
            def instance(user=Depends(viewer)): ...

            @router.get("/strict")
            def strict(user=Depends(strict_member)): ...
        """,
    }, **{"auth-dependencies": ["get_current_user", "get_optional_current_user"]})
    messages = {f.message.split(" (")[0]: f.message for f in _codes(result, "ORG201")}
    assert sorted(messages) == ["GET /alias", "GET /instance", "GET /named", "GET /through"]
    assert "its only auth, `get_optional_current_user`, is optional (it returns None on " \
           "some path)" in messages["GET /named"]
    assert "`maybe_member`, is optional (its return type admits None and it never refuses " \
           "the request)" in messages["GET /alias"]
    assert "`viewer`, is optional" in messages["GET /instance"]


def test_optional_reason_finds_returns_in_every_statement_block_only():
    import libcst as cst
    from orgscope_lint.analysis.optional_auth import optional_reason

    def reason(source):
        return optional_reason(cst.parse_module(dedent(source)).body[0])

    for block in ("if token:\n        return None",
                  "try:\n        pass\n    except KeyError:\n        return None",
                  "with lock:\n        for _ in ():\n            pass\n        else:\n"
                  "            return",
                  "match token:\n        case None:\n            return None"):
        assert reason(f"def dep(token):\n    {block}\n    return decode(token)\n") == \
            "it returns None on some path", block
    # a nested function's or class's `return None`, and lambdas, are not the dependency's
    assert reason("def dep(token):\n    def inner():\n        return None\n"
                  "    fallback = lambda: None\n    return decode(token)\n") is None
    assert reason("def dep(token): return None if not token else decode(token)\n") is None
