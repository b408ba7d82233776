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
           "CREATE TABLE task_comments (id uuid PRIMARY KEY, clerk_org_id text,\n"
           "  task_id uuid REFERENCES tasks(id));\n")
    config = config_from({"schema": ["db/*.sql"], "severity": {"ORG401": "off"}})
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
