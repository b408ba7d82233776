"""The project resolver: names written in one module resolved to project
functions through imports, package re-exports, submodules, class bases and
module-level instances, checked through the engine (ORG106, ORG204) and on
the resolver itself."""
import pickle
from textwrap import dedent

import pytest

from orgscope_lint.callees import (AttributeCallee, InstanceCallee, NameCallee, ReceiverCallee,
                                   SelfCallee)
from orgscope_lint.engine import check_files
from orgscope_lint.index import ProjectIndex
from orgscope_lint.resolve import Target
from orgscope_lint.testing import config_from, run_sources

GET_CALL = """
def get_call(db, call_id, org_id=None):
    filters = {"id": call_id}
    if org_id:
        filters["clerk_org_id"] = org_id
    return db.select_one("calls", filters)
"""

AUTH = """
from fastapi import Depends

def get_current_user():
    return {}
"""


def _run(sources, config=None):
    result = run_sources({k: dedent(v) for k, v in sources.items()}, config_from(config or {}))
    assert not result.internal_errors, result.internal_errors
    return result


def _lines(result, code, path):
    return sorted(f.line for f in result.findings
                  if f.rule == code and f.path == path and not f.suppressed)


def _index(sources):
    config = config_from({})
    items = [(p, None, dedent(t).encode()) for p, t in sorted(sources.items())]
    files = check_files(items, config, jobs=1)
    return ProjectIndex(files, config), {f.path: f for f in files}


# -- regression: ORG106 through a package re-export ------------------------------------

def test_wrapper_imported_through_a_package_reexport_is_checked():
    result = _run({
        "app/services/calls.py": GET_CALL,
        "app/services/__init__.py": "from .calls import get_call\n",
        "app/api/calls.py": """
            from app.services import get_call

            def scoped(db, call_id, org):
                return get_call(db, call_id, org_id=org)

            def unscoped(db, call_id):
                return get_call(db, call_id)
        """,
    })
    assert _lines(result, "ORG106", "app/api/calls.py") == [8]
    [finding] = [f for f in result.findings if f.rule == "ORG106"]
    assert "`get_call` omits `org_id`" in finding.message


def test_reexport_chains_and_aliases_are_followed():
    result = _run({
        "app/services/calls.py": GET_CALL,
        "app/services/__init__.py": "from app.services.calls import get_call as fetch_call\n",
        "app/__init__.py": "from .services import fetch_call\n",
        "app/api/calls.py": """
            import app
            from app import fetch_call as load

            def first(db, call_id):
                return load(db, call_id)

            def second(db, call_id):
                return app.fetch_call(db, call_id, None)
        """,
    })
    assert _lines(result, "ORG106", "app/api/calls.py") == [6, 9]


ROUTE_RULES_OFF = {"severity": {code: "off" for code in ("ORG201", "ORG202", "ORG203", "ORG204")}}


@pytest.mark.parametrize("config", [{}, ROUTE_RULES_OFF])
def test_module_level_instance_imported_from_another_module(config):
    """Resolution needs no route facts: it holds with the route rules off."""
    result = _run({
        "app/services/telephony.py": """
            class TelephonyService:
                def release(self, db, number_id, org_id=None):
                    db.delete("phone_numbers", {"id": number_id, "clerk_org_id": org_id})

            telephony_service = TelephonyService()
        """,
        "app/api/numbers.py": """
            from app.services.telephony import telephony_service

            def release(db, number_id, org):
                telephony_service.release(db, number_id, org_id=org)
                telephony_service.release(db, number_id)
        """,
    }, config)
    assert _lines(result, "ORG106", "app/api/numbers.py") == [6]


def test_methods_are_looked_up_along_project_base_classes():
    result = _run({
        "app/services/base.py": """
            class BaseService:
                def fetch(self, db, item_id, org_id=None):
                    return db.select_one("agents", {"id": item_id, "clerk_org_id": org_id})
        """,
        "app/services/agents.py": """
            from app.services import base

            class AgentService(base.BaseService):
                pass

            class LegacyService(AgentService):
                def fetch(self, db, item_id, org_id=None):
                    return None
        """,
        "app/api/agents.py": """
            from app.services.agents import AgentService, LegacyService

            def inherited(db, item_id):
                service = AgentService()
                return service.fetch(db, item_id)

            def overridden(db, item_id):
                service = LegacyService()
                return service.fetch(db, item_id)
        """,
    })
    # the override does not scope by org_id: calling it without one is no wrapper call
    assert _lines(result, "ORG106", "app/api/agents.py") == [6]


def test_privileged_client_one_call_down_through_a_reexport():
    result = _run({
        "app/core/auth.py": AUTH,
        "app/services/usage.py": """
            def usage_rows(org):
                client = get_supabase_admin_client()
                return client
        """,
        "app/services/__init__.py": "from .usage import usage_rows\n",
        "app/api/usage.py": """
            from fastapi import APIRouter, Depends

            from app.core.auth import get_current_user
            from app.services import usage_rows

            router = APIRouter()

            @router.get("/usage")
            async def usage(current_user: dict = Depends(get_current_user)):
                return usage_rows(current_user["clerk_org_id"])
        """,
    })
    assert _lines(result, "ORG204", "app/api/usage.py") == [11]


# -- the resolver itself ----------------------------------------------------------------

def test_resolver_answers_each_callee_kind():
    project, files = _index({
        "app/services/calls.py": GET_CALL + dedent("""
            class Base:
                def __init__(self):
                    pass

                def sync(self):
                    return self.helper()

                def helper(self):
                    return 1

            class Service(Base):
                def run(self):
                    return 2

            service = Service()
        """),
        "app/services/__init__.py": "from .calls import get_call, service\n",
        "app/api/x.py": "from app.services import calls, get_call, service\n",
    })
    resolver = project.resolver
    facts = files["app/api/x.py"]
    here = files["app/services/calls.py"]
    module = "app.services.calls"
    assert resolver.callee(facts, NameCallee("get_call")) == Target(module, "get_call")
    assert resolver.callee(facts, AttributeCallee("calls", "get_call")) == \
        Target(module, "get_call")
    assert resolver.callee(facts, AttributeCallee("service", "helper")) == \
        Target(module, "Base.helper")
    assert resolver.callee(facts, AttributeCallee("calls", "Service")) == \
        Target(module, "Base.__init__")  # a class: its constructor, inherited
    assert resolver.callee(here, InstanceCallee("Service", "run")) == Target(module, "Service.run")
    assert resolver.callee(here, SelfCallee("Service", "sync")) == Target(module, "Base.sync")
    assert resolver.callee(facts, NameCallee("missing")) is None
    assert resolver.callee(facts, AttributeCallee("calls", "missing")) is None
    assert resolver.callee(facts, ReceiverCallee("get_call")) is None  # the class is unknown
    assert resolver.mro((module, "Service")) == ((module, "Service"), (module, "Base"))
    assert resolver.resolve(facts, "service") == (module, "service")
    assert resolver.instance_class((module, "service")) == (module, "Service")
    assert resolver.module_of(facts, "calls") == module
    assert resolver.definers("get_call") == [module]  # re-exporting is not defining


def test_receiver_methods_follow_receiver_subclasses():
    project, files = _index({
        "app/core/database.py": """
            class Base:
                def get_voice(self, voice_id, org_id=None):
                    return self.select_one("voices", {"id": voice_id, "clerk_org_id": org_id})

            class DatabaseService(Base):
                pass

            class TenantDatabase(DatabaseService):
                def get_call(self, call_id, org_id=None):
                    return self.select_one("calls", {"id": call_id, "clerk_org_id": org_id})
        """,
    })
    resolver = project.resolver
    module = "app.core.database"
    assert (module, "TenantDatabase") in resolver.receivers
    assert resolver.receiver_methods("get_voice") == (Target(module, "Base.get_voice"),)
    assert resolver.receiver_methods("get_call") == (Target(module, "TenantDatabase.get_call"),)


def test_call_sites_carry_typed_picklable_callees():
    _, files = _index({"app/x.py": """
        from app import other

        class Thing:
            def go(self, db):
                self.run()
                db.get_call("c")
                other.fetch()
                helper()
                thing = Thing()
                thing.go(db)
                self.client.send()
    """})
    facts = files["app/x.py"]
    callees = [site.callee for site in facts.call_sites]
    assert callees == [SelfCallee("Thing", "run"), ReceiverCallee("get_call"),
                       AttributeCallee("other", "fetch"), NameCallee("helper"),
                       NameCallee("Thing"), InstanceCallee("Thing", "go")]
    assert pickle.loads(pickle.dumps(facts)).call_sites == facts.call_sites


def test_imports_through_a_src_package_reach_the_modules_named_without_it():
    """Files under `src/` are named without it (`src/dependencies.py` is
    `dependencies`); where `src` is itself a package the code imports
    `from src.dependencies import ...` (joshrkay/CAR-ETL: `src/__init__.py`,
    no `src/api/__init__.py`). A route authed only by `get_feature_flags`,
    which reaches `get_current_user` through `Annotated[...]`, is authenticated;
    a wrapper imported the same way is checked."""
    result = _run({
        "src/__init__.py": "",
        "src/dependencies.py": """
            from __future__ import annotations
            from typing import Annotated
            from fastapi import Depends, HTTPException, Request

            def get_current_user(request: Request):
                auth = getattr(request.state, "auth", None)
                if not auth:
                    raise HTTPException(status_code=401)
                return auth

            def get_feature_flags(request: Request,
                                  auth: Annotated[dict, Depends(get_current_user)]):
                return {"tenant_id": auth["tenant_id"]}
        """,
        "src/api/routes/__init__.py": "",
        "src/api/routes/flags.py": """
            from typing import Annotated
            from fastapi import APIRouter, Depends

            from src.dependencies import get_feature_flags

            router = APIRouter(prefix="/api/v1/flags")

            @router.get("/{flag_name}")
            async def get_flag_details(flag_name: str,
                                       flags: Annotated[dict, Depends(get_feature_flags)]):
                return flags

            @router.get("/open/{flag_name}")
            async def open_flag(flag_name: str):
                return flag_name
        """,
        "src/main.py": """
            from fastapi import FastAPI
            from src.api.routes import flags

            app = FastAPI()
            app.include_router(flags.router)
        """,
    })
    assert [(f.path, f.line) for f in result.findings if f.rule == "ORG201"] == [
        ("src/api/routes/flags.py", 14)]
    assert {r["path"]: r["auth"] for r in result.routes}["/api/v1/flags/{flag_name}"] == [
        "get_feature_flags", "get_current_user"]
