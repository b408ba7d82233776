"""The Markdown audit report.

The snapshot pins `orgscope-lint report fixtures/sample_backend` exactly.
When the fixture or the report changes on purpose, regenerate it with:

    ORGSCOPE_UPDATE_SNAPSHOTS=1 PYTHONPATH=. python -m pytest tests/test_markdown_report.py

and review the diff of tests/data/report/sample_backend.md before committing.
"""
import os
from pathlib import Path

from click.testing import CliRunner

from orgscope_lint import cli
from orgscope_lint.config import ReportSection
from orgscope_lint.report.markdown import render
from orgscope_lint.testing import config_from, run_sources

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "sample_backend"
SNAPSHOT = ROOT / "tests" / "data" / "report" / "sample_backend.md"
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
    assert outcome.output == SNAPSHOT.read_text(encoding="utf-8")


def test_statuses_carry_concrete_evidence():
    text = _report()
    assert ("| agents.py | OK – 2 reads and 1 insert scoped by `clerk_org_id` |") in text
    assert ("| purge.py | ACCEPTED – 1 finding accepted (inline suppression: retention job, "
            "all orgs): `purge` line 3 ORG102 |") in text
    assert ("| search.py | UNVERIFIED – 1 call could not be verified: `search` line 3 "
            "(filter comes from an expression the tool cannot see) |") in text
    assert ("| calls.py `CallService` | FAIL – `CallService.close` line 4: ORG102 "
            "unscoped-write (update on `calls`) |") in text
    assert "No database access in: `__init__.py`." in text


def test_layout_sections_fixes_and_summary():
    text = _report(commit="abc")
    assert text.startswith("# Organization-scoping verification: nonexistent-root\n")
    assert "at commit `abc`" in text
    titles = [line for line in text.splitlines() if line.startswith("## ")]
    assert titles == ["## Fixes required", "## Section 1 – Core (`app/core`)",
                      "## Section 2 – API (`app/api`)", "## Section 3 – Services (`app/services`)",
                      "## Section 4 – Background tasks (`app/tasks`)", "## Summary"]
    assert ("1. **app/services/calls.py** line 4 (`CallService.close`) – ORG102 unscoped-write: "
            "update of tenant table 'calls' filters by id only") in text
    assert "- **Items checked:** 4 (1 OK, 1 FAIL, 1 ACCEPTED, 1 UNVERIFIED)." in text
    assert "- **Fixes required:** 1 in 1 file" in text


def test_configured_sections_title_and_checklist():
    sections = (ReportSection("Endpoints", ("app/api/**",)),
                ReportSection("Everything else", ("app/**",)))
    text = _report(title="Acme audit", sections=sections,
                   checklist=["Clerk JWT template carries org_id", "RLS policies use clerk_org_id"])
    titles = [line for line in text.splitlines() if line.startswith("## ")]
    assert text.startswith("# Acme audit\n")
    assert titles[1:4] == ["## Section 1 – Endpoints", "## Section 2 – Everything else",
                           "## Section 3 – Manual checks (your responsibility)"]
    assert "- [ ] Clerk JWT template carries org_id" in text


def test_routes_and_schema_are_rendered_defensively():
    result = run_sources({"app/api/agents.py": CLEAN, "app/api/bad.py": BROKEN},
                         config_from({}))
    result.routes = [
        {"methods": ["get"], "path": "/api/agents", "handler": "list_agents",
         "file": "app/api/agents.py", "line": 2, "auth": ["get_current_user"]},
        {"methods": "POST", "path": "/api/close", "handler": "CallService",
         "file": "app/api/bad.py", "line": 3, "auth": None},
        {"path": "/weird|path"},  # missing keys must not break the report
        "not a dict",
    ]
    result.schema = {"tables": {
        "agents": {"tenant_column": "clerk_org_id", "rls_enabled": True,
                   "policies": {"own": {"columns": ["clerk_org_id"], "tenant_scoped": True}}},
        "calls": {"tenant_column": "clerk_org_id", "rls_enabled": False, "policies": {}},
        "kb": {"tenant_column": "clerk_org_id", "rls_enabled": True,
               "policies": {"open": {"tenant_scoped": False}}},
        "voices_catalog": {"tenant_column": None},
        "odd": "not a dict",
    }}
    text = render(result)
    assert "| GET /api/agents | `list_agents` (app/api/agents.py:2) | get_current_user | OK – no finding |" in text
    assert "| POST /api/close | `CallService` (app/api/bad.py:3) | none | FAIL – ORG102 |" in text
    assert "| /weird\\|path |" in text
    assert "| `agents` | `clerk_org_id` | on | OK – RLS on; 1 policy scoped by `clerk_org_id` |" in text
    assert "| `calls` | `clerk_org_id` | off | FAIL – row-level security is not enabled |" in text
    assert "FAIL – 1 policy does not reference `clerk_org_id`: `open`" in text
    assert "| `voices_catalog` | – | off | OK – no tenant column: global table |" in text
    assert "| Routes | 4 |" in text
    result.schema = {"tables": "garbage"}
    assert "No tables were found in the schema files." in render(result)


def test_report_is_deterministic():
    assert _report() == _report()
