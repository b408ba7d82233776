"""The raw-SQL / supabase fixture marks every expected finding inline; the
tool's findings must equal the marks exactly, and the calls it cannot check
are listed as unverified with the reason."""
from pathlib import Path

from orgscope_lint.config import load_config
from orgscope_lint.engine import Options, run
from orgscope_lint.testing import marks_in

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "sql_backend"


def _run():
    config = load_config(None, FIXTURE)
    return run([FIXTURE], config, Options(jobs=1, use_cache=False))


def _sources():
    return {p.relative_to(FIXTURE).as_posix(): p.read_text(encoding="utf-8")
            for pattern in ("*.py", "*.sql") for p in sorted(FIXTURE.rglob(pattern))}


def test_findings_equal_marks():
    result = _run()
    assert not result.internal_errors and not result.errors
    expected_active, expected_accepted = marks_in(_sources())
    active = sorted((f.path, f.line, f.rule) for f in result.findings if not f.suppressed)
    assert active == sorted(expected_active)
    assert not expected_accepted
    assert len(expected_active) >= 12


def test_sql_tables_and_reasons_in_messages():
    by_line = {(f.path, f.line): f for f in _run().findings}
    join = by_line[("app/repos/threads.py", 29)]
    assert "'messages'" in join.message and "thread_id" in join.message
    rpc = by_line[("app/repos/chat.py", 31)]
    assert "archive_thread" in rpc.message and "SECURITY DEFINER" in rpc.message
    assert "'threads'" in rpc.message
    assert "database function archive_thread()" in rpc.no_fix
    for finding in by_line.values():
        if finding.path != "app/repos/chat.py" and finding.rule != "ORG104":  # not fixable
            assert finding.fix is None and "raw SQL" in finding.no_fix


def test_unverified_calls_say_why():
    result = _run()
    reasons = {(c.path, c.line): c.detail for c in result.db_calls
               if c.outcome.value == "unknown"}
    assert "identifier or keyword position" in reasons[("app/repos/reports.py", 38)]
    assert reasons[("app/repos/reports.py", 52)].startswith(
        'the SQL text does not parse: syntax error at or near "SELEC"')


def test_db_calls_seen():
    """Every DB call of the fixture is seen (none hidden), scoped ones included."""
    result = _run()
    calls = {(c.path, c.line): c for c in result.db_calls}
    scoped = {k for k, c in calls.items() if c.outcome.value == "scoped"}
    assert ("app/repos/chat.py", 9) in scoped  # `await db.client` chain
    assert ("app/repos/chat.py", 25) in scoped  # rpc whose body pins the tenant
    assert ("app/repos/chat.py", 19) in scoped  # embedded !inner filter
    assert ("app/repos/threads.py", 18) in scoped  # join on the tenant column
    assert ("app/repos/threads.py", 68) in scoped  # INSERT ... SELECT
    assert ("app/repos/reports.py", 29) in scoped  # f-string value hole
    assert calls[("app/repos/threads.py", 75)].outcome.value == "global"
