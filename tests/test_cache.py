"""The per-file result cache: warm runs reproduce cold runs exactly without
re-analysing anything unchanged; cross-file facts still follow edits; bad,
foreign or unwritable cache state is never fatal."""
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orgscope_lint import engine
from orgscope_lint.cache import CACHE_DIR, ResultCache
from orgscope_lint.config import load_config
from orgscope_lint.engine import Options, run
from orgscope_lint.report.json import render

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "sample_backend"
REPO = FIXTURE.parent.parent


@pytest.fixture(autouse=True)
def private_user_cache(tmp_path, monkeypatch):
    """Keep the signing key out of the real home directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))


@pytest.fixture
def backend(tmp_path) -> Path:
    root = tmp_path / "backend"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns(CACHE_DIR))
    return root


@pytest.fixture
def analysed(monkeypatch):
    """The paths the engine analyses (i.e. parses) during a run."""
    paths = []
    original = engine._check_one

    def counting(args):
        paths.append(args[0])
        return original(args)

    monkeypatch.setattr(engine, "_check_one", counting)
    return paths


def check(root: Path, **options) -> str:
    config = load_config(None, root)
    options.setdefault("jobs", 1)
    return render(run([root], config, Options(**options)))


def test_warm_run_reproduces_the_cold_run_without_analysing_anything(backend, analysed):
    cold = check(backend)
    files = len(analysed)
    assert files == len(list(backend.rglob("*.py")))
    analysed.clear()
    warm = check(backend)
    assert warm == cold
    assert analysed == []
    assert json.loads(warm)["findings"], "the fixture has findings to reproduce"
    assert check(backend, use_cache=False) == cold


def test_cache_directory_ignores_itself(backend):
    check(backend)
    ignore = backend / CACHE_DIR / ".gitignore"
    assert ignore.read_text(encoding="utf-8").splitlines()[-1] == "*"


def test_no_cache_option_neither_reads_nor_writes(backend, analysed):
    check(backend, use_cache=False)
    assert not (backend / CACHE_DIR).exists()
    check(backend)
    analysed.clear()
    check(backend, use_cache=False)
    assert len(analysed) == len(list(backend.rglob("*.py")))


def test_only_the_edited_file_is_analysed_again(backend, analysed):
    check(backend)
    analysed.clear()
    target = backend / "app" / "services" / "agent.py"
    target.write_text(target.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    check(backend)
    assert analysed == ["app/services/agent.py"]


WRAPPER = '''
from app.db import db


def get_call(call_id, org_id=None):
    filters = {"id": call_id}
    if org_id:
        filters["clerk_org_id"] = org_id
    return db.select_one("calls", filters)
'''

CALLER = '''
from app.services import get_call


def show(call_id, user):
    return get_call(call_id)
'''


def _wrapper_project(root: Path) -> None:
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.orgscope-lint]\n", encoding="utf-8")
    (root / "app" / "__init__.py").write_text("", encoding="utf-8")
    (root / "app" / "db.py").write_text("db = DatabaseService()\n", encoding="utf-8")
    (root / "app" / "services.py").write_text(WRAPPER, encoding="utf-8")
    (root / "app" / "api.py").write_text(CALLER, encoding="utf-8")


def _findings_in(report: str, path: str):
    return sorted((f["rule"], f["line"]) for f in json.loads(report)["findings"]
                  if f["path"] == path)


def test_editing_a_wrapper_changes_its_callers_findings_on_a_warm_run(tmp_path, analysed):
    root = tmp_path / "project"
    _wrapper_project(root)
    before = check(root)
    assert _findings_in(before, "app/api.py") == [("ORG106", 6)]
    assert _findings_in(before, "app/services.py") == [("ORG104", 9)]
    # the wrapper stops scoping by its parameter: calling it without org_id is
    # no longer the caller's mistake (the wrapper itself is now the finding)
    services = root / "app" / "services.py"
    services.write_text(WRAPPER.replace('filters["clerk_org_id"] = org_id', "pass"),
                        encoding="utf-8")
    analysed.clear()
    after = check(root)
    assert analysed == ["app/services.py"], "the caller comes from the cache"
    assert _findings_in(after, "app/api.py") == []
    assert _findings_in(after, "app/services.py") == [("ORG101", 9)]
    # and back: the caller's finding returns, still without re-analysing it
    services.write_text(WRAPPER, encoding="utf-8")
    analysed.clear()
    assert check(root) == before
    assert analysed == ["app/services.py"]


def test_a_config_change_invalidates_every_entry(backend, analysed):
    check(backend)
    analysed.clear()
    check(backend, strict=True)  # --strict changes per-file verdicts
    assert len(analysed) == len(list(backend.rglob("*.py")))
    analysed.clear()
    pyproject = backend / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    edited = text.replace("global-tables = [", 'global-tables = ["calls", ', 1)
    assert edited != text
    pyproject.write_text(edited, encoding="utf-8")
    check(backend, strict=True)
    assert len(analysed) == len(list(backend.rglob("*.py")))


def test_project_facts_given_to_workers_are_part_of_the_key(backend):
    config = load_config(None, backend)

    class Facts:
        def __init__(self, digest):
            self.digest = digest

        def fingerprint(self):
            return self.digest

    items = [("app/main.py", str(backend / "app" / "main.py"), None)]
    first = ResultCache.open(backend, config, Facts("a"))
    _, key, _ = first.lookup(items[0])
    second = ResultCache.open(backend, config, Facts("b"))
    _, other, _ = second.lookup(items[0])
    assert key != other
    engine.check_files(items, config, 1, project=Facts("a"), cache_root=backend)
    assert first.lookup(items[0])[2] is not None
    assert second.lookup(items[0])[2] is None


def _entries(root: Path):
    return sorted((root / CACHE_DIR).glob("*.pickle"))


def test_corrupt_entries_are_ignored_and_rewritten(backend, analysed):
    cold = check(backend)
    entries = _entries(backend)
    assert entries
    for number, entry in enumerate(entries):
        blob = entry.read_bytes()
        damaged = [b"", blob[: len(blob) // 2], blob[:-1] + bytes([blob[-1] ^ 1]),
                   b"not a cache entry at all"][number % 4]
        entry.write_bytes(damaged)
    analysed.clear()
    assert check(backend) == cold
    assert len(analysed) == len(entries)
    analysed.clear()
    assert check(backend) == cold
    assert analysed == [], "damaged entries were rewritten"


class _Exploit:
    def __reduce__(self):
        return (open, (os.environ["EXPLOIT_MARKER"], "w"))


def test_foreign_entries_are_never_unpickled(backend, analysed, tmp_path, monkeypatch):
    """A cache directory that comes with the code under review is not trusted:
    an entry not signed with this user's key is never loaded."""
    cold = check(backend)
    marker = tmp_path / "exploited"
    monkeypatch.setenv("EXPLOIT_MARKER", str(marker))
    payload = pickle.dumps(_Exploit())
    for entry in _entries(backend):
        blob = entry.read_bytes()
        entry.write_bytes(blob[:5] + b"\0" * 32 + payload)
    # a different user (another signing key) finds the same entries foreign too
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other-user"))
    analysed.clear()
    assert check(backend) == cold
    assert not marker.exists()
    assert len(analysed) == len(list(backend.rglob("*.py")))


def test_an_unwritable_cache_location_means_no_cache(backend, analysed):
    (backend / CACHE_DIR).write_text("a file where the cache directory should be")
    cold = check(backend)
    analysed.clear()
    assert check(backend) == cold
    assert len(analysed) == len(list(backend.rglob("*.py")))


def test_an_unwritable_user_cache_means_no_cache(backend, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    cold = check(backend, use_cache=False)
    assert check(backend) == cold
    assert not _entries(backend)


def test_concurrent_runs_share_the_cache_safely(backend, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1")
    command = [sys.executable, "-m", "orgscope_lint", "check", str(backend),
               "--format", "json", "--exit-zero", "--jobs", "1"]
    runs = [subprocess.Popen(command, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE) for _ in range(3)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [err for _, err in outputs]
    assert len({out for out, _ in outputs}) == 1
    assert not list((backend / CACHE_DIR).glob(".tmp-*")), "no temporary file left behind"
    warm = subprocess.run(command, cwd=str(tmp_path), env=env, capture_output=True)
    assert warm.stdout == outputs[0][0]


def test_internal_errors_are_not_cached(backend, monkeypatch, analysed):
    from orgscope_lint.rules.db import UnscopedRead

    def broken(self, facts, config):
        raise RuntimeError("rule bug")

    with monkeypatch.context() as patch:
        patch.setattr(UnscopedRead, "findings_in_file", broken)
        first = json.loads(check(backend))
    def python_errors(document):
        return [e for e in document["errors"] if e["path"].endswith(".py")]

    assert python_errors(first)
    analysed.clear()
    second = json.loads(check(backend))
    assert not python_errors(second)
    assert len(analysed) == len(list(backend.rglob("*.py")))


def test_cache_key_covers_path_and_content(backend):
    config = load_config(None, backend)
    cache = ResultCache.open(backend, config)
    assert cache.key_for("a.py", b"x = 1\n") != cache.key_for("b.py", b"x = 1\n")
    assert cache.key_for("a.py", b"x = 1\n") != cache.key_for("a.py", b"x = 2\n")
    assert cache.key_for("a.py", b"x = 1\n") == cache.key_for("a.py", b"x = 1\n")


def test_warm_run_of_many_files_with_a_pool(tmp_path):
    root = tmp_path / "big"
    root.mkdir()
    shutil.copy(FIXTURE / "pyproject.toml", root / "pyproject.toml")
    for copy in range(3):
        shutil.copytree(FIXTURE / "app", root / f"app{copy}")
    cold = check(root, jobs=2)
    warm = check(root, jobs=2)
    assert warm == cold


AUTH = '''
from fastapi import Depends


def get_current_user():
    return {"clerk_org_id": "org"}


def require_member(user=Depends(get_current_user)):
    return user
'''

ROUTES = '''
from fastapi import APIRouter, Depends

from app.auth import require_member

router = APIRouter()


@router.get("/agents")
def list_agents(user=Depends(require_member)):
    return []
'''


def test_editing_an_auth_dependency_changes_its_routes_findings_on_a_warm_run(tmp_path,
                                                                             analysed):
    root = tmp_path / "project"
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.orgscope-lint]\n", encoding="utf-8")
    (root / "app" / "__init__.py").write_text("", encoding="utf-8")
    (root / "app" / "auth.py").write_text(AUTH, encoding="utf-8")
    (root / "app" / "api.py").write_text(ROUTES, encoding="utf-8")
    before = check(root)
    assert _findings_in(before, "app/api.py") == []
    # the dependency no longer goes through the configured auth dependency
    (root / "app" / "auth.py").write_text(
        AUTH.replace("user=Depends(get_current_user)", "user=None"), encoding="utf-8")
    analysed.clear()
    after = check(root)
    assert analysed == ["app/auth.py"], "the route's file comes from the cache"
    assert _findings_in(after, "app/api.py") == [("ORG201", 9)]
    (root / "app" / "auth.py").write_text(AUTH, encoding="utf-8")
    assert check(root) == before


def test_a_warm_run_does_not_load_the_parser(backend):
    # start-up time is most of a warm run: when every file comes from the cache,
    # libcst (and the per-file analyses built on it) must not even be imported
    probe = ("import sys\n"
             "from orgscope_lint.cli import main\n"
             "try:\n"
             "    main(['check', sys.argv[1], '--format', 'json', '--exit-zero', '--jobs', '1'])\n"
             "except SystemExit:\n"
             "    pass\n"
             "sys.stderr.write('LIBCST=%s' % ('libcst' in sys.modules))\n")
    env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1")
    runs = [subprocess.run([sys.executable, "-c", probe, str(backend)], capture_output=True,
                           text=True, env=env, timeout=120) for _ in range(2)]
    assert "LIBCST=True" in runs[0].stderr  # cold: files were parsed
    assert "LIBCST=False" in runs[1].stderr  # warm: nothing parsed, nothing imported
    assert runs[0].stdout == runs[1].stdout
