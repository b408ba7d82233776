"""Every run tells the truth (issue 14): no input makes the command line say
"0 findings" while it checked nothing, and every cost is bounded. Each test
goes through the command line."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import orgscope_lint.atomic as atomic
import orgscope_lint.engine as engine
from orgscope_lint.cli import main
from orgscope_lint.config import load_config
from orgscope_lint.engine import Options, run

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "sample_backend"
UNSCOPED = "def f(db, call_id):\n    return db.select('calls', {'id': call_id})\n"


def project(tmp_path, files, config="[tool.orgscope-lint]\n"):
    root = tmp_path / "repo"
    root.mkdir(exist_ok=True)
    (root / "pyproject.toml").write_text(config)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def invoke(*args, env=None):
    return CliRunner().invoke(main, ["check", "--no-cache", "--jobs", "1", *map(str, args)],
                              env={"NO_COLOR": "1", **(env or {})})


def as_json(result):
    return json.loads(result.stdout)


# --- 1. unknown rule codes --------------------------------------------------------

@pytest.mark.parametrize("option, code, hint", [
    ("--select", "ORG1O1", "did you mean ORG101?"),
    ("--select", "ORG999", "did you mean ORG901?"),
    ("--ignore", "XYZ", ""),
])
def test_unknown_codes_on_the_command_line_are_usage_errors(tmp_path, option, code, hint):
    root = project(tmp_path, {"app/svc.py": UNSCOPED})
    result = invoke(option, code, root)
    assert result.exit_code == 2, result.output
    assert f"{option}: unknown rule code {code!r}" in result.stderr
    assert hint in result.stderr
    assert "Traceback" not in result.stderr


def test_prefixes_stay_valid(tmp_path):
    root = project(tmp_path, {"app/svc.py": UNSCOPED})
    assert invoke("--select", "ORG1", root).exit_code == 1
    assert invoke("--ignore", "ORG1", root).exit_code == 0


@pytest.mark.parametrize("table, key", [
    ("select = ['ORG1O1']", "tool.orgscope-lint.select"),
    ("ignore = ['ORG1O2']", "tool.orgscope-lint.ignore"),
    ("[tool.orgscope-lint.per-file-ignores]\n'tests/**' = ['ORG1O1']",
     'tool.orgscope-lint.per-file-ignores."tests/**"'),
    ("[tool.orgscope-lint.severity]\nORG1O4 = 'error'", "tool.orgscope-lint.severity"),
])
def test_unknown_codes_in_the_config_name_the_file_and_key(tmp_path, table, key):
    root = project(tmp_path, {"app/svc.py": UNSCOPED}, f"[tool.orgscope-lint]\n{table}\n")
    result = invoke(root)
    assert result.exit_code == 2, result.output
    assert str(root / "pyproject.toml") in result.stderr
    assert f"`{key}`: unknown rule code" in result.stderr
    assert "did you mean ORG10" in result.stderr


# --- 2. files that cannot be read fail the run; migration errors carry the line -----

def test_undecodable_file_fails_an_otherwise_clean_run(tmp_path):
    root = project(tmp_path, {})
    (root / "app").mkdir()
    (root / "app" / "latin.py").write_bytes(b"x = 1\n# caf\xe9\n")
    result = invoke("--format", "json", root)
    assert result.exit_code == 1
    [finding] = as_json(result)["findings"]
    assert (finding["rule"], finding["path"], finding["line"]) == ("ORG001", "app/latin.py", 1)
    assert finding["message"] == "not valid UTF-8 at byte 11 and no encoding declaration"


def test_invalid_utf8_on_the_first_line_is_not_a_bad_declaration(tmp_path):
    root = project(tmp_path, {})
    (root / "app").mkdir()
    (root / "app" / "blob.py").write_bytes(b"\xff\xfe binary\n")
    [finding] = as_json(invoke("--format", "json", root))["findings"]
    assert finding["message"] == "not valid UTF-8 at byte 0 and no encoding declaration"


def test_rejected_migration_statement_carries_its_line_everywhere(tmp_path):
    root = project(tmp_path, {"app/svc.py": "x = 1\n",
                              "database/migrations/001.sql":
                                  "CREATE TABLE a (id int);\nCREATE TABLE broken (;\n"})
    sarif = as_json(invoke("--format", "sarif", root))
    [note] = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["locations"][0]["physicalLocation"]["region"] == {"startLine": 2}
    assert note["message"]["text"].startswith(
        "statement at line 2 rejected by the PostgreSQL parser:")
    assert note["message"]["text"].endswith("; the rest of the file was applied")
    github = invoke("--format", "github", root, env={"GITHUB_WORKSPACE": str(root)})
    assert any(line.startswith("::error file=database/migrations/001.sql,line=2,")
               for line in github.stdout.splitlines())


# --- 3. bounded cost per file -------------------------------------------------------

def test_max_file_size_is_configurable_and_validated(tmp_path):
    big = UNSCOPED + "# " + "x" * 3000 + "\n"
    root = project(tmp_path, {"app/big.py": big, "app/svc.py": UNSCOPED},
                   "[tool.orgscope-lint]\nmax-file-size = 2000\n")
    document = as_json(invoke("--format", "json", root))
    assert [f["path"] for f in document["findings"]] == ["app/svc.py"]
    assert document["errors"] == [
        {"path": "app/big.py", "message": "skipped: 0.0 MB > max-file-size (0.0 MB)"}]
    assert document["summary"]["skipped"] == 1
    (root / "pyproject.toml").write_text("[tool.orgscope-lint]\nmax-file-size = -1\n")
    result = invoke(root)
    assert result.exit_code == 2
    assert "`tool.orgscope-lint.max-file-size` must be a non-negative integer" in result.stderr


# --- 4. --force-exclude ------------------------------------------------------------------

def test_force_exclude_applies_exclude_to_explicit_files(tmp_path, monkeypatch):
    root = project(tmp_path, {"tests/test_x.py": UNSCOPED, "app/svc.py": UNSCOPED},
                   "[tool.orgscope-lint]\nexclude = ['tests/']\n")
    monkeypatch.chdir(root)
    assert invoke("tests/test_x.py").exit_code == 1  # named explicitly: checked
    result = invoke("--force-exclude", "--format", "json", "tests/test_x.py")
    assert result.exit_code == 0, result.output  # pre-commit naming only excluded files
    assert as_json(result)["findings"] == []
    assert "no Python files" not in result.stderr
    both = as_json(invoke("--force-exclude", "--format", "json", "tests/test_x.py",
                          "app/svc.py"))
    assert [f["path"] for f in both["findings"]] == ["app/svc.py"]


def test_the_pre_commit_hook_passes_force_exclude():
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert re.search(r"^\s*entry: orgscope-lint check --force-exclude\s*$", hooks, re.M)


# --- 5. the project root ----------------------------------------------------------------

def elsewhere_config(tmp_path):
    repo = project(tmp_path, {"app/svc.py": UNSCOPED, "app/tasks/job.py": UNSCOPED})
    (repo / "pyproject.toml").unlink()
    (repo / ".git").mkdir()
    other = tmp_path / "elsewhere"
    other.mkdir()
    config = other / "x.toml"
    config.write_text("[[system-contexts]]\npaths = ['app/tasks/**']\nreason = 'cron'\n")
    return repo, config


def test_a_config_outside_the_tree_does_not_move_the_root(tmp_path):
    repo, config = elsewhere_config(tmp_path)
    document = as_json(invoke("--format", "json", "--config", config, repo))
    findings = {(f["path"], f["suppressed"]) for f in document["findings"]}
    assert findings == {("app/svc.py", False), ("app/tasks/job.py", True)}


def test_root_option_and_show_settings(tmp_path):
    repo, config = elsewhere_config(tmp_path)
    settings = invoke("--show-settings", "--config", config, repo / "app")
    assert settings.exit_code == 0
    assert f"Settings path: {config.resolve()}" in settings.stdout
    assert f"Project root: {repo.resolve()}" in settings.stdout  # the repository above
    assert "Discovered files: 2" in settings.stdout
    assert "Presets: dbservice" in settings.stdout
    assert "system-contexts = " in settings.stdout
    document = as_json(invoke("--format", "json", "--config", config, "--root", repo / "app",
                              repo / "app"))
    assert sorted(f["path"] for f in document["findings"]) == ["svc.py", "tasks/job.py"]


def test_terminal_paths_are_relative_to_the_current_directory(tmp_path, monkeypatch):
    repo = project(tmp_path, {"app/svc.py": UNSCOPED})
    monkeypatch.chdir(repo / "app")
    text = invoke(repo).stdout
    assert text.splitlines()[0] == "svc.py"
    assert '"path": "app/svc.py"' in invoke("--format", "json", repo).stdout


# --- 6. nothing to check ------------------------------------------------------------------

def test_a_path_without_python_files_is_a_usage_error(tmp_path):
    root = project(tmp_path, {"docs/readme.txt": "hello\n"})
    result = invoke(root / "docs")
    assert result.exit_code == 2
    assert "no Python files to check in" in result.stderr
    assert "0 findings" not in result.output


def test_an_empty_path_next_to_a_real_one_is_a_warning(tmp_path):
    root = project(tmp_path, {"docs/readme.txt": "hello\n", "app/svc.py": UNSCOPED})
    result = invoke(root / "docs", root / "app")
    assert result.exit_code == 1
    assert f"warning: no Python files to check in {root / 'docs'}" in result.stderr


# --- 7. interrupts --------------------------------------------------------------------------

def test_ctrl_c_outside_the_engine_exits_130_not_aborted(tmp_path, monkeypatch):
    root = project(tmp_path, {"app/svc.py": UNSCOPED})

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("orgscope_lint.cli.renderer", lambda name: interrupted)
    result = invoke(root)
    assert result.exit_code == 130
    assert "Aborted!" not in result.output
    assert result.stderr.strip().splitlines() == ["orgscope-lint: interrupted; no file was changed"]


def fixable(count):
    """`count` route modules, each with one ORG102 that `--fix` can fix."""
    route = ("from fastapi import Depends\n\n"
             "from app.core.auth import get_current_user\n"
             "from app.core.database import DatabaseService\n\n"
             "db = DatabaseService()\n\n\n"
             "async def handler(item_id: str, current_user: dict = Depends(get_current_user)):\n"
             "    clerk_org_id = current_user['clerk_org_id']\n"
             "    db.delete('agents', {{'id': item_id}})  # {}\n")
    return {f"app/m{i}.py": route.format(i) for i in range(count)}


def test_ctrl_c_during_fix_writes_starts_no_other_write(tmp_path, monkeypatch):
    root = project(tmp_path, fixable(3))
    before = {p.name: p.read_text() for p in (root / "app").glob("*.py")}
    real = atomic.write_atomic
    writes = []

    def write_then_signal(path, data):
        real(path, data)
        writes.append(path)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C right after the first write

    monkeypatch.setattr("orgscope_lint.fix.write_atomic", write_then_signal)
    result = invoke("--fix", root)
    assert result.exit_code == 130, result.output
    assert len(writes) == 1
    after = {p.name: p.read_text() for p in (root / "app").glob("*.py")}
    changed = [name for name in after if after[name] != before[name]]
    assert changed == [Path(writes[0]).name]
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("orgscope-lint: interrupted: applied 1 fixes in 1 files; "
                           "2 files not written (interrupted: ")


def test_ctrl_c_after_fix_says_what_was_written(tmp_path, monkeypatch):
    root = project(tmp_path, fixable(2))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("orgscope_lint.cli.renderer", lambda name: interrupted)
    result = invoke("--fix", "--quiet", root)
    assert result.exit_code == 130
    assert result.stderr.strip().splitlines()[-1] == (
        "orgscope-lint: interrupted; applied 2 fixes in 2 files; 0 without a safe fix")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_a_parallel_run_exits_130(tmp_path):
    body = "".join(f"def f{i}(db, k):\n    x = {{'id': k}}\n    if k:\n"
                   f"        x['n'] = {i}\n    return db.select('calls', x)\n\n"
                   for i in range(150))
    root = project(tmp_path, {f"app/m{i}.py": body for i in range(120)})
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    child = subprocess.Popen([sys.executable, "-m", "orgscope_lint", "check", "--no-cache",
                              "--jobs", "2", str(root)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(2.5)
    os.killpg(child.pid, signal.SIGINT)  # as a terminal does: the whole process group
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1].startswith("orgscope-lint: interrupted")
    assert "Traceback" not in stderr and "Fatal Python error" not in stderr


# --- 8. honest fix summaries -------------------------------------------------------------

def test_fix_summary_counts_only_what_was_written(tmp_path, monkeypatch):
    root = project(tmp_path, fixable(3))
    real = atomic.write_atomic

    def deny_m1(path, data):
        if path.endswith("m1.py"):
            raise PermissionError(13, "Permission denied", path)
        real(path, data)

    monkeypatch.setattr("orgscope_lint.fix.write_atomic", deny_m1)
    result = invoke("--fix", "--quiet", "--select", "ORG102", root)
    assert result.exit_code == 1
    assert ("orgscope-lint: applied 2 fixes in 2 files; 1 files not written "
            "(permission denied: app/m1.py); 0 without a safe fix") in result.stderr


def test_the_check_after_fix_reanalyses_nothing(tmp_path, monkeypatch):
    root = project(tmp_path, fixable(3))
    analysed = []
    real = engine._check_one
    monkeypatch.setattr(engine, "_check_one", lambda item: analysed.append(item[0]) or real(item))
    runner = CliRunner()
    assert runner.invoke(main, ["check", "--jobs", "1", str(root)]).exit_code == 1
    assert len(analysed) == 3  # cold run
    analysed.clear()
    result = runner.invoke(main, ["check", "--fix", "--jobs", "1", str(root)])
    assert result.exit_code == 0, result.output
    assert "applied 3 fixes in 3 files" in result.stderr
    assert analysed == []  # warm run, fixes verified in place, checks from the cache


# --- 9. target version ----------------------------------------------------------------------

ANNOTATED = "def handler(user: CurrentUser) -> Response:\n    return user\n"


@pytest.mark.parametrize("project_table, expected", [
    ('[project]\nrequires-python = ">=3.14"\n', []),
    ('[project]\nrequires-python = ">=3.10"\n', ["ORG301", "ORG301"]),
    ('target-version = "py314"\n', []),
])
def test_annotation_semantics_follow_the_target_version(tmp_path, project_table, expected):
    if project_table.startswith("target"):
        config = f"[tool.orgscope-lint]\n{project_table}"
    else:
        config = f"{project_table}[tool.orgscope-lint]\n"
    root = project(tmp_path, {"app/h.py": ANNOTATED}, config)
    document = as_json(invoke("--format", "json", root))
    assert [f["rule"] for f in document["findings"]] == expected


def test_bad_target_version_is_a_config_error(tmp_path):
    root = project(tmp_path, {"app/h.py": "x = 1\n"},
                   "[tool.orgscope-lint]\ntarget-version = 'python3'\n")
    result = invoke(root)
    assert result.exit_code == 2
    assert "`tool.orgscope-lint.target-version` must look like" in result.stderr


def test_new_syntax_in_a_large_file_is_not_a_parse_error(tmp_path):
    """PEP 758 (`except A, B:`) is 3.14 syntax; libcst parses it, so the file
    is checked whatever the running interpreter says, even past the size
    where CPython's verdict used to stand."""
    filler = "".join(f"VALUE_{i} = {i}\n" for i in range(12000))
    code = ("def f(db, call_id):\n    try:\n        pass\n    except ValueError, TypeError:\n"
            "        pass\n    return db.select('calls', {'id': call_id})\n") + filler
    assert len(code.encode()) > 128 * 1024
    root = project(tmp_path, {"app/new.py": code})
    document = as_json(invoke("--format", "json", root))
    assert [(f["rule"], f["line"]) for f in document["findings"]] == [("ORG101", 6)]


# --- 10. GitHub limits ----------------------------------------------------------------------

def test_github_annotations_stay_within_limits(tmp_path):
    files = {f"app/m{i:02}.py": UNSCOPED for i in range(40)}
    # files that could not be checked are `::error` annotations too
    files.update({f"app/zbig{i}.py": UNSCOPED + "#" * 300 + "\n" for i in range(2)})
    root = project(tmp_path, files, "[tool.orgscope-lint]\nmax-file-size = 200\n")
    result = invoke("--format", "github", root, env={"GITHUB_WORKSPACE": str(root)})
    lines = result.stdout.splitlines()
    assert sum(line.startswith("::error ") for line in lines) == 10
    [notice] = [line for line in lines if line.startswith("::notice ")]
    assert len(notice) < 2000
    assert "32 more findings not annotated (30 ORG101, 2 not checked)" in notice
    assert "--format sarif" in notice and "... and 22 more" in notice


def test_unwritable_step_summary_is_a_warning(tmp_path):
    root = project(tmp_path, {"app/svc.py": UNSCOPED})
    target = tmp_path / "no-such-dir" / "summary.md"
    result = invoke("--format", "github", root, env={"GITHUB_STEP_SUMMARY": str(target)})
    assert result.exit_code == 1
    assert f"warning: cannot write the job summary to {target}" in result.stderr


# --- 11. suppression hygiene and statistics ----------------------------------------------

def test_a_bare_suppression_is_org901(tmp_path):
    code = "def f(db, k):\n    db.delete('calls', {'id': k})  # orgscope: ignore retention\n"
    root = project(tmp_path, {"app/svc.py": code})
    document = as_json(invoke("--format", "json", root))
    found = {f["rule"]: f for f in document["findings"]}
    assert sorted(found) == ["ORG102", "ORG901"]
    assert not found["ORG102"]["suppressed"]
    assert "name the codes" in found["ORG901"]["message"]


def test_statistics_print_counts_only(tmp_path):
    files = fixable(2)
    files["app/x.py"] = "def h():\n    return undefined_thing\n"
    root = project(tmp_path, files)
    result = invoke("--statistics", root)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["2\tORG102\t[*]\tunscoped-write",
                                          "1\tORG301\t   \tundefined-name"]
    rows = as_json(invoke("--statistics", "--format", "json", root))
    assert rows == [{"code": "ORG102", "name": "unscoped-write", "count": 2, "fixable": True},
                    {"code": "ORG301", "name": "undefined-name", "count": 1, "fixable": False}]


# --- 12. what was checked --------------------------------------------------------------

def test_json_lists_every_db_call_and_route():
    document = as_json(invoke("--format", "json", FIXTURE))
    calls, routes = document["db_calls"], document["routes"]
    assert len(calls) == document["summary"]["db_calls"] > 100
    assert len(routes) == document["summary"]["routes"] > 50
    assert set(calls[0]) == {"path", "line", "symbol", "table", "operation", "preset",
                             "outcome", "tenant_key", "evidence"}
    assert all(c["evidence"] for c in calls)
    scoped = next(c for c in calls if c["outcome"] == "scoped" and c["operation"] == "read")
    assert scoped["evidence"] == f"the filter sets {scoped['tenant_key']} on every path"
    assert set(routes[0]) == {"methods", "path", "handler", "file", "line", "auth", "public",
                              "tenant_source"}
    health = [r for r in routes if r["public"]]
    assert health and all(r["auth"] == [] for r in health)
    assert document["schema_version"] == 1


# --- README ------------------------------------------------------------------------------

def test_the_readme_config_example_loads(tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Configuration"):]
    example = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    (tmp_path / "pyproject.toml").write_text(example)
    config = load_config(None, tmp_path)
    assert config.auth_dependencies == ("get_current_user",)
    assert config.tenant_headers == ("x-client-id", "x-org-id")
    assert config.max_file_size == 1_000_000 and config.target_version == (3, 11)
    assert set(config.db_methods) >= {"fetch_rows", "store"}
    assert len(config.system_contexts) == 2


# --- issue 10: the engine leaves the caller's config alone ---------------------------

def test_run_does_not_mutate_the_callers_config(tmp_path):
    root = project(tmp_path, {"app/svc.py": UNSCOPED})
    config = load_config(None, root)
    assert config.strict is False
    run([root], config, Options(strict=True, jobs=1, use_cache=False))
    assert config.strict is False


def test_rule_policy_is_not_a_list_of_codes_in_the_pipeline():
    for module in ("engine.py", "suppress.py", "fix.py"):
        source = (ROOT / "orgscope_lint" / module).read_text()
        assert not re.search(r"\"ORG\d{3}\"", source), module
