"""SQL text judged with pglast: placeholders, every place a table can sit,
and what pins (or fails to pin) its tenant column."""
import pytest

from orgscope_lint.analysis.sqltext import HOLE_CLOSE, HOLE_OPEN, judge, normalise

KEYS = {"threads": "account_id", "messages": "account_id", "projects": "account_id"}
COLUMNS = {"threads": {"id", "account_id", "title", "project_id"},
           "messages": {"id", "thread_id", "account_id", "body"},
           "plans": {"id", "price"}}


def hole(i):
    return f"{HOLE_OPEN}{i}{HOLE_CLOSE}"


def uses(sql, names=None):
    result = judge(sql, KEYS.get, lambda t: frozenset(COLUMNS[t]) if t in COLUMNS else None,
                   names or {})
    assert result.error is None, result.error
    return {(u.table, u.operation): u for u in result.uses}


def scoped(sql, names=None):
    return {table: use.scoped for (table, _), use in uses(sql, names).items()}


@pytest.mark.parametrize("text, keys", [
    ("SELECT 1 FROM t WHERE a = $2 AND b = $1", {1: "1", 2: "0"}),
    ("SELECT 1 FROM t WHERE a = %s AND b = %s", {1: "0", 2: "1"}),
    ("SELECT 1 FROM t WHERE a = %(org)s AND b = %(org)s", {1: ":org"}),
    ("SELECT 1 FROM t WHERE a = :org AND b::text = 'x:y'", {1: ":org"}),
    ("SELECT 1 FROM t WHERE a = ? AND b = ?", {1: "0", 2: "1"}),
    (f"SELECT 1 FROM t WHERE a = {hole(0)} AND b = ${hole(1)}", {1: "hole:0", 2: "numbered:1"}),
    ("SELECT '$1', 'a ? b', $$ :x $$ -- :y\nFROM t WHERE a = $1", {1: "0"}),
])
def test_placeholders_normalise_to_numbered_parameters(text, keys):
    sql, found = normalise(text)
    assert found == keys
    assert "%" not in sql and "?" not in sql.split("'")[-1]


@pytest.mark.parametrize("sql, expected", [
    ("SELECT * FROM threads WHERE id = $1", {"threads": False}),
    ("SELECT * FROM threads WHERE id = $1 AND account_id = $2", {"threads": True}),
    ("SELECT * FROM threads WHERE account_id = 'acme'", {"threads": True}),
    ("SELECT * FROM threads WHERE account_id = ANY($1::uuid[])", {"threads": True}),
    ("SELECT * FROM threads WHERE account_id IN ($1, $2)", {"threads": True}),
    ("SELECT * FROM threads WHERE account_id = $1 OR id = $2", {"threads": False}),
    ("SELECT * FROM threads WHERE NOT (account_id = $1)", {"threads": False}),
    ("SELECT * FROM threads WHERE account_id <> $1", {"threads": False}),
    ("SELECT * FROM threads t WHERE t.account_id IN (SELECT id FROM accounts WHERE owner = $1)",
     {"threads": True, "accounts": True}),
])
def test_where_pins_the_tenant_column(sql, expected):
    assert scoped(sql) == expected


def test_joins_scope_through_the_tenant_column_only():
    assert scoped("SELECT m.* FROM messages m JOIN threads t ON t.id = m.thread_id "
                  "AND t.account_id = m.account_id WHERE t.account_id = $1") == \
        {"messages": True, "threads": True}
    assert scoped("SELECT m.* FROM messages m JOIN threads t ON t.id = m.thread_id "
                  "WHERE t.account_id = $1") == {"messages": False, "threads": True}
    assert scoped("SELECT * FROM messages, threads WHERE messages.account_id = $1 "
                  "AND threads.account_id = messages.account_id") == \
        {"messages": True, "threads": True}


def test_ctes_subqueries_and_unions_are_judged_each():
    assert scoped("WITH mine AS (SELECT id FROM threads WHERE account_id = $1) "
                  "SELECT * FROM messages WHERE thread_id IN (SELECT id FROM mine)") == \
        {"threads": True, "messages": False}
    assert scoped("SELECT * FROM (SELECT * FROM messages WHERE id = $1) sub") == \
        {"messages": False}
    assert scoped("SELECT id FROM threads WHERE account_id = $1 UNION "
                  "SELECT id FROM messages WHERE id = $2") == {"threads": True, "messages": False}
    # a correlated subquery sees its outer statement's pins
    assert scoped("SELECT * FROM threads t WHERE t.account_id = $1 AND EXISTS (SELECT 1 FROM "
                  "messages m WHERE m.thread_id = t.id AND m.account_id = t.account_id)") == \
        {"threads": True, "messages": True}


def test_writes_and_inserts():
    found = uses("UPDATE threads SET title = $1 WHERE id = $2")
    assert not found[("threads", "write")].scoped
    assert found[("threads", "write")].pinned == ("id",)
    assert scoped("UPDATE threads SET title = $1 WHERE id = $2 AND account_id = $3") == \
        {"threads": True}
    assert scoped("DELETE FROM messages m USING threads t WHERE m.thread_id = t.id "
                  "AND t.account_id = $1") == {"messages": False, "threads": True}
    assert scoped("INSERT INTO threads (id, account_id) VALUES ($1, $2)") == {"threads": True}
    assert scoped("INSERT INTO threads (id, title) VALUES ($1, $2)") == {"threads": False}
    assert scoped("INSERT INTO threads VALUES ($1, $2)") == {"threads": False}


def test_insert_select_is_judged_by_its_select():
    found = uses("INSERT INTO messages (thread_id, account_id) "
                 "SELECT id, account_id FROM threads WHERE account_id = $1")
    assert found[("threads", "read")].scoped and found[("messages", "insert")].scoped
    found = uses("INSERT INTO messages (thread_id, account_id) "
                 "SELECT id, account_id FROM threads WHERE id = $1")
    assert not found[("threads", "read")].scoped and not found[("messages", "insert")].scoped


def test_the_placeholder_pinning_the_tenant_column_is_known():
    found = uses("SELECT * FROM threads WHERE id = %(id)s AND account_id = %(org)s")
    assert found[("threads", "read")].params == {":org"}
    found = uses("SELECT * FROM threads WHERE id = $2 AND account_id = $1")
    assert found[("threads", "read")].params == {"0"}


def test_function_arguments_by_name():
    found = uses("SELECT * FROM threads WHERE id = p_id AND account_id = p_account",
                 {"p_id": ":p_id", "p_account": ":p_account"})
    assert found[("threads", "read")].params == {":p_account"}


def test_platform_schemas_are_not_tenant_tables():
    assert scoped("SELECT email FROM auth.users WHERE id = $1") == {"auth.users": True}
    assert scoped("INSERT INTO storage.threads (id) VALUES ($1)") == {"storage.threads": True}
    assert scoped("SELECT * FROM public.threads WHERE id = $1") == {"threads": False}


def test_an_argument_named_like_no_known_column_is_the_argument():
    # `user_id` is no column of threads (known): the function's argument pins account_id
    found = uses("SELECT * FROM threads WHERE account_id = user_id", {"user_id": ":user_id"})
    assert found[("threads", "read")].params == {":user_id"}
    # a column of the table wins over an argument of the same name (SQL functions)
    found = uses("SELECT * FROM threads WHERE account_id = title", {"title": ":title"})
    assert not found[("threads", "read")].scoped


def test_holes():
    assert scoped(f"SELECT * FROM threads WHERE account_id = {hole(0)}") == {"threads": True}
    result = judge(f"SELECT * FROM {hole(0)} WHERE account_id = $1", KEYS.get, lambda t: None)
    assert result.hole_error and "identifier or keyword position" in result.error
    result = judge(f"SELECT * FROM threads WHERE {hole(0)}", KEYS.get, lambda t: None)
    assert result.hole_error and "whole condition" in result.error


def test_text_that_does_not_parse_is_an_error_not_a_crash():
    result = judge("SELEC * FROM threads", KEYS.get, lambda t: None)
    assert result.error.startswith('syntax error at or near "SELEC"') and not result.uses
    assert judge("", KEYS.get, lambda t: None).uses == []
    assert judge("BEGIN; SET search_path = x; COMMIT", KEYS.get, lambda t: None).uses == []
