"""The `sql` preset and the rest of supabase-py, through the engine: every
driver and text shape, scoped and unscoped; project wrappers; clients found
across modules; rpc bodies from the migrations."""
import textwrap

from orgscope_lint.model import Outcome
from orgscope_lint.testing import config_from, found, marks_in, run_sources

SCHEMA = """
CREATE TABLE threads (id uuid PRIMARY KEY, account_id uuid NOT NULL, title text);
CREATE TABLE messages (id uuid PRIMARY KEY, thread_id uuid, account_id uuid, body text);
CREATE TABLE plans (id text PRIMARY KEY, price int);
"""
CONFIG = {"tenant-key": "account_id", "db": {"presets": ["sql", "supabase"]}}


def run(files, config=None, schema=SCHEMA):
    files = {path: textwrap.dedent(code).lstrip("\n") for path, code in files.items()}
    if schema:
        files["supabase/migrations/001_init.sql"] = schema
    config = dict(config or CONFIG)
    config.setdefault("select", ["ORG10"])  # the DB-call rules
    result = run_sources(files, config_from(config))
    assert not result.internal_errors, result.internal_errors
    return files, result


def check_marks(files, config=None, schema=SCHEMA):
    if isinstance(files, str):
        files = {"app/x.py": files}
    files, result = run(files, config, schema)
    active, _ = found(result)
    expected, _ = marks_in({p: c for p, c in files.items() if p.endswith(".py")})
    assert sorted(active) == sorted(expected)
    return result


def call_at(result, line, path="app/x.py"):
    matches = [c for c in result.db_calls if c.path == path and c.line == line]
    assert len(matches) == 1, [(c.path, c.line) for c in result.db_calls]
    return matches[0]


def test_asyncpg_positional_parameters():
    check_marks('''
        async def get(conn, pool, tid, account_id):
            a = await conn.fetchrow("SELECT * FROM threads WHERE id = $1 AND account_id = $2", tid, account_id)
            b = await conn.fetchrow("SELECT * FROM threads WHERE id = $1", tid)  # expect: ORG101
            c = await pool.fetchval("SELECT count(*) FROM messages WHERE account_id = $1", account_id)
            await conn.execute("DELETE FROM messages WHERE thread_id = $1", tid)  # expect: ORG102
            await conn.executemany("INSERT INTO messages (id, body) VALUES ($1, $2)", rows)  # expect: ORG103
            await conn.fetch("SELECT * FROM messages")  # expect: ORG105
            return a, b, c
    ''')


def test_psycopg_sqlite_sqlalchemy_and_databases():
    check_marks('''
        import sqlite3
        from sqlalchemy import text

        def psycopg(cur, tid, account_id):
            cur.execute("UPDATE threads SET title = %s WHERE id = %s AND account_id = %s", ("t", tid, account_id))
            cur.execute("UPDATE threads SET title = %(t)s WHERE id = %(id)s", {"t": "t", "id": tid})  # expect: ORG102

        def lite(tid, account_id):
            con = sqlite3.connect("x.db")
            con.execute("SELECT * FROM threads WHERE id = ? AND account_id = ?", (tid, account_id))
            con.execute("SELECT * FROM threads WHERE id = ?", (tid,))  # expect: ORG101

        def alchemy(session, connection, tid, account_id):
            session.execute(text("DELETE FROM threads WHERE id = :id AND account_id = :a"), {"id": tid, "a": account_id})
            session.execute(text("DELETE FROM threads WHERE id = :id"), {"id": tid})  # expect: ORG102
            connection.exec_driver_sql("SELECT * FROM messages WHERE id = %s", (tid,))  # expect: ORG101

        async def databases_library(database, tid, account_id):
            await database.fetch_all(query="SELECT * FROM messages WHERE thread_id = :t AND account_id = :a",
                                     values={"t": tid, "a": account_id})
            await database.fetch_one(query="SELECT * FROM messages WHERE thread_id = :t",  # expect: ORG101
                                     values={"t": tid})
    ''')


def test_sql_text_shapes():
    check_marks('''
        BY_ID = "SELECT * FROM threads WHERE id = $1"
        SCOPED = ("SELECT * FROM threads "
                  "WHERE id = $1 AND account_id = $2")

        async def shapes(conn, tid, account_id, order):
            await conn.fetch(BY_ID, tid)  # expect: ORG101
            await conn.fetch(SCOPED, tid, account_id)
            await conn.fetch("SELECT * FROM threads " + "WHERE id = $1", tid)  # expect: ORG101
            await conn.fetch("SELECT * FROM threads WHERE account_id = {}".format(account_id))
            await conn.fetch("SELECT * FROM threads WHERE id = {tid}".format(tid=tid))  # expect: ORG101
            await conn.fetch(f"SELECT * FROM threads WHERE account_id = '{account_id}'")
            await conn.fetch(f"SELECT * FROM threads WHERE account_id = $1 ORDER BY {order}", account_id)
    ''')


def test_identifier_and_condition_holes_are_unverified_and_say_so():
    _, result = run({"app/x.py": '''
        async def holes(conn, table, where, account_id):
            await conn.fetch(f"SELECT * FROM {table} WHERE account_id = $1", account_id)
            await conn.fetch(f"SELECT * FROM threads WHERE {where}")
            await conn.fetch("SELEC * FROM threads")
    '''})
    assert not result.findings or all(f.rule == "ORG401" for f in result.findings)
    details = [call_at(result, line).detail for line in (2, 3, 4)]
    assert all(call_at(result, line).outcome == Outcome.UNKNOWN for line in (2, 3, 4))
    assert "identifier or keyword position" in details[0]
    assert "whole condition" in details[1]
    assert details[2].startswith('the SQL text does not parse: syntax error at or near "SELEC"')


def test_sql_built_across_statements_and_branches():
    result = check_marks('''
        def search(cur, account_id, term, admin):
            sql = "SELECT id FROM messages WHERE body ILIKE %(term)s"
            sql += " AND account_id = %(a)s"
            cur.execute(sql, {"term": term, "a": account_id})

        def sometimes(cur, account_id, term):
            sql = "SELECT id FROM messages WHERE body ILIKE %(term)s"
            if account_id:
                sql += " AND account_id = %(a)s"
            cur.execute(sql, {"term": term, "a": account_id})  # expect: ORG104

        def either(cur, account_id, tid, mine):
            if mine:
                sql = "SELECT * FROM threads WHERE account_id = %s"
                params = (account_id,)
            else:
                sql = "SELECT * FROM threads WHERE id = %s"
                params = (tid,)
            cur.execute(sql, params)  # expect: ORG104

        def both(cur, account_id, tid, mine):
            sql = "SELECT * FROM threads WHERE account_id = %s" if mine else \\
                "SELECT * FROM threads WHERE account_id = %s AND id = %s"
            cur.execute(sql, (account_id, tid))
    ''')
    assert call_at(result, 4).outcome == Outcome.SCOPED
    assert call_at(result, 24).outcome == Outcome.SCOPED


def test_project_wrappers_inferred_across_modules_and_configured():
    files = {
        "app/db.py": '''
            pool = None

            async def execute(sql, params=None):
                async with pool.acquire() as conn:
                    return await conn.fetch(sql, *(params or []))

            async def run_query(query, *args):
                return await execute(query, list(args))
        ''',
        "app/x.py": '''
            from app.db import execute, run_query
            from vendor.sql import raw

            async def handler(tid, account_id):
                await execute("SELECT * FROM threads WHERE id = $1 AND account_id = $2", [tid, account_id])
                await execute("SELECT * FROM threads WHERE id = $1", [tid])  # expect: ORG101
                await run_query("DELETE FROM threads WHERE id = $1", tid)  # expect: ORG102
                await raw("UPDATE threads SET title = 'x' WHERE id = %s", (tid,))  # expect: ORG102
        ''',
    }
    config = {"tenant-key": "account_id",
              "db": {"presets": ["sql"], "sql-functions": ["vendor.sql.raw"]}}
    result = check_marks(files, config)
    # the wrappers' own driver calls take their callers' SQL: not calls of their own
    assert not [c for c in result.db_calls if c.path == "app/db.py"]


def test_joins_ctes_and_the_table_named():
    result = check_marks('''
        async def joined(conn, tid, account_id):
            await conn.fetch("SELECT m.* FROM messages m JOIN threads t ON t.id = m.thread_id "  # expect: ORG101
                             "WHERE t.account_id = $1", account_id)
            await conn.fetch("WITH t AS (SELECT id FROM threads WHERE account_id = $1) "
                             "SELECT * FROM messages WHERE account_id = $1 AND thread_id IN (SELECT id FROM t)",
                             account_id)
            await conn.fetch("SELECT * FROM plans")
    ''')
    finding = result.findings[0]
    assert "'messages'" in finding.message and finding.table == "messages"
    assert call_at(result, 7).outcome == Outcome.GLOBAL


def test_raw_sql_has_no_fix_and_says_why():
    _, result = run({"app/x.py": '''
        async def get(conn, tid):
            return await conn.fetchrow("SELECT * FROM threads WHERE id = $1", tid)
    '''})
    [finding] = [f for f in result.findings if f.rule == "ORG101"]
    assert finding.fix is None and "raw SQL" in finding.no_fix


def test_a_tenant_parameter_of_a_sql_function_is_a_wrapper_summary():
    result = check_marks({"app/x.py": '''
        async def get_thread(conn, tid, account_id=None):
            return await conn.fetchrow("SELECT * FROM threads WHERE id = $1 AND account_id = $2",
                                       tid, account_id)

        async def handler(conn, tid):
            return await get_thread(conn, tid)  # expect: ORG106
    '''})
    assert result.findings[0].rule == "ORG106"


# -- supabase ------------------------------------------------------------------

def test_clients_from_providers_across_modules():
    files = {
        "app/core/db.py": '''
            from supabase import AsyncClient, create_async_client, create_client

            class DBConnection:
                async def initialize(self):
                    self._client = await create_async_client("u", "k")

                @property
                async def client(self):
                    return self._client

            def admin():
                return create_client("u", "k")

            async def get_async() -> AsyncClient:
                ...
        ''',
        "app/x.py": '''
            from app.core.db import DBConnection, admin, get_async

            db = DBConnection()

            async def one(tid, account_id):
                client = await db.client
                await client.table("threads").select("*").eq("id", tid).eq("account_id", account_id).execute()
                await client.table("threads").select("*").eq("id", tid).execute()  # expect: ORG101

            class Service:
                def __init__(self, db):
                    self.db = db

                async def two(self, tid):
                    c = await self.db.client
                    await c.schema("private").table("messages").delete().eq("id", tid).execute()  # expect: ORG102

            def three(tid):
                admin().postgrest.from_("messages").update({"body": ""}).eq("id", tid).execute()  # expect: ORG102

            async def four(tid):
                client = await get_async()
                await client.table("threads").insert({"id": tid}).execute()  # expect: ORG103
        ''',
    }
    check_marks(files)


def test_embedded_inner_join_filters_scope_the_parent():
    check_marks('''
        async def embedded(client, account_id):
            await client.table("messages").select("*, threads!inner(account_id)").eq("threads.account_id", account_id).execute()
            await client.table("messages").select("*, t:threads!inner(id)").eq("t.account_id", account_id).execute()
            await client.table("messages").select("*, threads(account_id)").eq("threads.account_id", account_id).execute()  # expect: ORG101
    ''')


RPC_SCHEMA = SCHEMA + """
CREATE FUNCTION thread_of(p_id uuid, p_account uuid) RETURNS SETOF threads LANGUAGE sql AS $$
  SELECT * FROM threads WHERE id = p_id AND account_id = p_account
$$;
CREATE FUNCTION wipe(p_thread uuid) RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE n int;
BEGIN
  DELETE FROM messages WHERE thread_id = p_thread;
  PERFORM pg_notify('wiped', p_thread::text);
END;
$$;
CREATE FUNCTION gone() RETURNS void LANGUAGE sql AS $$ DELETE FROM messages $$;
DROP FUNCTION gone();
"""


def test_rpc_judged_from_the_body_in_the_migrations():
    result = check_marks('''
        def calls(client, tid, account_id, params):
            client.rpc("thread_of", {"p_id": tid, "p_account": account_id}).execute()
            client.rpc("thread_of", {"p_id": tid}).execute()  # expect: ORG101
            client.rpc("wipe", {"p_thread": tid}).execute()  # expect: ORG102
            client.rpc("thread_of", params).execute()
            client.rpc("gone").execute()
    ''', schema=RPC_SCHEMA)
    assert call_at(result, 2).outcome == Outcome.SCOPED
    wipe = [f for f in result.findings if f.line == 4][0]
    assert "wipe" in wipe.message and "SECURITY DEFINER" in wipe.message
    assert call_at(result, 5).outcome == Outcome.UNKNOWN  # parameters not visible
    assert call_at(result, 6).outcome == Outcome.UNKNOWN  # dropped: body unknown


def test_rpc_tenant_params_for_unknown_bodies():
    config = {"tenant-key": "account_id",
              "db": {"presets": ["supabase"], "rpc-tenant-params": ["p_account_id"]}}
    _, result = run({"app/x.py": '''
        def calls(client, account_id):
            client.rpc("stats", {"p_account_id": account_id}).execute()
            client.rpc("stats", {"p_other": account_id}).execute()
    '''}, config)
    assert call_at(result, 2).outcome == Outcome.SCOPED
    assert call_at(result, 3).outcome == Outcome.UNKNOWN
    assert "rpc-tenant-params" in call_at(result, 3).detail


def test_project_facts_are_cached_by_the_files_they_read(tmp_path):
    """A warm run reuses the pre-pass facts; editing a file it reads redoes them."""
    from orgscope_lint.config import load_config
    from orgscope_lint.engine import Options
    from orgscope_lint.engine import run as run_engine

    (tmp_path / "pyproject.toml").write_text(
        '[tool.orgscope-lint]\ntenant-key = "account_id"\n'
        '[tool.orgscope-lint.db]\npresets = ["supabase"]\n', encoding="utf-8")
    app = tmp_path / "app"
    app.mkdir()
    provider = app / "conn.py"
    provider.write_text(textwrap.dedent('''
        from supabase import create_async_client

        class Conn:
            async def start(self):
                self._client = await create_async_client("u", "k")

            @property
            async def client(self):
                return self._client
    '''), encoding="utf-8")
    (app / "use.py").write_text(textwrap.dedent('''
        async def get(db, tid):
            client = await db.client
            return await client.table("threads").select("*").eq("id", tid).execute()
    '''), encoding="utf-8")

    def calls():
        result = run_engine([tmp_path], load_config(None, tmp_path), Options(jobs=1))
        return [(c.path, c.table) for c in result.db_calls]

    assert calls() == [("app/use.py", "threads")]
    stored = tmp_path / ".orgscope-lint-cache" / "project-supabase.json"
    assert "client" in stored.read_text(encoding="utf-8")
    assert calls() == [("app/use.py", "threads")]  # warm: from the stored facts
    provider.write_text(provider.read_text(encoding="utf-8").replace(
        "await create_async_client", "await make_something"), encoding="utf-8")
    assert calls() == []  # the provider is gone: `await db.client` is no client


PLPGSQL_SCHEMA = SCHEMA + """
CREATE FUNCTION tidy(p_thread uuid, p_account uuid) RETURNS SETOF threads LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  IF p_thread IS NOT NULL THEN
    FOR r IN SELECT id FROM messages WHERE thread_id = p_thread AND account_id = p_account LOOP
      DELETE FROM messages WHERE id = r.id;
    END LOOP;
  END IF;
  RETURN QUERY SELECT * FROM threads WHERE account_id = p_account;
END;
$$;
CREATE FUNCTION listing(p_account uuid) RETURNS SETOF threads LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY SELECT * FROM threads WHERE account_id = p_account;
END;
$$;
"""


def test_rpc_plpgsql_statements_nested_in_if_and_loops_are_judged():
    result = check_marks('''
        def calls(client, tid, account_id):
            client.rpc("tidy", {"p_thread": tid, "p_account": account_id}).execute()  # expect: ORG102
            client.rpc("listing", {"p_account": account_id}).execute()
    ''', schema=PLPGSQL_SCHEMA)
    tidy = result.findings[0]
    assert "'messages'" in tidy.message and "DELETE" in tidy.message
    assert call_at(result, 3).outcome == Outcome.SCOPED


def test_two_uses_of_one_table_are_judged_apart():
    check_marks('''
        async def self_join(conn, account_id):
            await conn.fetch("SELECT a.id FROM threads a JOIN threads b ON b.id = a.id "  # expect: ORG101
                             "WHERE a.account_id = $1", account_id)
            await conn.fetch("SELECT a.id FROM threads a JOIN threads b ON b.id = a.id "
                             "AND b.account_id = a.account_id WHERE a.account_id = $1", account_id)
    ''')


def test_with_the_sqlalchemy_preset_text_is_judged_by_the_sql_preset():
    code = '''
        from sqlalchemy import text

        def purge(session, tid):
            session.execute(text("DELETE FROM threads WHERE id = :id"), {"id": tid})  # expect: ORG102
    '''
    for presets in (["sqlalchemy", "sql"], ["sql", "sqlalchemy"]):
        result = check_marks(code, {"tenant-key": "account_id", "db": {"presets": presets}})
        [call] = result.db_calls
        assert call.preset == "sql" and call.method == "execute(DELETE)"
    _, alone = run({"app/x.py": code}, {"tenant-key": "account_id", "db": {"presets": ["sqlalchemy"]}})
    assert [c.outcome for c in alone.db_calls] == [Outcome.UNKNOWN]  # opaque without it
