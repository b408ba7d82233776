"""Schema-aware checking through the engine: migrations found and replayed once,
tenant tables and keys from the schema (config wins), schema errors, the JSON
`schema` object, unverified tables, ORG401/ORG402 positions, the CLI."""
import json
import pickle
import textwrap

from click.testing import CliRunner

from orgscope_lint.analysis.schema import load_schema
from orgscope_lint.cli import main
from orgscope_lint.config import load_config
from orgscope_lint.engine import Options, run
from orgscope_lint.report.json import document
from orgscope_lint.catalog import TableCatalog
from orgscope_lint.testing import config_from, found, run_sources

MIGRATION = "supabase/migrations/001_init.sql"
SCHEMA = """
CREATE TABLE agents (id uuid PRIMARY KEY, clerk_org_id text NOT NULL, name text);
ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
CREATE POLICY agents_org ON agents USING (clerk_org_id = auth.jwt() ->> 'org_id');
CREATE TABLE phone_numbers (id uuid PRIMARY KEY, organization_id text NOT NULL);
ALTER TABLE phone_numbers ENABLE ROW LEVEL SECURITY;
CREATE POLICY numbers_open ON phone_numbers USING (true);
CREATE TABLE agent_templates (id uuid PRIMARY KEY, name text);
"""
CODE = """
def handler(db, agent_id, number_id, org):
    db.select_one("agents", {"id": agent_id})
    db.select_one("phone_numbers", {"id": number_id, "clerk_org_id": org})
    db.select_one("phone_numbers", {"id": number_id, "organization_id": org})
    db.select("agent_templates", {})
"""


def run_project(files, config=None, **options):
    files = {path: textwrap.dedent(text).lstrip("\n") for path, text in files.items()}
    result = run_sources(files, config_from(config or {}), **options)
    assert not result.internal_errors, result.internal_errors
    return result


def findings(result):
    return sorted(found(result)[0])


def test_schema_decides_tenant_tables_and_their_keys():
    result = run_project({"app/x.py": CODE, MIGRATION: SCHEMA})
    assert findings(result) == [
        ("app/x.py", 2, "ORG101"),  # agents: no clerk_org_id
        ("app/x.py", 3, "ORG101"),  # phone_numbers is keyed by organization_id
        (MIGRATION, 6, "ORG402"),  # numbers_open never mentions organization_id
    ]
    by_line = {c.line: c for c in result.db_calls}
    assert by_line[3].tenant_key == "organization_id"
    assert by_line[5].outcome == "global"  # agent_templates has no tenant column


def test_without_migrations_behaviour_is_unchanged():
    result = run_project({"app/x.py": CODE})
    assert result.schema is None
    # every table is a tenant table keyed by clerk_org_id, as before
    assert findings(result) == [("app/x.py", 2, "ORG101"), ("app/x.py", 4, "ORG101"),
                                ("app/x.py", 5, "ORG105")]


def test_explicit_config_wins_over_the_schema():
    config = {"global-tables": ["agents"], "tenant-tables": ["agent_templates"],
              "table-keys": {"phone_numbers": "clerk_org_id"}}
    result = run_project({"app/x.py": CODE, MIGRATION: SCHEMA}, config)
    assert findings(result) == [
        ("app/x.py", 4, "ORG101"),  # phone_numbers now keyed by clerk_org_id
        ("app/x.py", 5, "ORG105"),  # agent_templates listed as a tenant table
        (MIGRATION, 6, "ORG402"),  # the policy is judged against the configured key
        (MIGRATION, 7, "ORG401"),  # ... and agent_templates now needs RLS
    ]


def test_tenant_columns_are_configurable_and_the_first_present_is_the_key():
    schema = "CREATE TABLE t (id int, tenant_id text, org text);\n"
    code = 'def f(db, org):\n    db.select("t", {"org": org})\n'
    plain = run_project({"app/x.py": code, MIGRATION: schema})
    assert [c.tenant_key for c in plain.db_calls] == ["tenant_id"]
    custom = run_project({"app/x.py": code, MIGRATION: schema}, {"tenant-columns": ["org"]})
    assert [c.outcome for c in custom.db_calls] == ["scoped"]


def test_invalid_statement_is_one_error_with_file_and_line_and_the_rest_applies():
    schema = """
        CREATE TABLE contacts (id uuid, clerk_org_id text);
        ALTER TABLE contacts ADD CONSTRAINT IF NOT EXISTS c UNIQUE (id);
        CREATE TABLE folders (id uuid, name text);
        ALTER TABLE contacts ENABLE ROW LEVEL SECURITY;
    """
    code = 'def f(db):\n    db.select("folders", {})\n    db.select("contacts", {})\n'
    result = run_project({"app/x.py": code, MIGRATION: schema})
    assert [(e.path, e.line) for e in result.errors] == [(MIGRATION, 2)]
    assert result.errors[0].message.startswith(
        "statement at line 2 rejected by the PostgreSQL parser: syntax error")
    # folders (after the bad statement) is known and global; contacts got RLS
    assert findings(result) == [("app/x.py", 3, "ORG105")]
    assert document(result)["errors"] == [
        {"path": MIGRATION, "line": 2, "message": result.errors[0].message}]


def test_files_apply_in_file_name_order():
    files = {"app/x.py": 'def f(db):\n    db.select("t", {})\n',
             "database/migrations/002_drop_org.sql": "ALTER TABLE t DROP COLUMN clerk_org_id;",
             "database/migrations/001_create.sql": "CREATE TABLE t (id int, clerk_org_id text);"}
    result = run_project(files)
    assert result.schema["files"] == ["database/migrations/001_create.sql",
                                      "database/migrations/002_drop_org.sql"]
    assert [c.outcome for c in result.db_calls] == ["global"]


def test_schema_globs_replace_auto_detection():
    files = {"app/x.py": 'def f(db):\n    db.select("t", {})\n',
             "db/schema.sql": "CREATE TABLE t (id int);",
             MIGRATION: "CREATE TABLE t (id int, clerk_org_id text);"}
    detected = run_project(files)
    assert detected.schema["files"] == [MIGRATION]
    configured = run_project(files, {"schema": ["db/*.sql"]})
    assert configured.schema["files"] == ["db/schema.sql"]
    assert [c.outcome for c in configured.db_calls] == ["global"]


def test_json_schema_object():
    result = run_project({"app/x.py": CODE, MIGRATION: SCHEMA})
    schema = json.loads(json.dumps(document(result)))["schema"]
    agents = schema["tables"]["agents"]
    assert (agents["tenant_table"], agents["tenant_column"], agents["rls_enabled"]) == (
        True, "clerk_org_id", True)
    assert agents["policies"]["agents_org"]["references_tenant_column"] is True
    numbers = schema["tables"]["phone_numbers"]
    assert numbers["tenant_column"] == "organization_id"
    assert numbers["policies"]["numbers_open"]["references_tenant_column"] is False
    templates = schema["tables"]["agent_templates"]
    assert (templates["tenant_table"], templates["tenant_column"]) == (False, None)
    assert schema["errors"] == []


def test_table_missing_from_the_schema_is_unverified_once_and_not_a_finding():
    code = """
        def f(db, org):
            db.insert("audit_logs", {"clerk_org_id": org, "action": "a"})
            db.insert("audit_logs", {"clerk_org_id": org, "action": "b"})
            db.select("sessions", {"clerk_org_id": org})
    """
    result = run_project({"app/x.py": code, MIGRATION: SCHEMA},
                         {"global-tables": ["sessions"]})
    assert findings(result) == [(MIGRATION, 6, "ORG402")]
    doc = document(result)
    missing = [u for u in doc["unverified"] if "not in the schema" in u["reason"]]
    assert [(u["table"], u["line"]) for u in missing] == [("audit_logs", 2)]
    assert doc["summary"]["unverified"] == 1


def test_org401_at_the_statement_that_last_defined_the_table_or_disabled_rls():
    schema = """
        CREATE TABLE calls (id uuid, clerk_org_id text);
        ALTER TABLE calls ADD COLUMN status text;
        CREATE TABLE agents (id uuid, clerk_org_id text);
        ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
        CREATE POLICY p ON agents USING (clerk_org_id = auth.jwt() ->> 'org_id');
        ALTER TABLE agents DISABLE ROW LEVEL SECURITY;
    """
    result = run_project({"app/x.py": "", MIGRATION: schema})
    assert findings(result) == [(MIGRATION, 2, "ORG401"), (MIGRATION, 6, "ORG401")]
    by_line = {f.line: f.message for f in result.findings}
    assert "ENABLE ROW LEVEL SECURITY" in by_line[2] and "disabled" in by_line[6]


def test_schema_rules_follow_select_and_per_file_ignores():
    files = {"app/x.py": CODE, MIGRATION: SCHEMA}
    assert not [f for f in run_project(files, {"ignore": ["ORG4"]}).findings
                if f.rule.startswith("ORG4")]
    ignored = run_project(files, {"per-file-ignores": {"supabase/migrations/*": ["ORG402"]}})
    assert not [f for f in ignored.findings if f.rule == "ORG402"]


def test_table_scope_travels_to_worker_processes(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.orgscope-lint]\nschema = ["sql/*.sql"]\n', encoding="utf-8")
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "001.sql").write_text(SCHEMA, encoding="utf-8")
    (tmp_path / "app").mkdir()
    for index in range(30):  # above the process-pool threshold
        (tmp_path / "app" / f"m{index}.py").write_text(textwrap.dedent(CODE), encoding="utf-8")
    config = load_config(None, tmp_path)
    assert pickle.loads(pickle.dumps(TableCatalog(config))).tenant_key_for("x") == "clerk_org_id"
    result = run([tmp_path], config, Options(jobs=2, use_cache=False))
    assert not result.internal_errors
    tenant_keys = {c.tenant_key for c in result.db_calls if c.table == "phone_numbers"}
    assert tenant_keys == {"organization_id"}
    assert sum(f.rule == "ORG101" for f in result.findings) == 60


def test_cli_json_and_errors_on_disk(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.orgscope-lint]\ntenant-key = "clerk_org_id"\n', encoding="utf-8")
    migrations = tmp_path / "database" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "001.sql").write_text(SCHEMA + "CREATE TABLE broken (;\n", encoding="utf-8")
    (tmp_path / "app.py").write_text(textwrap.dedent(CODE), encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(main, ["check", str(tmp_path), "--format", "json", "--no-cache"])
    doc = json.loads(out.output)
    assert sorted(doc["schema"]["tables"]) == ["agent_templates", "agents", "phone_numbers"]
    assert [(e["path"], e["line"]) for e in doc["errors"]] == [
        ("database/migrations/001.sql", 9)]
    assert out.exit_code == 1
    monkeypatch.chdir(tmp_path)  # terminal paths are relative to the current directory
    text = runner.invoke(main, ["check", str(tmp_path), "--no-cache"], env={"NO_COLOR": "1"})
    assert ("error: database/migrations/001.sql:9: statement at line 9 rejected by the "
            "PostgreSQL parser: syntax error") in text.output
    assert "the rest of the file was applied" in text.output


def test_configured_schema_glob_without_files_is_an_error_naming_the_key(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.orgscope-lint]\nschema = ["migrations/*.sql"]\n', encoding="utf-8")
    (tmp_path / "app.py").write_text(textwrap.dedent(CODE), encoding="utf-8")
    config = load_config(None, tmp_path)
    result = run([tmp_path], config, Options(jobs=1, use_cache=False))
    assert result.schema is None
    [error] = result.errors
    assert error.path == "pyproject.toml"
    assert "`tool.orgscope-lint.schema`: no file matches 'migrations/*.sql'" in error.message



def test_table_scope_fingerprint_changes_with_what_the_schema_says():
    def scope(sql):
        return TableCatalog.from_schema(config_from({}), load_schema([("m.sql", sql)]))

    plain = scope("CREATE TABLE t (id int);")
    assert plain.fingerprint() == scope("CREATE TABLE t (id int, name text);").fingerprint()
    assert plain.fingerprint() != scope("CREATE TABLE t (id int, clerk_org_id text);").fingerprint()


def test_fixture_with_no_table_lists_at_all():
    """Done-when of the schema issue: with `schema` configured and no table
    lists, the fixture's findings are its marks, plus exactly what the one
    explicit override (`global-tables = ["voices_catalog"]`) was hiding."""
    from pathlib import Path

    from orgscope_lint.testing import marks_in

    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "sample_backend"
    config = load_config(None, fixture)
    assert config.table_keys == {} and config.tenant_tables == ()
    config.global_tables = ()
    result = run([fixture], config, Options(jobs=1, use_cache=False))
    sources = {p.relative_to(fixture).as_posix(): p.read_text(encoding="utf-8")
               for pattern in ("*.py", "*.sql") for p in sorted(fixture.rglob(pattern))}
    expected, _ = marks_in(sources)
    catalog_line = next(n for n, line in enumerate(
        sources["database/migrations/001_core.sql"].splitlines(), 1)
        if "TABLE IF NOT EXISTS public.voices_catalog" in line)
    extra = sorted(set(found(result)[0]) - expected)
    assert set(found(result)[0]) >= expected
    assert [(f[0], f[2]) for f in extra] == [
        ("app/api/v1/agents.py", "ORG105"), ("app/services/agent.py", "ORG101"),
        ("database/migrations/001_core.sql", "ORG401")]
    assert extra[2][1] == catalog_line
