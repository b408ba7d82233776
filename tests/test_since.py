"""`check --since REF`: only findings on lines changed since a git ref, read
from `git diff -U0`, tested in a temporary git repository."""
import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from orgscope_lint import cli
from orgscope_lint.changes import parse_diff

CONFIG = '[tool.orgscope-lint]\ntenant-key = "clerk_org_id"\n'
OLD = '''
def list_agents(db, clerk_org_id):
    return db.select("agents", {"id": 1})


def get_agent(db, agent_id, clerk_org_id):
    return db.select_one("agents", {
        "id": agent_id,
        "clerk_org_id": clerk_org_id,
    })
'''


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def repo(tmp_path):
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "config", "user.email", "t@example.com")
    _git(tmp_path, "config", "user.name", "t")
    (tmp_path / "pyproject.toml").write_text(CONFIG)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "agents.py").write_text(OLD)
    (tmp_path / "app" / "calls.py").write_text(
        'def close(db, call_id):\n    db.update("calls", {"id": call_id}, {"s": 1})\n')
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def _check(repo: Path, *args: str):
    outcome = CliRunner().invoke(cli.main, ["check", str(repo), "--format", "json", "--no-cache",
                                            *args])
    return outcome, (json.loads(outcome.stdout) if outcome.stdout.startswith("{") else None)


def _places(data):
    return sorted((f["rule"], f["path"], f["line"]) for f in data["findings"])


def test_only_findings_on_changed_lines_are_reported(repo):
    outcome, data = _check(repo)
    assert _places(data) == [("ORG101", "app/agents.py", 3), ("ORG102", "app/calls.py", 2)]
    outcome, data = _check(repo, "--since", "HEAD")
    assert outcome.exit_code == 0 and _places(data) == []  # nothing changed yet
    # a new unscoped read, and a deleted tenant line inside an existing call
    text = (repo / "app" / "agents.py").read_text()
    text = text.replace('        "clerk_org_id": clerk_org_id,\n', "")
    text += '\n\ndef count_agents(db):\n    return db.count("agents", {"status": "x"})\n'
    (repo / "app" / "agents.py").write_text(text)
    (repo / "app" / "new.py").write_text('def f(db):\n    db.delete("calls", {"id": 1})\n')
    outcome, data = _check(repo, "--since", "HEAD")
    assert outcome.exit_code == 1
    assert _places(data) == [("ORG101", "app/agents.py", 7),   # lost its tenant line
                             ("ORG101", "app/agents.py", 13),  # new
                             ("ORG102", "app/new.py", 2)]      # untracked: all new
    # committed changes count too: --since names the base of a pull request
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "change")
    outcome, data = _check(repo, "--since", "HEAD~1")
    assert len(_places(data)) == 3
    # the fingerprints are those of a full run (a baseline matches either way)
    full = {f["fingerprint"] for f in _check(repo)[1]["findings"]}
    assert {f["fingerprint"] for f in data["findings"]} <= full


def test_unknown_ref_and_no_repository_are_usage_errors(repo, tmp_path_factory):
    outcome, _ = _check(repo, "--since", "no-such-branch")
    assert outcome.exit_code == 2
    assert "--since no-such-branch: no such commit, branch or tag" in outcome.stderr
    elsewhere = tmp_path_factory.mktemp("plain")
    (elsewhere / "pyproject.toml").write_text(CONFIG)
    outcome, _ = _check(elsewhere, "--since", "HEAD")
    assert outcome.exit_code == 2 and "git rev-parse" in outcome.stderr
    assert "Traceback" not in outcome.output


def test_diff_parsing_of_added_changed_and_deleted_lines():
    diff = "\n".join([
        "diff --git a/a.py b/a.py", "--- a/a.py", "+++ b/a.py",
        "@@ -3 +3 @@", "-x", "+y",             # one line changed
        "@@ -10,0 +11,2 @@", "+a", "+b",       # two lines added
        "@@ -20,2 +21,0 @@", "-c", "-d",       # two lines deleted after line 21
        "diff --git a/gone.py b/gone.py", "--- a/gone.py", "+++ /dev/null",
        "@@ -1 +0,0 @@", "-z",
        'diff --git "a/sp ace.py" "b/sp ace.py"', '--- "a/sp ace.py"', '+++ "b/sp ace.py"',
        "@@ -1 +1 @@", "-q", "+r"])
    assert parse_diff(diff) == {"a.py": frozenset({3, 11, 12, 21, 22}),
                                "sp ace.py": frozenset({1})}
