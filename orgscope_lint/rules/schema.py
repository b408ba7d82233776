"""Row-level security of tenant tables, from the SQL migrations: ORG401, ORG402.

Both rules read the replayed schema (`project.schema`, present only when the
project has migrations) and report at the migration file and line that last
defined the table or the policy.
"""
from __future__ import annotations

from typing import Iterator, Tuple

from ..facts import RawFinding
from ..model import Span
from .base import Example, Rule

_SQL_PATH = "supabase/migrations/001_init.sql"
_USES_AGENTS = """
def list_agents(db, clerk_org_id):
    return db.select("agents", {"clerk_org_id": clerk_org_id})
"""


def _tenant_tables(project) -> Iterator[Tuple[object, str]]:
    """(table, its tenant column) for every tenant table of the schema."""
    loaded = project.schema
    if loaded is None:
        return
    for table in loaded.schema.tables.values():
        if project.catalog.is_tenant_table(table.name):
            yield table, project.catalog.tenant_key_for(table.name)


def _span(line: int) -> Span:
    return Span(line, 1, line, 1)


class TableWithoutRls(Rule):
    """Tenant table without row-level security.

    ## What it does
    Reads the SQL migrations (`schema` globs, or `database/migrations/*.sql`
    and `supabase/migrations/*.sql`) and flags every tenant-owned table (one
    with the tenant column, or listed in `tenant-tables`) on which row-level
    security is not enabled when the last migration has run. The finding sits
    on the statement that last defined the table, or on the `DISABLE ROW LEVEL
    SECURITY` that turned it off.

    ## Why is this bad?
    Without RLS the database itself does not separate organizations: any query
    that forgets the tenant filter, and any client holding the anon key
    (Supabase exposes tables through PostgREST), reads every organization's rows.

    ## Example
    ```sql
    CREATE TABLE agents (id uuid PRIMARY KEY, clerk_org_id text NOT NULL);
    ```

    ## Use instead
    ```sql
    CREATE TABLE agents (id uuid PRIMARY KEY, clerk_org_id text NOT NULL);
    ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
    CREATE POLICY agents_org ON agents
        USING (clerk_org_id = auth.jwt() ->> 'org_id');
    ```

    ## Options
    `schema`, `tenant-key`, `tenant-columns`, `tenant-tables`, `global-tables`.
    """

    code = "ORG401"
    name = "table-without-rls"
    severity = "warning"
    security_severity = "5.0"
    VALID = (
        Example(_USES_AGENTS, files={_SQL_PATH: """
            CREATE TABLE agents (id uuid PRIMARY KEY, clerk_org_id text NOT NULL);
            ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
            CREATE POLICY agents_org ON agents USING (clerk_org_id = auth.jwt() ->> 'org_id');
            -- shared by every organization: no tenant column, nothing to isolate
            CREATE TABLE agent_templates (id uuid PRIMARY KEY, name text);
            """}),
        Example(_USES_AGENTS, config={"global-tables": ["voices_catalog"]}, files={_SQL_PATH: """
            CREATE TABLE agents (id uuid PRIMARY KEY, clerk_org_id text NOT NULL);
            ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
            CREATE POLICY agents_org ON agents USING (clerk_org_id = auth.jwt() ->> 'org_id');
            -- custom voices carry an org; config declares the table global anyway
            CREATE TABLE voices_catalog (id uuid PRIMARY KEY, clerk_org_id text);
            """}),
    )
    INVALID = (
        Example(_USES_AGENTS, files={_SQL_PATH: """
            CREATE TABLE agents (  -- expect: ORG401
                id uuid PRIMARY KEY,
                clerk_org_id text NOT NULL
            );
            CREATE TABLE phone_numbers (id uuid, organization_id text);  -- expect: ORG401
            """}),
        Example(_USES_AGENTS, files={_SQL_PATH: """
            CREATE TABLE agents (id uuid PRIMARY KEY, clerk_org_id text NOT NULL);
            ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
            CREATE POLICY agents_org ON agents USING (clerk_org_id = auth.jwt() ->> 'org_id');
            ALTER TABLE agents DISABLE ROW LEVEL SECURITY;  -- expect: ORG401
            """}),
    )

    def check_project(self, project, emit) -> None:
        for table, column in _tenant_tables(project):
            if table.rls_enabled:
                continue
            if table.rls_location is not None:  # explicitly disabled
                where = table.rls_location
                message = (f"row-level security is disabled on tenant table '{table.name}': "
                           f"enable it and add a policy on \"{column}\"")
            else:
                where = table.location
                message = (f"tenant table '{table.name}' has no row-level security: add "
                           f"`ALTER TABLE {table.name} ENABLE ROW LEVEL SECURITY` and a policy "
                           f"on \"{column}\"")
            emit(where.path, RawFinding(self.code, _span(where.line), message, table=table.name,
                                        snippet=f"table {table.schema}.{table.name}"))


class PolicyNotTenantScoped(Rule):
    """RLS policy on a tenant table that never references the tenant column.

    ## What it does
    Flags every row-level security policy on a tenant-owned table whose `USING`
    and `WITH CHECK` expressions do not mention the table's tenant column
    (`clerk_org_id`, or the table's own, e.g. `organization_id`), at the
    migration line that last created, altered or renamed the policy.

    ## Why is this bad?
    Policies are permissive and combine with OR: one policy such as
    `USING (auth.role() = 'authenticated')` opens every organization's rows to
    every signed-in user, whatever the other policies say.

    ## Example
    ```sql
    CREATE POLICY calls_read ON calls FOR SELECT
        USING (auth.role() = 'authenticated');
    ```

    ## Use instead
    ```sql
    CREATE POLICY calls_read ON calls FOR SELECT
        USING (clerk_org_id = auth.jwt() ->> 'org_id');
    ```

    ## Options
    `schema`, `tenant-key`, `tenant-columns`, `table-keys`.
    """

    code = "ORG402"
    name = "policy-not-tenant-scoped"
    severity = "warning"
    security_severity = "6.0"
    VALID = (
        Example(_USES_AGENTS, files={_SQL_PATH: """
            CREATE TABLE agents (id uuid PRIMARY KEY, clerk_org_id text NOT NULL);
            ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
            CREATE POLICY agents_read ON agents FOR SELECT
                USING (clerk_org_id = auth.jwt() ->> 'org_id');
            CREATE POLICY agents_write ON agents FOR INSERT
                WITH CHECK (clerk_org_id = auth.jwt() ->> 'org_id');
            CREATE TABLE agent_templates (id uuid PRIMARY KEY, name text);
            ALTER TABLE agent_templates ENABLE ROW LEVEL SECURITY;
            CREATE POLICY templates_read ON agent_templates FOR SELECT USING (true);
            """}),
        Example(_USES_AGENTS, files={_SQL_PATH: """
            CREATE TABLE agents (id uuid PRIMARY KEY, clerk_org_id text NOT NULL);
            ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
            CREATE POLICY agents_open ON agents USING (true);
            ALTER POLICY agents_open ON agents USING (clerk_org_id = auth.jwt() ->> 'org_id');
            """}),
    )
    INVALID = (
        Example(_USES_AGENTS, files={_SQL_PATH: """
            CREATE TABLE agents (id uuid PRIMARY KEY, clerk_org_id text NOT NULL);
            ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
            CREATE POLICY agents_read ON agents FOR SELECT  -- expect: ORG402
                USING (auth.role() = 'authenticated');
            """}),
        Example(_USES_AGENTS, files={_SQL_PATH: """
            CREATE TABLE phone_numbers (
                id uuid PRIMARY KEY,
                organization_id text NOT NULL,
                created_by text
            );
            ALTER TABLE phone_numbers ENABLE ROW LEVEL SECURITY;
            -- per user, not per organization: a member who leaves keeps access
            CREATE POLICY numbers_owner ON phone_numbers  -- expect: ORG402
                USING (created_by = auth.jwt() ->> 'sub');
            """}),
    )

    def check_project(self, project, emit) -> None:
        for table, column in _tenant_tables(project):
            for policy in table.policies.values():
                if column in policy.columns:
                    continue
                where = policy.location
                emit(where.path, RawFinding(
                    self.code, _span(where.line),
                    f"policy '{policy.name}' on tenant table '{table.name}' never references "
                    f"\"{column}\": restrict its USING / WITH CHECK to the caller's organization",
                    table=table.name, snippet=f"policy {policy.name} on {table.name}"))
