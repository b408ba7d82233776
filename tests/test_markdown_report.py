"""The Markdown audit report.

The snapshots pin `orgscope-lint report fixtures/sample_backend` exactly, and
its head (executive summary and fixes, before the detail sections) separately.
When the fixture or the report changes on purpose, regenerate it with:

    ORGSCOPE_UPDATE_SNAPSHOTS=1 PYTHONPATH=. python -m pytest tests/test_markdown_report.py

and review the diff of tests/data/report/sample_backend*.md before committing.
"""
import os
import re
from pathlib import Path

from click.testing import CliRunner

from orgscope_lint import cli
from orgscope_lint.config import ReportSection
from orgscope_lint.report.markdown import head, render
from orgscope_lint.testing import config_from, run_sources

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "sample_backend"
SNAPSHOT = ROOT / "tests" / "data" / "report" / "sample_backend.md"
HEAD_SNAPSHOT = ROOT / "tests" / "data" / "report" / "sample_backend_head.md"
COMMIT = "0123456789ab"

CLEAN = '''
def list_agents(db, clerk_org_id):
    return db.select("agents", {"clerk_org_id": clerk_org_id})


def get_agent(db, agent_id, clerk_org_id):
    return db.select_one("agents", {"id": agent_id, "clerk_org_id": clerk_org_id})


def create_agent(db, name, clerk_org_id):
    return db.insert("agents", {"name": name, "clerk_org_id": clerk_org_id})
'''
ACCEPTED = '''
def purge(db):
    db.delete("calls", {"status": "stale"})  # orgscope: ignore[ORG102] retention job, all orgs
'''
OPAQUE = '''
def search(db, build):
    return db.select("calls", build())
'''
BROKEN = '''
class CallService:
    def close(self, call_id):
        self.db.update("calls", {"id": call_id}, {"status": "closed"})
'''


def _report(sources=None, **options):
    sources = sources or {"app/api/agents.py": CLEAN, "app/tasks/purge.py": ACCEPTED,
                          "app/services/search.py": OPAQUE, "app/services/calls.py": BROKEN,
                          "app/core/__init__.py": ""}
    return render(run_sources(sources, config_from({})), **options)


def test_snapshot_of_the_sample_backend_report(monkeypatch):
    monkeypatch.setattr(cli, "head_commit", lambda root: COMMIT)
    outcome = CliRunner().invoke(cli.main, ["report", str(FIXTURE)])
    assert outcome.exit_code == 0, outcome.output
    if os.environ.get("ORGSCOPE_UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(outcome.output, encoding="utf-8")
        HEAD_SNAPSHOT.write_text(head(outcome.output), encoding="utf-8")
    assert outcome.output == SNAPSHOT.read_text(encoding="utf-8")


def test_the_head_fits_on_about_two_printed_pages(monkeypatch):
    """Executive summary and grouped fixes come before the detail sections and
    fit on about two pages (~65-70 lines of ~100 characters each, wrapped; the
    fixture's report head was at 130 and grew with the shapes cases)."""
    monkeypatch.setattr(cli, "head_commit", lambda root: COMMIT)
    text = head(CliRunner().invoke(cli.main, ["report", str(FIXTURE)]).output)
    assert text == HEAD_SNAPSHOT.read_text(encoding="utf-8")
    printed = sum(max(1, -(-len(line) // 100)) for line in text.splitlines())
    assert printed <= 140, printed
    titles = [line for line in text.splitlines() if line.startswith("## ")]
    assert titles == ["## Executive summary", "## Fixes required"]


def test_fixes_are_grouped_by_rule_and_cause_most_severe_first(monkeypatch):
    monkeypatch.setattr(cli, "head_commit", lambda root: COMMIT)
    text = head(CliRunner().invoke(cli.main, ["report", str(FIXTURE)]).output)
    groups = [line for line in text.splitlines() if re.match(r"\d+\. \*\*ORG", line)]
    rules = [re.match(r"\d+\. \*\*(ORG\d+)", g).group(1) for g in groups]
    errors = [r for r in rules if r not in ("ORG104", "ORG203", "ORG401", "ORG402", "ORG901")]
    assert rules[:len(errors)] == errors  # every error group before any warning group
    # 18 ORG401 findings, two causes (the tenant column differs), two entries
    assert sum(1 for r in rules if r == "ORG401") == 2
    assert ("**ORG401** table-without-rls – 17 tables: add `ALTER TABLE <table> ENABLE ROW "
            "LEVEL SECURITY` and a policy on \"clerk_org_id\"") in text
    # a place keeps file, line and symbol
    assert "   - **app/api/v1/calls.py**: line 154 `update_call_notes` (update on `calls`); " \
           "line 182 `archive_call` (update on `calls`)" in text
    # the unused and the used tenant header are different causes
    assert "client-tenant-header – 1 route: remove it, the organization comes from the token" \
        in text


def test_counts_agree_between_terminal_and_report():
    result = CliRunner().invoke(cli.main, ["check", str(FIXTURE), "--no-cache"])
    report = CliRunner().invoke(cli.main, ["report", str(FIXTURE)]).output
    terminal = result.output.strip().splitlines()[-1]
    open_, files, unverified = re.match(
        r"(\d+) findings in (\d+) files;.*?(\d+) unverified", terminal).groups()
    assert f"| Open findings | {open_} in {files} files (" in report
    assert f"| Unverified | {unverified} items" in report
    assert f"- **Fixes required:** {open_} in {files} files" in report
    assert "(36 files checked" in terminal


def test_statuses_carry_concrete_evidence_one_row_per_function_or_class():
    text = _report()
    assert "| agents.py `create_agent` | OK – 1 insert scoped by `clerk_org_id` |" in text
    assert "| agents.py `list_agents` | OK – 1 read scoped by `clerk_org_id` |" in text
    assert ("| purge.py `purge` | ACCEPTED – 1 finding accepted (inline suppression: retention "
            "job, all orgs) [details](#d-app-tasks-purge-py-purge) |") in text
    assert ("| search.py `search` | UNVERIFIED – 1 call unverified (filter comes from an "
            "expression the tool cannot see) [details](#d-app-services-search-py-search) |") in text
    assert ("| calls.py `CallService` | FAIL – ORG102 update on `calls` line 4 "
            "[details](#d-app-services-calls-py-callservice) |") in text
    assert "No database access in: `__init__.py`." in text
    # the detail holds the full message, under the anchor the row links to
    detail = text[text.index('<a id="d-app-services-calls-py-callservice"></a>'):]
    assert "- line 4: ORG102 unscoped-write: update of tenant table 'calls' filters by id " \
           "only" in detail


def test_long_evidence_is_cut_with_the_rest_in_the_details():
    many = "\n".join(f"def f{i}(db, o):\n    db.select('t{i}', {{'clerk_org_id': o}})\n"
                     "    db.update('calls', {'id': 1}, {})\n" for i in range(12))
    text = render(run_sources({"app/x.py": "class Big:\n" + "\n".join(
        "    " + line for line in many.splitlines())}, config_from({})))
    row = next(line for line in text.splitlines() if line.startswith("| x.py `Big` |"))
    evidence = row.split(" | ")[1]
    assert len(evidence) <= 200 + len(" [details](#d-app-x-py-big) |") + 10
    assert "…" in evidence and evidence.count("`") % 2 == 0
    assert text.count("ORG102 unscoped-write: update of tenant table 'calls'") == 12


def test_layout_sections_fixes_and_summary():
    text = _report(commit="abc")
    assert text.startswith("# Organization-scoping verification: nonexistent-root\n")
    assert "at commit `abc`" in text
    titles = [line.split(" <a id")[0] for line in text.splitlines() if line.startswith("## ")]
    assert titles == ["## Executive summary", "## Fixes required",
                      "## Section 1 – Core (`app/core`)",
                      "## Section 2 – API (`app/api`)", "## Section 3 – Services (`app/services`)",
                      "## Section 4 – Background tasks (`app/tasks`)", "## Details",
                      "## Summary"]
    assert "- [Services (`app/services`)](#section-3): **FAIL** – 1 of 2 items need a fix " \
           "(1 UNVERIFIED)" in text
    assert "**Open problems by rule:** ORG102 unscoped-write ×1." in text
    assert ("1. **ORG102** unscoped-write – 1 write: add \"clerk_org_id\" to the filter\n"
            "   - **app/services/calls.py**: line 4 `CallService.close` (update on `calls`)") in text
    assert "- **Items checked:** 6 (3 OK, 1 FAIL, 1 ACCEPTED, 1 UNVERIFIED)." in text
    assert "- **Fixes required:** 1 in 1 file" in text


def test_configured_sections_title_and_checklist():
    sections = (ReportSection("Endpoints", ("app/api/**",)),
                ReportSection("Everything else", ("app/**",)))
    text = _report(title="Acme audit", sections=sections,
                   checklist=["Clerk JWT template carries org_id", "RLS policies use clerk_org_id"])
    titles = [line.split(" <a id")[0] for line in text.splitlines() if line.startswith("## ")]
    assert text.startswith("# Acme audit\n")
    assert titles[2:5] == ["## Section 1 – Endpoints", "## Section 2 – Everything else",
                           "## Section 3 – Manual checks (your responsibility)"]
    assert "- [ ] Clerk JWT template carries org_id" in text
    assert "(#section-3): **TODO** – 2 items to confirm by hand" in text


def test_routes_and_schema_are_rendered_defensively():
    result = run_sources({"app/api/agents.py": CLEAN, "app/api/bad.py": BROKEN},
                         config_from({}))
    result.routes = [
        {"methods": ["get"], "path": "/api/agents", "handler": "list_agents",
         "file": "app/api/agents.py", "line": 2, "auth": ["get_current_user"]},
        {"methods": "POST", "path": "/api/close", "handler": "CallService",
         "file": "app/api/bad.py", "line": 3, "auth": None},
        {"methods": ["GET"], "path": "/", "handler": "orphan", "file": "app/api/agents.py",
         "line": 9, "auth": [], "mounted": False},
        {"path": "/weird|path"},  # missing keys must not break the report
        "not a dict",
    ]
    result.schema = {"tables": {
        "agents": {"tenant_column": "clerk_org_id", "rls_enabled": True,
                   "policies": {"own": {"columns": ["clerk_org_id"],
                                        "references_tenant_column": True}}},
        "calls": {"tenant_column": "clerk_org_id", "rls_enabled": False, "policies": {}},
        "kb": {"tenant_column": "clerk_org_id", "rls_enabled": True,
               "policies": {"open": {"references_tenant_column": False}}},
        "voices_catalog": {"tenant_column": None},
        "odd": "not a dict",
    }}
    text = render(result)
    assert "| GET /api/agents | `list_agents` (app/api/agents.py:2) | get_current_user | OK – no finding |" in text
    assert "| POST /api/close | `CallService` (app/api/bad.py:3) | none | FAIL – ORG102 |" in text
    assert ("| GET (not mounted) / | `orphan` (app/api/agents.py:9) | none | OK – not mounted: "
            "no application includes its router |") in text
    assert "; 1 not mounted" in text
    assert "| /weird\\|path |" in text
    assert "| `agents` | `clerk_org_id` | on | OK – RLS on; 1 policy scoped by `clerk_org_id` |" in text
    assert "| `calls` | `clerk_org_id` | off | FAIL – row-level security is not enabled |" in text
    assert "FAIL – 1 policy does not reference `clerk_org_id`: `open`" in text
    assert "| `voices_catalog` | – | off | OK – no tenant column: global table |" in text
    assert "| Routes | 5 |" in text
    result.schema = {"tables": "garbage"}
    assert "No tables were found in the schema files." in render(result)


def test_report_is_deterministic():
    assert _report() == _report()


def test_a_long_fix_group_lists_its_first_files_and_counts_the_rest():
    sources = {f"app/m{i:02}.py": BROKEN for i in range(65)}
    text = head(render(run_sources(sources, config_from({}))))
    listed = [line for line in text.splitlines() if line.startswith("   - **app/m")]
    assert len(listed) == 60
    assert "   - … and 5 more in 5 other files (each in its area's table below)" in text
    assert "65 writes" in text
