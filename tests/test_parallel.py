"""The output does not depend on the number of worker processes."""
import os
import shutil
from pathlib import Path

from orgscope_lint import engine
from orgscope_lint.config import load_config
from orgscope_lint.engine import Options, run
from orgscope_lint.report.json import render

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "sample_backend"


def test_one_job_and_two_jobs_give_identical_json(tmp_path):
    root = tmp_path / "backend"
    root.mkdir()
    shutil.copy(FIXTURE / "pyproject.toml", root / "pyproject.toml")
    for copy in range(2):  # enough files for the process pool to be used
        shutil.copytree(FIXTURE / "app", root / f"app{copy}")
    files = len(list(root.rglob("*.py")))
    assert files >= engine.PARALLEL_THRESHOLD
    config = load_config(None, root)
    outputs = {jobs: render(run([root], config, Options(jobs=jobs, use_cache=False)))
               for jobs in (1, 2, 3)}
    assert outputs[1] == outputs[2] == outputs[3]
    assert '"rule": "ORG102"' in outputs[1]


def test_the_pool_is_used_above_the_threshold(tmp_path, monkeypatch):
    """Guards the test above: with enough files, work really goes to a pool."""
    created = []
    real_pool = engine.ProcessPoolExecutor

    def recording_pool(*args, **kwargs):
        created.append(kwargs.get("max_workers"))
        return real_pool(*args, **kwargs)

    monkeypatch.setattr(engine, "ProcessPoolExecutor", recording_pool)
    root = tmp_path / "many"
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.orgscope-lint]\n")
    for number in range(engine.PARALLEL_THRESHOLD):
        (root / f"m{number}.py").write_text(f"x = {number}\n")
    run([root], load_config(None, root), Options(jobs=2, use_cache=False))
    assert created == [2]
    created.clear()
    run([root], load_config(None, root), Options(jobs=1, use_cache=False))
    assert created == []


def test_default_jobs_are_the_available_cores():
    assert 1 <= engine.available_cores() <= (os.cpu_count() or 1)
