"""Proofs of tenancy (analysis/proofs.py) through the whole run: what the
report's evidence and the messages say, helpers seen through across modules,
caller-verified parameters, and the config keys."""
import textwrap

import pytest

from orgscope_lint.config import ConfigError
from orgscope_lint.testing import config_from, run_sources

HELPERS = textwrap.dedent("""\
    from fastapi import HTTPException
    from app.core.database import DatabaseService

    db = DatabaseService()


    async def check_agent(agent_id: str, org: str) -> None:
        if not db.select_one("agents", {"id": agent_id, "clerk_org_id": org}):
            raise HTTPException(404)


    def load_agent(agent_id: str, org: str):
        agent = db.select_one("agents", {"id": agent_id, "clerk_org_id": org})
        if not agent:
            return None
        return agent


    async def agent_dependency(agent_id: str, org: str = "") -> dict:
        agent = db.select_one("agents", {"id": agent_id, "clerk_org_id": org})
        if agent is None:
            raise HTTPException(404)
        return agent
    """)

ROUTES = textwrap.dedent("""\
    from fastapi import APIRouter, Depends
    from app.core.auth import get_current_user
    from app.core.database import DatabaseService
    from app.access import agent_dependency, check_agent, load_agent

    router = APIRouter()
    db = DatabaseService()


    @router.post("/a/{agent_id}")
    async def checked(agent_id: str, user: dict = Depends(get_current_user)):
        await check_agent(agent_id, user["clerk_org_id"])
        db.update("agents", {"id": agent_id}, {"x": 1})


    @router.post("/b/{agent_id}")
    async def dependency(agent_id: str, agent: dict = Depends(agent_dependency)):
        db.update("agents", {"id": agent_id}, {"x": 1})


    @router.post("/c/{agent_id}")
    async def other_id(agent_id: str, other: str, user: dict = Depends(get_current_user)):
        await check_agent(other, user["clerk_org_id"])
        db.update("agents", {"id": agent_id}, {"x": 1})


    @router.post("/d/{agent_id}")
    async def returns_none(agent_id: str, user: dict = Depends(get_current_user)):
        load_agent(agent_id, user["clerk_org_id"])
        db.update("agents", {"id": agent_id}, {"x": 1})


    @router.post("/e/{agent_id}")
    async def returns_none_tested(agent_id: str, user: dict = Depends(get_current_user)):
        if not load_agent(agent_id, user["clerk_org_id"]):
            raise LookupError(agent_id)
        db.update("agents", {"id": agent_id}, {"x": 1})
    """)


def _open(result):
    return sorted((f.path, f.line, f.rule) for f in result.findings if not f.suppressed)


def test_scoping_helpers_are_seen_through_across_modules():
    result = run_sources({"app/access.py": HELPERS, "app/routes.py": ROUTES})
    assert not result.internal_errors
    # a helper that raises verifies its id (as a call or as a dependency), one
    # that returns None when missing only when the caller tests its result; one
    # handed another id does not
    # (the dependency route has no auth dependency of its own: ORG201)
    assert _open(result) == [("app/routes.py", 16, "ORG201"), ("app/routes.py", 24, "ORG102"),
                             ("app/routes.py", 30, "ORG102")]


def test_the_proof_used_is_the_evidence_and_the_missing_one_is_the_message():
    code = textwrap.dedent("""\
        def pause(db, agent_id, org):
            agent = db.select_one("agents", {"id": agent_id, "clerk_org_id": org})
            if not agent:
                raise LookupError(agent_id)
            db.update("agents", {"id": agent_id}, {"status": "paused"})
            db.update("phone_numbers", {"id": agent["outbound_phone_number_id"]}, {"busy": False})

        def comment(db, task_id, text):
            db.insert("task_comments", {"task_id": task_id, "text": text})
        """)
    sql = ("CREATE TABLE phone_numbers (id uuid PRIMARY KEY, clerk_org_id text);\n"
           "CREATE TABLE agents (id uuid PRIMARY KEY, clerk_org_id text,\n"
           "  outbound_phone_number_id uuid REFERENCES phone_numbers(id));\n"
           "CREATE TABLE tasks (id uuid PRIMARY KEY, clerk_org_id text);\n"
           # scoped through its parent only: no tenant column of its own
           "CREATE TABLE task_comments (id uuid PRIMARY KEY,\n"
           "  task_id uuid REFERENCES tasks(id));\n")
    config = config_from({"schema": ["db/*.sql"], "severity": {"ORG401": "off"},
                          "tenant-tables": ["task_comments"]})
    result = run_sources({"app/x.py": code, "db/001.sql": sql}, config)
    details = {call.line: (call.outcome, call.detail) for call in result.db_calls}
    assert details[5] == ("scoped", "scoped: `agent_id` verified by the lookup at line 2")
    assert details[6] == ("scoped", "scoped: `outbound_phone_number_id` read from the 'agents' "
                                    "row loaded with the tenant key at line 2")
    # the missing proof is the insert's evidence (its message is the group's cause)
    assert details[9] == ("unscoped", "filters by task_id, text only (`task_id` points at the "
                                      "parent 'tasks', but it is a parameter of `comment` and "
                                      "was not verified)")


def test_a_caller_passing_request_input_is_named():
    code = textwrap.dedent("""\
        from fastapi import APIRouter, Depends, HTTPException
        from app.core.auth import get_current_user
        from app.core.database import DatabaseService

        router = APIRouter()
        db = DatabaseService()


        def _touch(agent_id):
            db.update("agents", {"id": agent_id}, {"seen": True})


        @router.post("/a/{agent_id}")
        async def verified(agent_id: str, user: dict = Depends(get_current_user)):
            if not db.select_one("agents", {"id": agent_id, "clerk_org_id": user["clerk_org_id"]}):
                raise HTTPException(404)
            _touch(agent_id)
        """)
    result = run_sources({"app/x.py": code})
    assert _open(result) == []
    unverified = code + textwrap.dedent("""\


        @router.post("/b/{agent_id}")
        async def unverified(agent_id: str, user: dict = Depends(get_current_user)):
            _touch(agent_id)
        """)
    result = run_sources({"app/x.py": unverified})
    (finding,) = [f for f in result.findings if not f.suppressed]
    assert (finding.line, finding.rule) == (10, "ORG102")
    assert "`agent_id` is not verified for 'agents' by the caller at app/x.py:22 " \
           "(`unverified`), straight from the route's parameters" in finding.message


def test_a_guard_on_one_branch_only_proves_nothing():
    code = textwrap.dedent("""\
        def pause(db, agent_id, org, strict):
            agent = db.select_one("agents", {"id": agent_id, "clerk_org_id": org})
            if strict:
                if not agent:
                    raise LookupError(agent_id)
            db.update("agents", {"id": agent_id}, {"status": "paused"})
        """)
    assert _open(run_sources({"app/x.py": code})) == [("app/x.py", 6, "ORG102")]


def test_abort_leaves_and_a_reassigned_id_is_no_longer_verified():
    code = textwrap.dedent("""\
        from flask import abort

        def pause(db, agent_id, org, other):
            agent = db.select_one("agents", {"id": agent_id, "clerk_org_id": org})
            if agent is None:
                abort(404)
            db.update("agents", {"id": agent_id}, {"status": "paused"})
            agent_id = other
            db.update("agents", {"id": agent_id}, {"status": "paused"})
        """)
    assert _open(run_sources({"app/x.py": code})) == [("app/x.py", 9, "ORG102")]


@pytest.mark.parametrize("table, message", [
    ({"principal-keys": "user_id"}, "principal-keys"),
    ({"parent-keys": {"task_comments": 1}}, "parent-keys"),
    ({"scoping-helper": ["x"]}, "scoping-helpers"),
])
def test_the_proof_keys_are_validated(table, message):
    with pytest.raises(ConfigError, match=message):
        config_from(table)


ACCESS = textwrap.dedent("""\
    from fastapi import HTTPException
    from app.core.database import DatabaseService

    db = DatabaseService()


    def check_run(run_id: str, org: str) -> None:
        if not db.select_one("runs", {"id": run_id, "clerk_org_id": org}):
            raise HTTPException(404)


    def get_run(run_id: str, org: str):
        run = db.select_one("runs", {"id": run_id, "clerk_org_id": org})
        if not run:
            return None
        return run
    """)

REPOSITORY = textwrap.dedent("""\
    from app.core.database import DatabaseService

    db = DatabaseService()


    def update_run(run_id: str, status: str) -> None:
        db.update("runs", {"id": run_id}, {"status": status})


    def touch_run(run_id: str) -> None:
        db.update("runs", {"id": run_id}, {"touched": True})


    def approvals_of(user_id: str):
        return db.select("approvals", {"user_id": user_id})


    def set_secret(connector_id: str, value: str) -> None:
        existing = db.select_one("secrets", {"connector_id": connector_id})
        if existing:
            db.update("secrets", {"id": existing["id"]}, {"value": value})
    """)


def _calls(result):
    return {(c.path, c.line): (c.outcome, c.detail) for c in result.db_calls}


def test_caller_verified_composes_with_project_helpers_and_principals():
    routes = textwrap.dedent("""\
        from fastapi import APIRouter, Depends, HTTPException
        from app.core.auth import get_current_user
        from app.access import check_run, get_run
        from app.repository import approvals_of, set_secret, touch_run, update_run

        router = APIRouter()


        @router.post("/a/{run_id}")
        async def raises(run_id: str, user: dict = Depends(get_current_user)):
            check_run(str(run_id), user["clerk_org_id"])
            update_run(str(run_id), "a")


        @router.post("/b/{run_id}")
        async def returns_tested(run_id: str, user: dict = Depends(get_current_user)):
            run = get_run(run_id, user["clerk_org_id"])
            if not run:
                raise HTTPException(404)
            update_run(run_id, "b")


        @router.post("/c/{run_id}")
        async def returns_untested(run_id: str, user: dict = Depends(get_current_user)):
            get_run(run_id, user["clerk_org_id"])
            touch_run(run_id)


        @router.get("/me/approvals")
        async def mine(user: dict = Depends(get_current_user)):
            return approvals_of(user["user_id"])


        @router.post("/d/{connector_id}")
        async def secret(connector_id: str, user: dict = Depends(get_current_user)):
            if not get_run(connector_id, user["clerk_org_id"]):
                raise HTTPException(404)
            set_secret(connector_id, "x")
        """)
    config = config_from({"tenant-tables": ["runs", "approvals", "secrets"],
                          "principal-keys": ["user_id"],
                          "parent-keys": {"secrets": "connector_id -> runs"}})
    result = run_sources({"app/access.py": ACCESS, "app/repository.py": REPOSITORY,
                          "app/routes.py": routes}, config)
    assert not result.internal_errors
    # update_run: both callers verified run_id (a raising helper; a None-returning one,
    # tested); approvals_of: its caller hands it its own id; set_secret: its caller
    # verified the parent id, and the row it loaded by it is then the caller's too
    assert _open(result) == [("app/repository.py", 11, "ORG102")]
    (finding,) = [f for f in result.findings if not f.suppressed]
    assert "by the caller at app/routes.py:26 (`returns_untested`)" in finding.message
    calls = _calls(result)
    # the project stage's proofs are the run's evidence too (the counts agree)
    assert calls[("app/repository.py", 7)] == (
        "scoped", "scoped: `run_id` verified for 'runs' by every caller (2)")
    assert calls[("app/repository.py", 15)][0] == "scoped"
    assert calls[("app/repository.py", 19)][0] == "scoped"
    assert calls[("app/repository.py", 21)][0] == "scoped"
    assert calls[("app/repository.py", 11)][0] == "unscoped"


def test_a_principal_parameter_from_the_path_is_named():
    routes = textwrap.dedent("""\
        from fastapi import APIRouter, Depends
        from app.core.auth import get_current_user
        from app.repository import approvals_of

        router = APIRouter()


        @router.get("/users/{user_id}/approvals")
        async def theirs(user_id: str, user: dict = Depends(get_current_user)):
            return approvals_of(user_id)
        """)
    config = config_from({"tenant-tables": ["runs", "approvals", "secrets"],
                          "principal-keys": ["user_id"]})
    result = run_sources({"app/repository.py": REPOSITORY, "app/routes.py": routes}, config)
    assert ("app/repository.py", 15, "ORG101") in _open(result)


def test_access_checks_in_code():
    code = textwrap.dedent("""\
        from fastapi import APIRouter, Depends, HTTPException
        from app.core.auth import get_current_user

        router = APIRouter()


        def differs(db, agent_id, org):
            agent = db.select_one("agents", {"id": agent_id})
            if agent["clerk_org_id"] != org:
                raise HTTPException(403)
            db.update("agents", {"id": agent_id}, {"x": 1})


        def missing_or_differs(db, agent_id, org):
            agent = db.select_one("agents", {"id": agent_id})
            if not agent or agent.get("clerk_org_id") != org:
                raise HTTPException(404)
            db.update("agents", {"id": agent["id"]}, {"x": 1})


        def equal_then_use(db, agent_id, org):
            agent = db.select_one("agents", {"id": agent_id})
            if agent["clerk_org_id"] == org:
                db.update("agents", {"id": agent_id}, {"x": 1})
                return True
            raise HTTPException(403)


        def equal_then_return(db, agent_id, org):
            agent = db.select_one("agents", {"id": agent_id})
            if not agent:
                raise HTTPException(404)
            if agent["clerk_org_id"] == org:
                return agent
            db.update("agents", {"id": agent_id}, {"x": 1})


        def only_logs(db, agent_id, org, log):
            agent = db.select_one("agents", {"id": agent_id})
            if agent["clerk_org_id"] != org:
                log.warning("other")
            db.update("agents", {"id": agent_id}, {"x": 1})


        def constant(db, agent_id):
            agent = db.select_one("agents", {"id": agent_id})
            if agent["clerk_org_id"] != "org_1":
                raise HTTPException(403)


        @router.post("/a/{agent_id}")
        def from_token(db, agent_id: str, user: dict = Depends(get_current_user)):
            agent = db.select_one("agents", {"id": agent_id})
            if agent.clerk_org_id != user["clerk_org_id"]:
                raise HTTPException(403)


        @router.post("/b/{agent_id}")
        def from_request(db, agent_id: str, org: str, user: dict = Depends(get_current_user)):
            agent = db.select_one("agents", {"id": agent_id})
            if agent["clerk_org_id"] != org:
                raise HTTPException(403)
        """)
    result = run_sources({"app/x.py": code})
    calls = _calls(result)
    scoped = sorted(line for (_, line), (outcome, _) in calls.items() if outcome == "scoped")
    assert scoped == [8, 11, 15, 18, 22, 24, 30, 53]
    assert calls[("app/x.py", 8)][1] == ("scoped: checked in code: the row's `clerk_org_id` is "
                                        "compared with `org` at line 9")
    # `==` then return: the read is checked, the rest of the function is not
    assert _open(result) == [("app/x.py", 35, "ORG102"), ("app/x.py", 39, "ORG101"),
                             ("app/x.py", 42, "ORG102"), ("app/x.py", 46, "ORG101"),
                             ("app/x.py", 60, "ORG101")]


def test_an_access_check_that_leaves_where_it_held_proves_nothing():
    # the branch that leaves must be the one where the comparison does not
    # hold: `==` then raise leaves for the caller's own rows and goes on with
    # another organization's
    code = textwrap.dedent("""\
        from fastapi import HTTPException


        def equal_then_raise(db, agent_id, org):
            agent = db.select_one("agents", {"id": agent_id})
            if agent["clerk_org_id"] == org:
                raise HTTPException(409)
            return agent


        def equal_then_none(db, agent_id, org):
            agent = db.select_one("agents", {"id": agent_id})
            if agent["clerk_org_id"] == org:
                return None
            db.update("agents", {"id": agent["id"]}, {"x": 1})


        def differs_then_return_it(db, agent_id, org):
            agent = db.select_one("agents", {"id": agent_id})
            if agent["clerk_org_id"] != org:
                return agent
            raise HTTPException(409)


        def equal_or_admin(db, agent_id, org, admin):
            agent = db.select_one("agents", {"id": agent_id})
            if agent["clerk_org_id"] == org or admin:
                return agent
            raise HTTPException(403)


        def equal_in_a_try(db, agent_id, org, log):
            try:
                agent = db.select_one("agents", {"id": agent_id})
                if agent["clerk_org_id"] == org:
                    return agent
                log.info("other")
            except ValueError:
                log.warning(agent)


        def equal_then_return_else_raise(db, agent_id, org):
            agent = db.select_one("agents", {"id": agent_id})
            if agent["clerk_org_id"] == org:
                return agent
            raise HTTPException(403)


        def not_equal_else_raise(db, agent_id, org):
            agent = db.select_one("agents", {"id": agent_id})
            if not agent["clerk_org_id"] == org:
                raise HTTPException(403)
            return agent


        def equal_and_active_else_raise(db, agent_id, org):
            agent = db.select_one("agents", {"id": agent_id})
            if agent and agent["clerk_org_id"] == org:
                db.update("agents", {"id": agent["id"]}, {"x": 1})
            else:
                raise HTTPException(404)
        """)
    result = run_sources({"app/x.py": code})
    calls = _calls(result)
    scoped = sorted(line for (_, line), (outcome, _) in calls.items() if outcome == "scoped")
    assert scoped == [43, 50, 57, 59]
    assert _open(result) == [("app/x.py", 5, "ORG101"), ("app/x.py", 12, "ORG101"),
                             ("app/x.py", 15, "ORG102"), ("app/x.py", 19, "ORG101"),
                             ("app/x.py", 26, "ORG101"), ("app/x.py", 34, "ORG101")]


def test_rows_of_a_scoped_result_in_a_for_loop():
    code = textwrap.dedent("""\
        def pause_all(db, org):
            rows = db.select("agents", {"clerk_org_id": org})
            for row in rows:
                db.update("agents", {"id": row["id"]}, {"x": 1})


        def resume_all(db):
            for row in db.select("agents", {"status": "paused"}):
                db.update("agents", {"id": row["id"]}, {"x": 1})
        """)
    result = run_sources({"app/x.py": code})
    assert _open(result) == [("app/x.py", 8, "ORG101"), ("app/x.py", 9, "ORG102")]
    assert _calls(result)[("app/x.py", 4)] == (
        "scoped", "scoped: `id` read from the 'agents' row loaded with the tenant key at line 2")


def test_a_membership_check_makes_the_path_organization_trusted():
    code = textwrap.dedent("""\
        from fastapi import APIRouter, Depends
        from app.core.auth import get_current_user
        from app.core.database import DatabaseService
        from app.access import load_members, require_member

        router = APIRouter()
        db = DatabaseService()


        @router.get("/orgs/{org_id}/agents")
        async def agents(org_id: str, user: dict = Depends(get_current_user)):
            require_member(org_id, user["user_id"])
            load_members(db, org_id)
            return db.select("agents", {"clerk_org_id": org_id})


        @router.get("/orgs/{org_id}/calls")
        async def unchecked(org_id: str, user: dict = Depends(get_current_user)):
            load_members(db, org_id)
            return db.select("calls", {"clerk_org_id": org_id})


        @router.get("/orgs/{org_id}/other")
        async def other(org_id: str, team: str, user: dict = Depends(get_current_user)):
            require_member(team, user["user_id"])
            return db.select("calls", {"clerk_org_id": org_id})


        @router.get("/orgs/{org_id}/anyone")
        async def anyone(org_id: str, someone: str, user: dict = Depends(get_current_user)):
            require_member(org_id, someone)
            return db.select("calls", {"clerk_org_id": org_id})
        """)
    access = ("def load_members(db, org):\n"
              "    return db.select('members', {'clerk_org_id': org})\n\n\n"
              "def require_member(org, user):\n"
              "    pass\n")
    config = config_from({"scoping-helpers": ["require_member"]})
    result = run_sources({"app/x.py": code, "app/access.py": access}, config)
    # checked with the caller's own id: trusted (a wrapper's argument, a filter);
    # unchecked, another organization checked, or someone else's membership: ORG202
    assert _open(result) == [("app/x.py", 19, "ORG202"), ("app/x.py", 20, "ORG202"),
                             ("app/x.py", 26, "ORG202"), ("app/x.py", 32, "ORG202")]


def test_global_existence_checks_are_not_findings_and_the_report_lists_them():
    code = textwrap.dedent("""\
        import secrets
        from slugify import slugify


        def create_team(supabase, name, org):
            slug = slugify(name)
            taken = supabase.table("teams").select("slug").eq("slug", slug).execute()
            if taken.data:
                raise ValueError("taken")
            token = secrets.token_urlsafe(16)
            while supabase.table("teams").select("id").eq("invite", token).execute().data:
                token = secrets.token_urlsafe(16)


        def team_by_slug(supabase, slug):
            found = supabase.table("teams").select("slug").eq("slug", slug).execute()
            if found.data:
                return found
        """)
    config = config_from({"db": {"presets": ["supabase"]}})
    result = run_sources({"app/x.py": code}, config)
    # a slug, and a generated token (selecting the primary key is no more); the
    # slug's lookup that returns its result is a read
    assert _open(result) == [("app/x.py", 16, "ORG101")]
    assert _calls(result)[("app/x.py", 7)] == (
        "scoped", "global existence check: tests whether a slug (`slug`) is taken; selects "
                  "only the key, and the result is used only as a truth value")
    from orgscope_lint.report.markdown import render
    assert "2 global existence checks: `create_team` line 7 (`teams`), `create_team` line 11 " \
        "(`teams`)" in render(result)


def test_the_id_of_a_row_just_inserted_with_the_tenant_key():
    code = textwrap.dedent("""\
        def create(supabase, org, name):
            project = supabase.table("projects").insert({"name": name, "clerk_org_id": org}).execute()
            project_id = project.data[0]["id"]
            supabase.table("projects").update({"x": 1}).eq("id", project_id).execute()


        def create_anywhere(supabase, name):
            project = supabase.table("projects").insert({"name": name}).execute()
            supabase.table("projects").update({"x": 1}).eq("id", project.data[0]["id"]).execute()
        """)
    result = run_sources({"app/x.py": code}, config_from({"db": {"presets": ["supabase"]}}))
    assert _open(result) == [("app/x.py", 8, "ORG103"), ("app/x.py", 9, "ORG102")]
    assert _calls(result)[("app/x.py", 4)] == (
        "scoped", "scoped: `id` read from the 'projects' row inserted with the tenant key at line 2")
