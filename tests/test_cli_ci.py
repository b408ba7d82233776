"""CLI wiring for CI and pre-commit: formats, baselines, quiet runs, explicit
files, the progress bar, and the README's rule table."""
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from orgscope_lint import cli
from orgscope_lint.progress import DelayedProgress
from orgscope_lint.rules import RULES
from orgscope_lint.rules.docs import rules_table
from orgscope_lint.testing import marks_in

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "sample_backend"


def invoke(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args])


@pytest.fixture
def backend(tmp_path):
    copy = tmp_path / "backend"
    shutil.copytree(FIXTURE, copy)
    return copy


def test_write_baseline_then_check_against_it(backend, tmp_path):
    baseline = tmp_path / "orgscope-baseline.json"
    written = invoke("check", backend, "--write-baseline", baseline, "--format", "json")
    assert written.exit_code == 0, written.output
    marked = len(marks_in({p.as_posix(): p.read_text(encoding="utf-8")
                           for p in backend.rglob("*") if p.suffix in (".py", ".sql")})[0])
    assert f"wrote {marked} findings" in written.output
    quiet = invoke("check", backend, "--baseline", baseline, "--format", "json")
    summary = json.loads(quiet.output)["summary"]
    assert quiet.exit_code == 0 and summary["findings"] == 0 and summary["baselined"] == marked
    calls = backend / "app" / "api" / "v1" / "calls.py"
    calls.write_text(calls.read_text().replace(
        "    call = db.get_call(call_id)  # expect: ORG106\n",
        "    call = db.get_call(call_id)  # expect: ORG106\n    again = db.get_call(call_id)\n"))
    loud = invoke("check", backend, "--baseline", baseline, "--format", "json")
    document = json.loads(loud.output)
    assert loud.exit_code == 1
    assert [(f["rule"], f["suppressed"]) for f in document["findings"]
            if not f["suppressed"]] == [("ORG106", False)]


def test_bad_baseline_is_a_usage_error(tmp_path, backend):
    bad = tmp_path / "b.json"
    bad.write_text("[]")
    outcome = invoke("check", backend, "--baseline", bad)
    assert outcome.exit_code == 2 and str(bad) in outcome.output
    assert "Traceback" not in outcome.output


def test_quiet_clean_run_prints_nothing(tmp_path):
    (tmp_path / "ok.py").write_text(
        'def f(db, org):\n    return db.select("a", {"clerk_org_id": org})\n')
    outcome = invoke("check", tmp_path, "--quiet")
    assert outcome.exit_code == 0 and outcome.output == ""
    assert "0 findings" in invoke("check", tmp_path).output


@pytest.mark.parametrize("fmt, probe", [
    ("sarif", lambda text: json.loads(text)["version"] == "2.1.0"),
    ("github", lambda text: text.startswith("::")),
    ("markdown", lambda text: text.startswith("# Organization-scoping verification")),
])
def test_every_format_renders_the_fixture(fmt, probe):
    outcome = invoke("check", FIXTURE, "--format", fmt)
    assert outcome.exit_code == 1 and probe(outcome.output)


def test_github_format_writes_the_job_summary(tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    invoke("check", FIXTURE, "--format", "github")
    assert "## Fixes required" in summary.read_text()


def test_explicit_file_is_reported_alone_with_project_facts():
    outcome = invoke("check", FIXTURE / "app" / "api" / "v1" / "calls.py", "--format", "json")
    document = json.loads(outcome.output)
    assert {f["path"] for f in document["findings"]} == {"app/api/v1/calls.py"}
    assert "ORG106" in document["summary"]["by_rule"]  # wrapper defined in another file


def test_report_command_exits_zero_and_writes_a_file(tmp_path):
    target = tmp_path / "audit.md"
    outcome = invoke("report", FIXTURE, "--output", target)
    assert outcome.exit_code == 0 and target.read_text().startswith("# Organization-scoping")


def test_progress_bar_waits_for_slow_runs():
    fast = io.StringIO()
    progress = DelayedProgress(fast, delay=60, force=True)
    progress(1, 10)
    assert not progress.shown and fast.getvalue() == ""
    slow = io.StringIO()
    progress = DelayedProgress(slow, delay=0, force=True)
    progress(1, 10)
    progress(5, 10)
    assert progress.shown
    progress.close()
    assert not DelayedProgress(io.StringIO(), delay=0).enabled  # not a terminal


def test_readme_rule_table_matches_the_registry():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"\| code \| name \|.*?\n(?:\|.*\n)+", readme)
    assert match, "README has no rule table"
    assert match.group(0) == rules_table(RULES), (
        "README rule table is stale: paste `orgscope-lint rules --format markdown`")
    assert invoke("rules", "--format", "markdown").output == rules_table(RULES)


def test_readme_integrations_name_the_version_that_is_released():
    """The pre-commit `rev:` and the workflow's clone both name the tag of
    this version, pyproject.toml and the package agree on it, and the workflow
    caches, uploads SARIF and gates pull requests on their changes."""
    import sys
    from orgscope_lint import __version__
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["version"] == __version__
    assert re.findall(r"rev: (\S+)", readme) == [f"v{__version__}"]
    assert f"--branch v{__version__} " in readme
    assert "pip install orgscope-lint" not in readme  # no package index release exists
    for needed in ("path: .orgscope-lint-cache", "upload-sarif", "--format github", "--since"):
        assert needed in readme, needed
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    assert "id: orgscope-lint" in hooks
