"""The CLI contract: exit codes, the JSON shape of DESIGN.md section 4, rule
documentation; once through the installed console script."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from orgscope_lint.cli import main

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "sample_backend"

FINDING_KEYS = ["rule", "name", "severity", "path", "line", "column", "end_line", "end_column",
                "message", "symbol", "table", "operation", "suppressed", "suppression",
                "fingerprint"]


def project(tmp_path, code):
    (tmp_path / "pyproject.toml").write_text("[tool.orgscope-lint]\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "svc.py").write_text(code)
    return tmp_path


def test_clean_project_exits_0(tmp_path):
    project(tmp_path, "def f(db, org):\n    return db.select('agents', {'clerk_org_id': org})\n")
    result = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "0 findings (1 file checked, 1 DB calls)" in result.output


def test_findings_exit_1_and_exit_zero(tmp_path):
    project(tmp_path, "def f(db):\n    return db.select('agents', {})\n")
    assert CliRunner().invoke(main, ["check", str(tmp_path)]).exit_code == 1
    assert CliRunner().invoke(main, ["check", "--exit-zero", str(tmp_path)]).exit_code == 0


def test_fail_on_error_ignores_warnings(tmp_path):
    project(tmp_path, "def f(db, k, org):\n    q = {'id': k}\n    if org:\n"
                      "        q['clerk_org_id'] = org\n    return db.select('agents', q)\n")
    (tmp_path / "pyproject.toml").write_text("[tool.orgscope-lint]\nfail-on = 'error'\n")
    result = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert "ORG104" in result.output
    assert result.exit_code == 0


def test_select_and_ignore(tmp_path):
    project(tmp_path, "def f(db, k):\n    db.select('agents', {})\n"
                      "    db.update('agents', {'id': k}, {})\n")
    out = CliRunner().invoke(main, ["check", "--format", "json", "--select", "ORG102",
                                    str(tmp_path)]).output
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["ORG102"]
    out = CliRunner().invoke(main, ["check", "--format", "json", "--ignore", "ORG1",
                                    str(tmp_path)]).output
    assert json.loads(out)["findings"] == []


def test_json_contract_on_fixture():
    result = CliRunner().invoke(main, ["check", "--format", "json", str(FIXTURE)])
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert doc["schema_version"] == 1
    assert doc["tool"]["name"] == "orgscope-lint"
    assert set(doc["summary"]) >= {"files", "db_calls", "routes", "findings", "by_rule"}
    assert doc["summary"]["findings"] == sum(doc["summary"]["by_rule"].values())
    assert doc["summary"]["findings"] == sum(not f["suppressed"] for f in doc["findings"])
    # the fixture's one deliberately invalid migration statement
    assert [(e["path"], e["line"]) for e in doc["errors"]] == [
        ("database/migrations/003_contacts.sql", 21)]
    assert doc["schema"]["tables"]["phone_numbers"]["tenant_column"] == "organization_id"
    for finding in doc["findings"]:
        assert list(finding)[:len(FINDING_KEYS)] == FINDING_KEYS
        assert not finding["path"].startswith("/") and "\\" not in finding["path"]
        assert finding["line"] >= 1 and finding["column"] >= 1
    # (the telephony update this test once read is scoped now: its ids come from
    # rows loaded with the organization)
    updates = [f for f in doc["findings"] if f["path"] == "app/api/v1/operations.py"
               and f["rule"] == "ORG102" and not f["suppressed"]]
    assert updates[0]["symbol"] == "_set_agent_status"
    assert updates[0]["table"] == "agents"
    assert updates[0]["operation"] == "update"
    assert 'add "clerk_org_id" to the filter' in updates[0]["message"]
    accepted = [f for f in doc["findings"] if f["suppressed"]]
    assert accepted and all(f["suppression"]["kind"] in ("system-context", "comment")
                            for f in accepted)


def test_output_file_and_plain_text_when_piped(tmp_path):
    project(tmp_path, "def f(db):\n    return db.select('agents', {})\n")
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["check", "--format", "json", "-o", str(out),
                                       str(tmp_path)])
    assert result.exit_code == 1 and result.output == ""
    assert json.loads(out.read_text())["summary"]["findings"] == 1
    text = CliRunner().invoke(main, ["check", str(tmp_path)]).output
    assert "\x1b[" not in text  # no colour codes in a pipe
    assert "app/svc.py\n  2:12  ORG105 unfiltered-scan" in text


def test_parse_error_is_reported_and_other_files_checked(tmp_path):
    project(tmp_path, "def f(db):\n    return db.select('agents', {})\n")
    (tmp_path / "app" / "broken.py").write_text("def broken(:\n    pass\n")
    doc = json.loads(CliRunner().invoke(main, ["check", "--format", "json",
                                               str(tmp_path)]).output)
    assert [(f["path"], f["rule"], f["line"]) for f in doc["findings"]] == [
        ("app/broken.py", "ORG001", 1), ("app/svc.py", "ORG105", 2)]


def test_rules_and_rule_docs():
    listing = CliRunner().invoke(main, ["rules"]).output
    assert "ORG102  unscoped-write" in listing
    doc = CliRunner().invoke(main, ["rule", "ORG102"])
    assert doc.exit_code == 0
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert heading in doc.output
    assert CliRunner().invoke(main, ["rule", "ORG999"]).exit_code == 2


def test_installed_console_script():
    script = shutil.which("orgscope-lint", path=str(Path(sys.executable).parent)) \
        or shutil.which("orgscope-lint")
    assert script, "the package must be installed (pip install '.[test]') for this test"
    env = dict(os.environ, NO_COLOR="1")
    done = subprocess.run([script, "check", "--format", "json", str(FIXTURE)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["summary"]["findings"] > 0
    module = subprocess.run([sys.executable, "-m", "orgscope_lint", "--version"],
                            capture_output=True, text=True, timeout=60)
    assert module.returncode == 0 and "orgscope-lint" in module.stdout


def test_strict_reports_each_unverified_db_call_once():
    from orgscope_lint.config import load_config
    from orgscope_lint.engine import Options, run
    normal = run([FIXTURE], load_config(None, FIXTURE), Options(jobs=1, use_cache=False))
    unknown = sorted((c.path, c.line) for c in normal.db_calls
                     if c.outcome == "unknown" and c.operation in ("read", "write", "insert"))
    assert unknown, "the fixture has calls whose filter the tool cannot see"
    strict = json.loads(CliRunner().invoke(main, ["check", "--format", "json", "--no-cache",
                                                  "--strict", str(FIXTURE)]).output)
    extra = [f for f in strict["findings"] if "(--strict)" in f["message"]]
    # filters built by another module's helper and a row passed by the callers
    # are judged at the project stage (passed_values.py), not "unverifiable"
    # (the run's DB calls say so: scoped by the helper, unscoped by the helper
    # or a caller), so none of them is among the unverified
    judged = {("app/services/call_log.py", 47): "scoped",
              ("app/services/call_log.py", 51): "unscoped",
              ("app/services/call_log.py", 76): "unscoped"}
    outcomes = {(c.path, c.line): c.outcome for c in normal.db_calls}
    assert {place: outcomes[place] for place in judged} == judged
    assert sorted((f["path"], f["line"]) for f in extra) == unknown
    assert {f["rule"] for f in extra} <= {"ORG101", "ORG102", "ORG103"}


def test_a_missing_path_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["check", str(tmp_path / "missing.py")])
    assert result.exit_code == 2
    assert "missing.py" in result.output and "does not exist" in result.output
    assert "Traceback" not in result.output
