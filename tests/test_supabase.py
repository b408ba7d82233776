"""The supabase preset: query chains and query variables, through the engine."""
import textwrap

import pytest

from orgscope_lint.testing import config_from, found, marks_in, run_sources

PRESETS = {"db": {"presets": ["dbservice", "supabase"]}}


def run(code, config=None, **options):
    code = textwrap.dedent(code).lstrip("\n")
    result = run_sources({"app/x.py": code}, config_from(PRESETS if config is None else config), **options)
    assert not result.internal_errors, result.internal_errors
    return code, result


def check_marks(code, config=None, **options):
    """Findings equal the `# expect:` marks; returns the run result."""
    code, result = run(code, config, **options)
    active, _ = found(result)
    expected, _ = marks_in({"app/x.py": code})
    assert sorted(active) == sorted(expected)
    return result


def outcomes(result):
    return [(c.line, c.table, c.operation, c.outcome) for c in result.db_calls]


def test_literal_chains_scoped_and_unscoped_with_table_and_from():
    check_marks('''
        def get(supabase, agent_id, org):
            a = supabase.table("agents").select("*").eq("id", agent_id).eq("clerk_org_id", org).execute()
            b = supabase.from_("agents").select("*").eq("id", agent_id).single().execute()  # expect: ORG101
            return a, b
    ''')


def test_multi_line_chain_is_reported_where_the_call_starts():
    result = check_marks('''
        def get(supabase, agent_id):
            response = (
                supabase.table("agents")  # expect: ORG101
                .select("*")
                .eq("id", agent_id)
                .execute()
            )
            return response.data
    ''')
    assert result.findings[0].operation == "select"


def test_query_variable_extended_under_a_condition_is_conditional():
    check_marks('''
        def list_agents(client, org_id, status=None):
            query = client.table("agents").select("*")
            if status:
                query = query.eq("status", status)
            if org_id:
                query = query.eq("clerk_org_id", org_id)
            return query.execute()  # expect: ORG104
    ''')


def test_query_variable_scoped_on_every_branch_and_after_a_guard():
    check_marks('''
        def list_agents(client, org_id, mine, user_id):
            if mine:
                query = client.table("agents").select("*").eq("clerk_org_id", org_id).eq("owner", user_id)
            else:
                query = client.table("agents").select("*").eq("clerk_org_id", org_id)
            return query.execute()

        def guarded(client, org_id):
            if not org_id:
                raise ValueError("organization required")
            query = client.table("agents").select("*")
            if org_id:
                query = query.eq("clerk_org_id", org_id)
            return query.execute()
    ''')


def test_filters_applied_in_place_narrow_the_variable():
    check_marks('''
        def in_place(client, org_id, ids):
            query = client.table("contacts").select("*").in_("id", ids)
            query.eq("clerk_org_id", org_id)
            return query.execute()

        def not_in_place(client, org_id, ids):
            query = client.table("contacts").select("*").in_("id", ids)  # expect: ORG101
            return query.execute()
    ''')


def test_match_filter_and_in_forms():
    check_marks('''
        def forms(client, org, call_id, ids, op):
            client.table("calls").select("*").match({"id": call_id, "clerk_org_id": org}).execute()
            keys = {"id": call_id}
            keys["clerk_org_id"] = org
            client.table("calls").select("*").match(keys).execute()
            client.table("calls").select("*").filter("clerk_org_id", "eq", org).execute()
            client.table("calls").select("*").in_("clerk_org_id", [org]).execute()
            client.table("calls").select("*").match({"id": call_id}).execute()  # expect: ORG101
            client.table("calls").select("*").filter("clerk_org_id", "neq", org).execute()  # expect: ORG101
            client.table("calls").select("*").not_.eq("clerk_org_id", org).execute()  # expect: ORG101
            client.table("calls").select("*").or_(f"clerk_org_id.eq.{org},id.eq.{call_id}").execute()  # expect: ORG101
    ''')


def test_negation_and_non_equality_filters_are_named_in_the_message():
    result = check_marks('''
        def purge(client, org):
            client.table("calls").delete().not_.eq("clerk_org_id", org).lt("created_at", "2024").execute()  # expect: ORG102
    ''')
    assert "clerk_org_id (not eq), created_at (lt)" in result.findings[0].message


def test_writes_inserts_and_scans():
    check_marks('''
        def writes(client, org, agent_id, rows):
            client.table("agents").update({"name": "x"}).eq("id", agent_id).execute()  # expect: ORG102
            client.table("agents").update({"name": "x"}).eq("id", agent_id).eq("clerk_org_id", org).execute()
            client.table("agents").delete().eq("id", agent_id).execute()  # expect: ORG102
            client.table("agents").delete().execute()  # expect: ORG105
            client.table("agents").select("id", count="exact").execute()  # expect: ORG105
            client.table("agents").insert({"name": "x"}).execute()  # expect: ORG103
            client.table("agents").insert({"name": "x", "clerk_org_id": org}).execute()
            client.table("agents").upsert([{"id": agent_id, "clerk_org_id": org}, {"id": 2}]).execute()  # expect: ORG103
            row = {"name": "x"}
            row["clerk_org_id"] = org
            query = client.table("agents").insert(row)
            query.execute()
    ''')


def test_insert_of_an_unseen_row_is_unverified_and_strict_flags_it():
    code = '''
        def create(client, payload):
            client.table("agents").insert(payload.dict()).execute()
    '''
    _, result = run(code)
    assert [c.outcome for c in result.db_calls] == ["unknown"]
    assert found(result)[0] == []
    _, strict = run(code, strict=True)
    assert [f.rule for f in strict.findings] == ["ORG103"]


def test_unknown_filters_make_the_call_unverified_not_a_finding():
    _, result = run('''
        from app.query import apply_filters

        def helper_filtered(client, filters):
            query = apply_filters(client.table("calls").select("*"), filters)
            return query.execute()

        def looped(client, filters):
            query = client.table("calls").select("*")
            for column, value in filters.items():
                query = query.eq(column, value)
            return query.execute()

        def unknown_method(client):
            return client.table("calls").select("*").custom_scope().execute()

        def helper_after_tenant(client, org, filters):
            query = client.table("calls").select("*").eq("clerk_org_id", org)
            return apply_filters(query, filters).execute()
    ''')
    assert [c.outcome for c in result.db_calls] == ["unknown", "unknown", "unknown", "scoped"]
    assert found(result)[0] == []


def test_async_client_and_await():
    check_marks('''
        async def get(supabase, agent_id):
            return await supabase.table("agents").select("*").eq("id", agent_id).execute()  # expect: ORG101
    ''')


def test_client_recognition():
    check_marks('''
        import httpx
        from supabase import Client, create_client
        from app.deps import get_supabase_client

        admin = create_client("url", "key")

        def factory(agent_id):
            get_supabase_client().table("agents").select("*").eq("id", agent_id).execute()  # expect: ORG101

        def local(agent_id):
            sb = get_supabase_client()
            sb.table("agents").select("*").eq("id", agent_id).execute()  # expect: ORG101

        def module_level(agent_id):
            admin.table("agents").select("*").eq("id", agent_id).execute()  # expect: ORG101

        def annotated(db_client: Client, agent_id):
            db_client.table("agents").select("*").eq("id", agent_id).execute()  # expect: ORG101

        class Repo:
            def __init__(self):
                self.sb = create_client("url", "key")

            def get(self, agent_id):
                return self.sb.table("agents").select("*").eq("id", agent_id).execute()  # expect: ORG101

        def fallback(client, agent_id, system):
            client = client or get_supabase_client()
            client.table("agents").select("*").eq("id", agent_id).execute()  # expect: ORG101
            chosen = admin if system else client
            chosen.table("agents").select("*").eq("id", agent_id).execute()  # expect: ORG101

        def not_a_client(agent_id):
            client = httpx.Client()
            client.table("agents").select("*").eq("id", agent_id).execute()

        def unknown_receiver(thing, agent_id):
            thing.table("agents").select("*").eq("id", agent_id).execute()
    ''')


def test_generic_wrapper_with_table_parameter_is_infrastructure():
    _, result = run('''
        class DatabaseService:
            def __init__(self, client):
                self.client = client

            def insert(self, table, data):
                return self.client.table(table).insert(data).execute()

            def select(self, table, filters=None):
                query = self._apply_filters(self.client.table(table).select("*"), filters)
                return query.execute()
    ''')
    assert [c.outcome for c in result.db_calls] == ["infrastructure", "infrastructure"]
    assert result.findings == []


def test_branches_on_different_tables_leave_the_table_unknown():
    _, result = run('''
        def pick(client, archived, org):
            if archived:
                query = client.table("calls_archive").select("*")
            else:
                query = client.table("calls").select("*")
            return query.eq("clerk_org_id", org).execute()
    ''')
    assert [(c.table, c.outcome) for c in result.db_calls] == [(None, "unknown")]


def test_rpc_calls_are_unverified_db_calls_with_name_and_arguments():
    _, result = run('''
        def stats(supabase, org):
            return supabase.rpc("org_call_stats", {"p_org": org}).execute().data
    ''')
    assert result.findings == []
    [call] = result.db_calls
    assert (call.line, call.method, call.operation, call.outcome, call.table) == (
        2, "rpc", "opaque", "unknown", None)
    assert call.detail.startswith("rpc('org_call_stats', {\"p_org\": org})")


def test_wrapper_over_a_chain_is_summarised_for_its_callers():
    check_marks('''
        def get_call(client, call_id, org_id=None):
            query = client.table("calls").select("*").eq("id", call_id)
            if org_id:
                query = query.eq("clerk_org_id", org_id)
            return query.execute()  # expect: ORG104

        def handler(client, call_id, clerk_org_id):
            ok = get_call(client, call_id, org_id=clerk_org_id)
            leak = get_call(client, call_id)  # expect: ORG106
            return ok, leak
    ''')


def test_preset_off_means_chains_are_not_sinks():
    _, result = run('''
        def get(supabase, agent_id):
            return supabase.table("agents").select("*").eq("id", agent_id).execute()
    ''', config={})
    assert result.db_calls == [] and result.findings == []


@pytest.mark.parametrize("clients, flagged", [(["sb"], True), (["supabase"], False)])
def test_clients_are_configurable(clients, flagged):
    config = {"db": {"presets": ["supabase"], "clients": clients}}
    _, result = run('''
        def get(sb, agent_id):
            return sb.table("agents").select("*").eq("id", agent_id).execute()
    ''', config=config)
    assert bool(result.findings) is flagged


def test_table_keys_apply_to_chains():
    check_marks('''
        def numbers(client, org):
            client.table("phone_numbers").select("*").eq("organization_id", org).execute()
            client.table("phone_numbers").select("*").eq("clerk_org_id", org).execute()  # expect: ORG101
    ''', config={**PRESETS, "table-keys": {"phone_numbers": "organization_id"}})


def test_schema_and_postgrest_accessors_keep_the_client():
    check_marks('''
        def get(supabase, agent_id):
            supabase.schema("private").table("agents").select("*").eq("id", agent_id).execute()  # expect: ORG101
            supabase.postgrest.from_("agents").select("*").eq("id", agent_id).execute()  # expect: ORG101
    ''')

