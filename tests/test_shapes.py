"""Shapes real code builds its filters and rows in, through the whole run:
helpers that return them (in the module and across modules), `for` loops over
literal pairs, rows and filters passed into the function that runs them,
closures and callbacks, and queries kept in a variable and run later."""
import textwrap

from orgscope_lint.testing import config_from, run_sources

SUPABASE = {"db": {"presets": ["dbservice", "supabase"]}}


def _run(code, files=None, config=None):
    sources = {path: textwrap.dedent(text) for path, text in (files or {}).items()}
    sources["app/m.py"] = textwrap.dedent(code)
    result = run_sources(sources, config_from(config or {}))
    assert not result.internal_errors, result.internal_errors
    return result


def _findings(result, rule_prefix="ORG1"):
    return [(f.path, f.line, f.rule, f.message) for f in result.findings
            if f.rule.startswith(rule_prefix)]


def _outcomes(result):
    return {(c.path, c.line): c.outcome for c in result.db_calls}


# -- filters and rows returned by helpers ------------------------------------------

def test_helper_filter_is_interpreted_with_the_callers_arguments():
    result = _run("""
        def _scope(org, *, archived=False, **extra):
            filters = {"clerk_org_id": org, **extra}
            if archived:
                filters["archived"] = True
            return filters

        def get(db, org, agent_id):
            return db.select_one("agents", _scope(org, id=agent_id))
        """)
    assert _findings(result) == []
    assert _outcomes(result)[("app/m.py", 9)] == "scoped"


def test_helper_putting_the_org_under_another_key_says_which():
    result = _run("""
        def _scope(org, **extra):
            return {"organization_id": org, **extra}

        def get(db, org, agent_id):
            return db.select_one("agents", _scope(org, id=agent_id))
        """)
    [(_, line, rule, message)] = _findings(result)
    assert (line, rule) == (6, "ORG101")
    assert ("filters by id, organization_id only (built by `_scope()`, which puts the tenant "
            "value under \"organization_id\", not \"clerk_org_id\")") in message


def test_helper_without_any_tenant_like_key_says_it_has_none():
    result = _run("""
        def _by_id(agent_id):
            return {"id": agent_id}

        def get(db, agent_id):
            return db.select_one("agents", _by_id(agent_id))
        """)
    [(_, _, _, message)] = _findings(result)
    assert "(built by `_by_id()`, which has no \"clerk_org_id\")" in message


def test_a_recursive_helper_is_not_followed_forever():
    result = _run("""
        def _scope(org, depth=0):
            if depth > 3:
                return {"clerk_org_id": org}
            return _scope(org, depth + 1)

        def get(db, org):
            return db.select("agents", _scope(org))
        """)
    assert _outcomes(result)[("app/m.py", 8)] == "unknown"


def test_helper_in_another_module_is_summarised_with_its_extra_keywords():
    files = {"app/filters.py": """
        def scoped(org, **extra):
            return {"clerk_org_id": org, **extra}

        def by_org_name(org, **extra):
            return {"org_name": org, **extra}
        """}
    result = _run("""
        from app.filters import scoped, by_org_name

        def ok(db, org, x):
            return db.select("agents", scoped(org, id=x))

        def bad(db, org, x):
            db.update("agents", by_org_name(org, id=x), {"n": 1})

        def ok_by_keyword(db, org, x):
            return db.select("agents", by_org_name(org, clerk_org_id=org))
        """, files)
    [(path, line, rule, message)] = _findings(result)
    assert (path, line, rule) == ("app/m.py", 8, "ORG102")
    assert ("filters by id, org_name only (the filter is built by `by_org_name()` at "
            "app/filters.py:5, which puts the tenant value under \"org_name\", not "
            "\"clerk_org_id\")") in message


# -- for loops over literal pairs ------------------------------------------------------

def test_for_over_literal_pairs_runs_once_per_pair():
    result = _run("""
        def get(db, org, x):
            filters = {}
            for key, value in (("clerk_org_id", org), ("id", x)):
                filters[key] = value
            db.select("agents", filters)

        def partial(db, org, x):
            filters = {}
            for key, value in [("id", x), ("clerk_org_id", org)]:
                if value is None:
                    break
                filters[key] = value
            db.select("agents", filters)
        """)
    outcomes = _outcomes(result)
    assert outcomes[("app/m.py", 6)] == "scoped"
    # a `break` before the tenant pair leaves it out on that path
    assert outcomes[("app/m.py", 14)] == "conditional"


def test_a_loop_that_rebinds_its_key_is_not_unrolled():
    result = _run("""
        def get(db, org, x):
            filters = {}
            for key, value in [("clerk_org_id", org), ("id", x)]:
                key = key.upper()
                filters[key] = value
            db.select("agents", filters)
        """)
    assert _outcomes(result)[("app/m.py", 7)] == "unknown"


# -- filters and rows passed into the function that runs them ------------------------

def test_row_passed_by_callers_names_the_caller_without_the_key():
    files = {"app/store.py": """
        def save_row(db, row):
            db.insert("agents", row)
        """}
    result = _run("""
        from app.store import save_row

        def create(db, org, name):
            save_row(db, {"name": name, "clerk_org_id": org})

        def create_unowned(db, name):
            save_row(db, row={"name": name})

        def create_many(db, name):
            save_row(db, {"name": name, "kind": "copy"})
        """, files)
    [(path, line, rule, message)] = _findings(result)
    assert (path, line, rule) == ("app/store.py", 3, "ORG103")
    assert ("(`row` is passed by the caller at app/m.py:8 (`create_unowned`) and 1 more)"
            in message)
    # the run's DB calls agree with the finding (the report counts them unscoped)
    [call] = [c for c in result.db_calls if c.path == "app/store.py"]
    assert call.outcome == "unscoped"
    assert "passed by the caller at app/m.py:8" in call.detail


def test_row_passed_by_every_caller_with_the_key_is_no_finding():
    result = _run("""
        def save_row(db, row):
            db.insert("agents", row)

        def create(db, org, name):
            save_row(db, {"name": name, "clerk_org_id": org})

        def copy(db, row):
            save_row(db, row)  # not a dict the tool sees: no judgement
        """)
    assert _findings(result) == []


def test_a_reassigned_parameter_is_not_a_passed_row():
    result = _run("""
        def save_row(db, row):
            row = normalise(row)
            db.insert("agents", row)

        def create(db, name):
            save_row(db, {"name": name})
        """)
    assert _findings(result) == []


# -- closures and callbacks ---------------------------------------------------------

def test_closure_sees_the_guard_before_its_definition_only():
    result = _run("""
        from fastapi import HTTPException
        from app.tasks import run_safely

        async def pause(db, agent_id, org):
            def early():
                return db.update("agents", {"id": agent_id}, {"s": 1})
            if not db.select_one("agents", {"id": agent_id, "clerk_org_id": org}):
                raise HTTPException(404)

            def late():
                return db.update("agents", {"id": agent_id}, {"s": 2})
            await run_safely(early)
            return await run_safely(late)
        """)
    assert [(line, rule) for _, line, rule, _ in _findings(result)] == [(7, "ORG102")]


def test_closure_scoped_by_the_enclosing_parameter_makes_a_wrapper():
    # `org` is the enclosing function's parameter: its callers must pass it
    result = _run("""
        from app.tasks import run_safely

        async def load(supabase, org=None):
            def op():
                return supabase.table("agents").select("*").eq("clerk_org_id", org).execute()
            return await run_safely(op)

        async def caller(supabase):
            return await load(supabase)
        """, config=SUPABASE)
    assert [(line, rule) for _, line, rule, _ in _findings(result)] == [(10, "ORG106")]


# -- queries kept in a variable ----------------------------------------------------

def test_stored_query_is_reported_where_it_is_built_naming_where_it_runs():
    result = _run("""
        def get(supabase, agent_id, status):
            query = supabase.table("agents").select("*").eq("id", agent_id)
            if status:
                query = query.eq("status", status)
            return query.execute()
        """, config=SUPABASE)
    [(_, line, rule, message)] = _findings(result)
    assert (line, rule) == (3, "ORG101")
    assert "(the query runs at line 6)" in message


def test_conditional_scope_stays_where_the_query_runs():
    result = _run("""
        def get(supabase, agent_id, org):
            query = supabase.table("agents").select("*").eq("id", agent_id)
            if org:
                query = query.eq("clerk_org_id", org)
            return query.execute()
        """, config=SUPABASE)
    assert [(line, rule) for _, line, rule, _ in _findings(result)] == [(6, "ORG104")]


def test_queries_built_on_two_branches_are_reported_where_they_run():
    result = _run("""
        def get(supabase, agent_id, flag):
            if flag:
                query = supabase.table("agents").select("id").eq("id", agent_id)
            else:
                query = supabase.table("agents").select("*").eq("id", agent_id)
            return query.execute()
        """, config=SUPABASE)
    assert [(line, rule) for _, line, rule, _ in _findings(result)] == [(7, "ORG101")]


def test_strict_reports_a_passed_row_once_and_drops_it_when_every_caller_has_the_key():
    files = {"app/store.py": """
        def save_row(db, row):
            db.insert("agents", row)

        def save_any(db, row):
            db.insert("agents", row)
        """}
    result = _run("""
        from app.store import save_row, save_any

        def create(db, org, name):
            save_row(db, {"name": name, "clerk_org_id": org})

        def create_unowned(db, name):
            save_any(db, {"name": name})

        def copy(db, row):
            save_any(db, row)
        """, files, config={"strict": True})
    found = [(path, line, rule) for path, line, rule, _ in _findings(result)]
    # save_row: every caller passes the key (no "cannot be verified"); save_any:
    # one caller lacks it (ORG103 naming it), one passes what the tool cannot
    # see: one finding, the one naming the caller
    assert found == [("app/store.py", 6, "ORG103")]
    assert "passed by the caller at app/m.py:8 (`create_unowned`)" in _findings(result)[0][3]


def test_a_passed_row_whose_tenant_value_comes_from_the_request_is_org202():
    """Review: written inline, `db.insert("agents", {"clerk_org_id": body.org})`
    is ORG202; handed to the function that inserts it, it was no finding at all."""
    files = {"app/store.py": """
        def save_row(db, row):
            db.insert("agents", row)
        """}
    result = _run("""
        from fastapi import APIRouter, Depends
        from pydantic import BaseModel
        from app.core.auth import get_current_user
        from app.store import save_row

        router = APIRouter()


        class Body(BaseModel):
            name: str
            clerk_org_id: str


        @router.post("/agents")
        def create(body: Body, db=None, current_user: dict = Depends(get_current_user)):
            save_row(db, {"name": body.name, "clerk_org_id": body.clerk_org_id})


        @router.post("/agents/own")
        def create_own(body: Body, db=None, current_user: dict = Depends(get_current_user)):
            save_row(db, {"name": body.name, "clerk_org_id": current_user["clerk_org_id"]})
        """, files, {"auth-dependencies": ["get_current_user"]})
    org202 = [(path, line) for path, line, rule, _ in _findings(result, "ORG202")]
    assert org202 == [("app/m.py", 17)], _findings(result, "ORG2")
    [(_, _, _, message)] = _findings(result, "ORG202")
    assert "the row passed as `save_row`'s `row`" in message and "body" in message
    assert _findings(result, "ORG103") == []
