import json
import pickle
from pathlib import Path

from pglast.parser import ParseError, parse_sql
from pglast.stream import RawStream

from orgscope_lint.analysis.schema import (
    Location,
    Policy,
    Schema,
    SchemaError,
    Table,
    load_schema,
)

DATA = Path(__file__).parent / "data" / "schema"
TENANT_EXPR = "clerk_org_id = (auth.jwt() ->> 'org_id')"
TENANT = f"USING ({TENANT_EXPR})"


def deparsed(expr: str) -> str:
    """pglast's rendering of `expr`: its parenthesisation differs between versions."""
    return RawStream()(parse_sql(f"SELECT {expr}")[0].stmt.targetList[0].val)


def _parser_message(sql: str) -> str:
    try:
        parse_sql(sql)
    except ParseError as error:
        return f"cannot parse statement: {error.args[0]}"
    raise AssertionError(f"{sql!r} parses")


# PostgreSQL 15 complains at NOT, 17 at EXISTS.
ADD_CONSTRAINT_ERROR = _parser_message("ALTER TABLE t ADD CONSTRAINT IF NOT EXISTS c UNIQUE (a)")


def load(sql: str, path: str = "m.sql") -> Schema:
    return load_schema([(path, sql)])


# -- CREATE TABLE ---------------------------------------------------------------


def test_create_table_records_columns_in_order_and_location():
    schema = load(
        "-- header\n"
        "\n"
        "CREATE TABLE agents (\n"
        "  id uuid PRIMARY KEY,\n"
        "  clerk_org_id text NOT NULL,\n"
        "  name text,\n"
        "  CONSTRAINT agents_name_key UNIQUE (name)\n"
        ");\n"
    )
    assert schema.errors == []
    assert schema.files == ["m.sql"]
    assert schema.tables == {
        "agents": Table(
            name="agents",
            schema="public",
            columns=["id", "clerk_org_id", "name"],
            rls_enabled=False,
            policies={},
            location=Location("m.sql", 3),
            rls_location=None,
            primary_key=["id"],
        )
    }


def test_primary_and_foreign_keys_from_create_and_alter_table():
    schema = load(
        "CREATE TABLE projects (id uuid, clerk_org_id text, PRIMARY KEY (id));\n"
        "CREATE TABLE tasks (\n"
        "  id uuid PRIMARY KEY,\n"
        "  project_id uuid REFERENCES public.projects(id) ON DELETE CASCADE,\n"
        "  owner_id uuid,\n"
        "  a int, b int,\n"
        "  FOREIGN KEY (owner_id) REFERENCES users (id),\n"
        "  FOREIGN KEY (a, b) REFERENCES pairs (x, y)\n"
        ");\n"
        "ALTER TABLE tasks ADD COLUMN parent_id uuid REFERENCES tasks;\n"
        "ALTER TABLE tasks ADD CONSTRAINT tasks_team FOREIGN KEY (team_id) REFERENCES teams(uid);\n"
    )
    assert schema.tables["projects"].primary_key == ["id"]
    tasks = schema.tables["tasks"]
    assert tasks.primary_key == ["id"]
    # a composite key pins no single parent; `REFERENCES tasks` means its primary key
    assert tasks.foreign_keys == [("project_id", "projects", "id"), ("owner_id", "users", "id"),
                                  ("parent_id", "tasks", "id"), ("team_id", "teams", "uid")]


def test_qualified_and_mixed_case_names_are_unqualified_lower_case():
    schema = load("CREATE TABLE public.Agents (id int);\nCREATE TABLE private.secrets (id int);")
    assert sorted(schema.tables) == ["agents", "secrets"]
    assert schema.tables["agents"].name == "agents"
    assert schema.tables["agents"].schema == "public"
    assert schema.tables["secrets"].schema == "private"


def test_create_table_if_not_exists_is_a_no_op_when_the_table_exists():
    schema = load("CREATE TABLE agents (id int, clerk_org_id text);\nCREATE TABLE IF NOT EXISTS agents (id int);")
    assert schema.tables["agents"].columns == ["id", "clerk_org_id"]
    assert schema.tables["agents"].location == Location("m.sql", 1)


def test_every_create_table_form_is_seen_and_functions_returning_table_are_not():
    schema = load(
        "CREATE UNLOGGED TABLE IF NOT EXISTS a (id int);\n"
        "CREATE GLOBAL TEMPORARY TABLE b (id int);\n"
        "CREATE /* why not */ TABLE c (id int);\n"
        "CREATE FUNCTION f() RETURNS TABLE (id int) AS $$ SELECT 1 $$ LANGUAGE sql;\n"
    )
    assert list(schema.tables) == ["a", "b", "c"]
    assert schema.errors == []


def test_create_table_like_and_inherits_copy_known_columns():
    schema = load(
        "CREATE TABLE base (id int, clerk_org_id text);\n"
        "CREATE TABLE copy (LIKE base INCLUDING ALL, extra int);\n"
        "CREATE TABLE child (note text) INHERITS (base);\n"
    )
    assert schema.tables["copy"].columns == ["id", "clerk_org_id", "extra"]
    assert schema.tables["child"].columns == ["id", "clerk_org_id", "note"]


# -- ALTER TABLE columns ------------------------------------------------------------


def test_add_drop_and_rename_column():
    schema = load(
        "CREATE TABLE agents (id int, name text, notes text);\n"
        "ALTER TABLE agents ADD COLUMN clerk_org_id text;\n"
        "ALTER TABLE agents DROP COLUMN notes;\n"
        "ALTER TABLE agents RENAME COLUMN name TO title;\n"
    )
    table = schema.tables["agents"]
    assert table.columns == ["id", "title", "clerk_org_id"]
    assert table.location == Location("m.sql", 4)


def test_add_column_if_not_exists_and_drop_column_if_exists_no_ops():
    schema = load(
        "CREATE TABLE agents (id int, clerk_org_id text);\n"
        "ALTER TABLE agents ADD COLUMN IF NOT EXISTS clerk_org_id text;\n"
        "ALTER TABLE agents DROP COLUMN IF EXISTS missing;\n"
    )
    table = schema.tables["agents"]
    assert table.columns == ["id", "clerk_org_id"]
    assert table.location == Location("m.sql", 1)
    assert schema.errors == []


def test_several_commands_in_one_alter_table():
    schema = load(
        "CREATE TABLE public.agents (id int, old text);\n"
        "ALTER TABLE IF EXISTS ONLY public.agents\n"
        "  ADD COLUMN a int,\n"
        "  ADD COLUMN IF NOT EXISTS b int,\n"
        "  DROP COLUMN old,\n"
        "  ENABLE ROW LEVEL SECURITY;\n"
    )
    table = schema.tables["agents"]
    assert table.columns == ["id", "a", "b"]
    assert table.location == Location("m.sql", 2)
    assert table.rls_enabled is True
    assert table.rls_location == Location("m.sql", 2)


def test_alter_of_unknown_table_and_of_other_relation_kinds_is_ignored():
    schema = load(
        "ALTER TABLE IF EXISTS ghosts ADD COLUMN clerk_org_id text;\n"
        "ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;\n"
        "CREATE TABLE agents (id int);\n"
        "CREATE INDEX agents_id ON agents (id);\n"
        "ALTER INDEX agents_id RENAME TO agents_id_idx;\n"
        "CREATE VIEW v AS SELECT id FROM agents;\n"
        "ALTER VIEW v RENAME COLUMN id TO agent_id;\n"
    )
    assert list(schema.tables) == ["agents"]
    assert schema.tables["agents"].columns == ["id"]
    assert schema.tables["agents"].location == Location("m.sql", 3)
    assert schema.errors == []


# -- RENAME / DROP TABLE ------------------------------------------------------------


def test_rename_table_carries_policies_and_rls_state():
    schema = load(
        "CREATE TABLE public.bots (id int, clerk_org_id text);\n"
        "ALTER TABLE bots ENABLE ROW LEVEL SECURITY;\n"
        f"CREATE POLICY org ON bots {TENANT};\n"
        "ALTER TABLE public.bots RENAME TO agents;\n"
    )
    assert list(schema.tables) == ["agents"]
    table = schema.tables["agents"]
    assert table.name == "agents"
    assert table.schema == "public"
    assert table.location == Location("m.sql", 4)
    assert table.rls_enabled is True
    assert table.rls_location == Location("m.sql", 2)
    assert list(table.policies) == ["org"]
    assert table.policies["org"].table == "agents"
    assert table.policies["org"].location == Location("m.sql", 3)


def test_drop_table_then_create_again_starts_fresh():
    schema = load(
        "CREATE TABLE agents (id int, clerk_org_id text);\n"
        "ALTER TABLE agents ENABLE ROW LEVEL SECURITY;\n"
        f"CREATE POLICY org ON agents {TENANT};\n"
        "DROP TABLE agents;\n"
        "CREATE TABLE agents (id int, name text);\n"
    )
    assert schema.tables["agents"] == Table(
        name="agents",
        schema="public",
        columns=["id", "name"],
        rls_enabled=False,
        policies={},
        location=Location("m.sql", 5),
        rls_location=None,
    )


def test_drop_table_if_exists_qualified_and_several_at_once():
    schema = load(
        "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCREATE TABLE c (id int);\n"
        "DROP TABLE IF EXISTS public.a, b, never_created CASCADE;\n"
    )
    assert list(schema.tables) == ["c"]
    assert schema.errors == []


def test_set_schema_moves_the_table():
    schema = load("CREATE TABLE agents (id int);\nALTER TABLE agents SET SCHEMA private;\n")
    assert schema.tables["agents"].schema == "private"
    assert schema.tables["agents"].location == Location("m.sql", 2)


# -- row-level security --------------------------------------------------------------


def test_enable_and_disable_row_level_security():
    schema = load(
        "CREATE TABLE agents (id int);\n"
        "CREATE TABLE calls (id int);\n"
        "ALTER TABLE agents ENABLE ROW LEVEL SECURITY;\n"
        "ALTER TABLE calls ENABLE ROW LEVEL SECURITY;\n"
        "ALTER TABLE calls DISABLE ROW LEVEL SECURITY;\n"
    )
    assert schema.tables["agents"].rls_enabled is True
    assert schema.tables["agents"].rls_location == Location("m.sql", 3)
    assert schema.tables["calls"].rls_enabled is False
    assert schema.tables["calls"].rls_location == Location("m.sql", 5)


def test_force_row_level_security_does_not_enable_it():
    # PostgreSQL: FORCE has no effect until RLS is enabled.
    schema = load(
        "CREATE TABLE agents (id int);\n"
        "CREATE TABLE calls (id int);\n"
        "ALTER TABLE agents FORCE ROW LEVEL SECURITY;\n"
        "ALTER TABLE calls ENABLE ROW LEVEL SECURITY;\n"
        "ALTER TABLE calls FORCE ROW LEVEL SECURITY;\n"
        "ALTER TABLE calls NO FORCE ROW LEVEL SECURITY;\n"
    )
    assert schema.tables["agents"].rls_enabled is False
    assert schema.tables["agents"].rls_location is None
    assert schema.tables["calls"].rls_enabled is True
    assert schema.tables["calls"].rls_location == Location("m.sql", 4)


# -- policies --------------------------------------------------------------------------


def test_tenant_policy_references_the_column_and_true_policy_does_not():
    schema = load(
        "CREATE TABLE agents (id int, clerk_org_id text);\n"
        "CREATE POLICY \"agents org\" ON public.agents\n"
        "  FOR ALL TO authenticated\n"
        "  USING (clerk_org_id = (auth.jwt() ->> 'org_id'));\n"
        "CREATE POLICY open ON agents FOR SELECT USING (true);\n"
    )
    policies = schema.tables["agents"].policies
    assert policies["agents org"] == Policy(
        name="agents org",
        table="agents",
        command="ALL",
        using=deparsed(TENANT_EXPR),
        with_check=None,
        columns={"clerk_org_id"},
        location=Location("m.sql", 2),
    )
    assert policies["open"] == Policy(
        name="open",
        table="agents",
        command="SELECT",
        using="TRUE",
        with_check=None,
        columns=set(),
        location=Location("m.sql", 5),
    )


def test_policy_commands_with_check_and_qualified_column_refs():
    schema = load(
        "CREATE TABLE calls (id int, clerk_org_id text, agent_id int);\n"
        "CREATE POLICY ins ON calls FOR INSERT WITH CHECK (calls.clerk_org_id = current_setting('app.org'));\n"
        "CREATE POLICY upd ON calls FOR UPDATE USING (agent_id IN (SELECT a.id FROM agents a)) "
        "WITH CHECK (true);\n"
        "CREATE POLICY del ON calls FOR DELETE USING (false);\n"
    )
    policies = schema.tables["calls"].policies
    assert [(p.name, p.command) for p in policies.values()] == [("ins", "INSERT"), ("upd", "UPDATE"), ("del", "DELETE")]
    assert policies["ins"].using is None
    assert policies["ins"].with_check == "calls.clerk_org_id = current_setting('app.org')"
    assert policies["ins"].columns == {"clerk_org_id"}
    assert policies["upd"].columns == {"agent_id", "id"}
    assert policies["upd"].with_check == "TRUE"
    assert policies["del"].columns == set()


def test_drop_policy():
    schema = load(
        "CREATE TABLE agents (id int, clerk_org_id text);\n"
        f"CREATE POLICY a ON agents {TENANT};\n"
        "CREATE POLICY b ON agents USING (true);\n"
        "DROP POLICY a ON public.agents;\n"
        "DROP POLICY IF EXISTS never ON agents;\n"
    )
    assert list(schema.tables["agents"].policies) == ["b"]
    assert schema.errors == []


def test_alter_policy_replaces_only_the_clauses_it_names():
    schema = load(
        "CREATE TABLE agents (id int, clerk_org_id text, owner text);\n"
        "CREATE POLICY p ON agents USING (true) WITH CHECK (owner = current_user);\n"
        "ALTER POLICY p ON agents USING (clerk_org_id = (auth.jwt() ->> 'org_id'));\n"
    )
    policy = schema.tables["agents"].policies["p"]
    assert policy.using == deparsed(TENANT_EXPR)
    assert policy.with_check == "owner = CURRENT_USER"
    assert policy.columns == {"clerk_org_id", "owner"}
    assert policy.location == Location("m.sql", 3)


def test_alter_policy_rename():
    schema = load(
        "CREATE TABLE agents (id int);\n"
        "CREATE POLICY p ON agents USING (true);\n"
        "ALTER POLICY p ON agents RENAME TO q;\n"
    )
    policies = schema.tables["agents"].policies
    assert list(policies) == ["q"]
    assert policies["q"].name == "q"
    assert policies["q"].location == Location("m.sql", 3)


def test_renamed_column_is_followed_by_policies():
    schema = load(
        "CREATE TABLE agents (id int, organization_id text);\n"
        "CREATE POLICY p ON agents USING (organization_id = (auth.jwt() ->> 'org_id'));\n"
        "ALTER TABLE agents RENAME COLUMN organization_id TO clerk_org_id;\n"
    )
    assert schema.tables["agents"].policies["p"].columns == {"clerk_org_id"}


def test_policy_on_unknown_table_is_ignored():
    schema = load("CREATE POLICY p ON ghosts USING (true);\nDROP POLICY p ON ghosts;\n")
    assert schema.tables == {}
    assert schema.errors == []


# -- splitting, errors and line numbers ---------------------------------------------------


def test_invalid_statement_in_the_middle_is_one_error_and_the_rest_applies():
    schema = load(
        "CREATE TABLE contacts (id int, clerk_org_id text, phone text);\n"
        "\n"
        "-- not PostgreSQL\n"
        "ALTER TABLE contacts\n"
        "  ADD CONSTRAINT IF NOT EXISTS contacts_phone_key UNIQUE (phone);\n"
        "ALTER TABLE contacts ADD COLUMN email text;\n",
        path="migrations/003_contacts.sql",
    )
    assert schema.errors == [
        SchemaError("migrations/003_contacts.sql", 4, ADD_CONSTRAINT_ERROR)
    ]
    assert schema.tables["contacts"].columns == ["id", "clerk_org_id", "phone", "email"]
    assert schema.tables["contacts"].location == Location("migrations/003_contacts.sql", 6)


def test_dollar_quoted_bodies_strings_and_comments_hide_semicolons():
    schema = load(
        "CREATE FUNCTION f() RETURNS trigger AS $$\n"
        "BEGIN\n"
        "  NEW.updated_at = now(); RETURN NEW;\n"
        "END; $$ LANGUAGE plpgsql;\n"
        "CREATE FUNCTION g() RETURNS void AS $body$ BEGIN PERFORM $x$ ; $x$; END $body$ LANGUAGE plpgsql;\n"
        "DO $$ BEGIN CREATE TABLE inside_do (id int); END $$;\n"
        "SELECT 'a;b', E'c\\';d'; /* x; /* nested; */ y; */\n"
        "CREATE TABLE agents (id int); -- trailing; comment\n"
    )
    assert schema.errors == []
    assert list(schema.tables) == ["agents"]
    assert schema.tables["agents"].location == Location("m.sql", 8)


def test_sql_standard_function_body_is_one_statement():
    schema = load(
        "CREATE FUNCTION one() RETURNS int LANGUAGE sql\n"
        "BEGIN ATOMIC\n"
        "  SELECT 1;\n"
        "  SELECT 2;\n"
        "END;\n"
        "CREATE TABLE agents (id int);\n"
    )
    assert schema.errors == []
    assert schema.tables["agents"].location == Location("m.sql", 6)


def test_multibyte_characters_before_statements_keep_line_numbers_right():
    schema = load(
        "-- Überblick: Agenten für Organisationen — 日本語 🚀\n"
        "COMMENT ON SCHEMA public IS 'données; ñ';\n"
        "CREATE TABLE agents (id int, naïve text);\n"
        "SELECT 'é' FROM;\n"
        "CREATE FUNCTION f() RETURNS int AS $é$ SELECT 1; $é$ LANGUAGE sql;\n"
        "CREATE TABLE calls (id int);\n"
    )
    assert schema.tables["agents"].columns == ["id", "naïve"]
    assert schema.tables["agents"].location == Location("m.sql", 3)
    assert schema.tables["calls"].location == Location("m.sql", 6)
    assert [(e.line, e.message) for e in schema.errors] == [
        (4, "cannot parse statement: syntax error at end of input")
    ]


def test_line_of_a_statement_skips_leading_comments_and_blank_lines():
    schema = load(
        "CREATE TABLE a (id int); -- same line; as a\n"
        "/* block\n"
        "   comment */\n"
        "\n"
        "CREATE TABLE b (id int);\n"
    )
    assert schema.tables["b"].location == Location("m.sql", 5)


def test_unterminated_string_reports_its_statement_and_keeps_earlier_ones():
    schema = load(
        "CREATE TABLE agents (id int); -- ünïcödé\n"
        "INSERT INTO agents VALUES (1);\n"
        "INSERT INTO agents\n"
        "  VALUES ('oops);\n"
        "CREATE TABLE never (id int);\n"
    )
    assert list(schema.tables) == ["agents"]
    assert [(e.line, e.message) for e in schema.errors] == [
        (3, "cannot parse statement: unterminated quoted string at or near \"'oops);…\"")
    ]


def test_unterminated_comment_starting_a_statement_is_reported_on_its_line():
    schema = load("CREATE TABLE agents (id int);\n\n/* never closed\nCREATE TABLE never (id int);\n")
    assert list(schema.tables) == ["agents"]
    assert [(e.line, e.message) for e in schema.errors] == [
        (3, 'cannot parse statement: unterminated /* comment at or near "/* never closed…"')
    ]


def test_unbalanced_parenthesis_costs_only_its_statement():
    schema = load(
        "CREATE TABLE a (id int;\n"
        "CREATE TABLE b (id int);\n"
        "SELECT 1);\n"
        "CREATE TABLE c (id int);\n"
    )
    assert list(schema.tables) == ["b", "c"]
    assert [(e.line, e.message) for e in schema.errors] == [
        (1, 'cannot parse statement: syntax error at end of input'),
        (3, 'cannot parse statement: syntax error at or near ")"'),
    ]


def test_rule_with_several_actions_is_one_statement():
    schema = load(
        "CREATE TABLE log (id int);\n"
        "CREATE RULE r AS ON INSERT TO log DO ALSO (NOTIFY a; NOTIFY b);\n"
        "CREATE TABLE agents (id int);\n"
    )
    assert schema.errors == []
    assert list(schema.tables) == ["log", "agents"]


def test_psql_meta_commands_from_pg_dump_are_skipped():
    schema = load("\\restrict abc;123\n\nCREATE TABLE agents (id int);\n\n\\unrestrict abc;123\n")
    assert schema.errors == []
    assert schema.tables["agents"].location == Location("m.sql", 3)


def test_empty_and_comment_only_files():
    schema = load_schema([("empty.sql", ""), ("comments.sql", "-- nothing here;\n/* nor; here */\n\n")])
    assert schema == Schema(tables={}, errors=[], files=["empty.sql", "comments.sql"])


def test_files_apply_in_the_given_order_with_their_own_paths():
    schema = load_schema(
        [
            ("db/001.sql", "CREATE TABLE agents (id int);\n"),
            ("db/002.sql", "\nALTER TABLE agents ADD COLUMN clerk_org_id text;\nALTER TABLE agents ENABLE ROW LEVEL SECURITY;\n"),
        ]
    )
    table = schema.tables["agents"]
    assert table.columns == ["id", "clerk_org_id"]
    assert table.location == Location("db/002.sql", 2)
    assert table.rls_location == Location("db/002.sql", 3)
    assert schema.files == ["db/001.sql", "db/002.sql"]


# -- queries and serialisation ----------------------------------------------------------


def test_tenant_column_is_the_first_candidate_present():
    schema = load("CREATE TABLE phone_numbers (id int, organization_id text, clerk_org_id text);")
    assert schema.tenant_column("phone_numbers", ["org_id", "organization_id", "clerk_org_id"]) == "organization_id"
    assert schema.tenant_column("Phone_Numbers", ["clerk_org_id"]) == "clerk_org_id"
    assert schema.tenant_column("phone_numbers", ["org_id"]) is None
    assert schema.tenant_column("ghosts", ["clerk_org_id"]) is None


def test_to_json_is_plain_json_and_schema_pickles():
    schema = load(
        "CREATE TABLE agents (id int, clerk_org_id text);\n"
        "ALTER TABLE agents ENABLE ROW LEVEL SECURITY;\n"
        f"CREATE POLICY p ON agents {TENANT};\n"
        "ALTER TABLE agents ADD CONSTRAINT IF NOT EXISTS c UNIQUE (id);\n"
    )
    assert json.loads(json.dumps(schema.to_json())) == {
        "files": ["m.sql"],
        "tables": {
            "agents": {
                "name": "agents",
                "schema": "public",
                "columns": ["id", "clerk_org_id"],
                "rls_enabled": True,
                "policies": {
                    "p": {
                        "name": "p",
                        "table": "agents",
                        "command": "ALL",
                        "using": deparsed(TENANT_EXPR),
                        "with_check": None,
                        "columns": ["clerk_org_id"],
                        "location": {"path": "m.sql", "line": 3},
                    }
                },
                "location": {"path": "m.sql", "line": 1},
                "rls_location": {"path": "m.sql", "line": 2},
            }
        },
        "errors": [{"path": "m.sql", "line": 4, "message": ADD_CONSTRAINT_ERROR}],
    }
    assert pickle.loads(pickle.dumps(schema)) == schema


# -- a realistic migrations folder -----------------------------------------------------------


def test_realistic_migrations_folder():
    folder = DATA / "realistic"
    files = [(f"migrations/{p.name}", p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.sql"))]
    schema = load_schema(files)

    assert schema.files == [
        "migrations/001_init.sql",
        "migrations/002_calls_campaigns.sql",
        "migrations/003_contacts.sql",
        "migrations/004_telephony.sql",
        "migrations/005_rls.sql",
    ]
    assert schema.errors == [
        SchemaError("migrations/003_contacts.sql", 15, ADD_CONSTRAINT_ERROR)
    ]
    assert sorted(schema.tables) == ["agent_templates", "agents", "calls", "campaigns", "contacts", "phone_numbers"]

    candidates = ["clerk_org_id", "organization_id"]
    assert {name: schema.tenant_column(name, candidates) for name in schema.tables} == {
        "agents": "clerk_org_id",
        "agent_templates": None,
        "calls": "clerk_org_id",
        "campaigns": "clerk_org_id",
        "contacts": "clerk_org_id",
        "phone_numbers": "organization_id",
    }

    agents = schema.tables["agents"]
    assert agents.columns[-2:] == ["inbound_phone_number_id", "outbound_phone_number_id"]
    assert agents.location == Location("migrations/004_telephony.sql", 11)
    assert agents.rls_enabled is True
    assert agents.rls_location == Location("migrations/005_rls.sql", 3)
    assert agents.policies["agents_org_isolation"].columns == {"clerk_org_id"}
    assert agents.policies["agents_org_isolation"].location == Location("migrations/005_rls.sql", 6)

    calls = schema.tables["calls"]
    assert calls.columns == [
        "id", "clerk_org_id", "agent_id", "ultravox_call_id", "status", "transcript", "created_at",
        "campaign_id", "recording_url",
    ]
    assert calls.rls_enabled is True
    assert calls.policies["calls_read_all"].command == "SELECT"
    assert calls.policies["calls_read_all"].columns == set()

    contacts = schema.tables["contacts"]
    assert contacts.columns == ["id", "clerk_org_id", "folder_name", "first_name", "last_name", "phone", "email"]
    assert contacts.location == Location("migrations/003_contacts.sql", 19)

    assert [name for name, t in schema.tables.items() if not t.rls_enabled] == [
        "agent_templates", "campaigns", "contacts", "phone_numbers",
    ]
    assert schema.tables["phone_numbers"].schema == "public"
