"""Baselines keep known debt quiet and let new debt fail; explicit file
arguments are reported alone but read with the whole project's facts."""
import json
import re
import shutil
from pathlib import Path

import pytest

from orgscope_lint.baseline import BaselineError, load_baseline, write_baseline
from orgscope_lint.config import load_config
from orgscope_lint.engine import Options, run

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "sample_backend"
CALLS = "app/api/v1/calls.py"
NOTES_WRITE = ('    updated = db.update("calls", filters, {"notes": payload.notes, '
               '"notes_by": current_user["user_id"]})  # expect: ORG102\n')


@pytest.fixture
def backend(tmp_path):
    copy = tmp_path / "backend"
    shutil.copytree(FIXTURE, copy)
    return copy


def _run(root, paths=None, baseline=None):
    config = load_config(None, root)
    return run(paths or [root], config, Options(jobs=1, use_cache=False, baseline=baseline))


def _active(result):
    return [(f.path, f.line, f.rule) for f in result.active]


def test_baseline_survives_moved_lines_and_catches_one_new_duplicate(backend, tmp_path):
    first = _run(backend)
    assert first.active
    baseline_file = tmp_path / "baseline.json"
    written = write_baseline(baseline_file, first.findings)
    assert written == len(first.active)

    for path in backend.rglob("*.py"):
        path.write_text("\n" * 10 + path.read_text(encoding="utf-8"), encoding="utf-8")
    moved = _run(backend, baseline=load_baseline(baseline_file))
    assert _active(moved) == []
    assert moved.baselined == len(first.active) and moved.baseline_gone == 0

    calls = backend / CALLS
    text = calls.read_text(encoding="utf-8")
    assert text.count(NOTES_WRITE) == 1
    calls.write_text(text.replace(NOTES_WRITE, NOTES_WRITE * 2), encoding="utf-8")
    grown = _run(backend, baseline=load_baseline(baseline_file))
    [new] = grown.active
    assert (new.path, new.rule, new.symbol) == (CALLS, "ORG102", "update_call_notes")
    assert grown.baselined == len(first.active)


def test_fixed_findings_are_counted_as_gone(backend, tmp_path):
    baseline_file = tmp_path / "baseline.json"
    write_baseline(baseline_file, _run(backend).findings)
    calls = backend / CALLS
    calls.write_text(calls.read_text(encoding="utf-8").replace(
        "filters = dict(id=call_id)\n",
        'filters = dict(id=call_id, clerk_org_id=current_user["clerk_org_id"])\n'),
        encoding="utf-8")
    result = _run(backend, baseline=load_baseline(baseline_file))
    assert _active(result) == [] and result.baseline_gone == 1


def test_baseline_file_is_stable_and_line_free(backend, tmp_path):
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    write_baseline(one, _run(backend).findings)
    write_baseline(two, _run(backend).findings)
    assert one.read_text() == two.read_text()
    document = json.loads(one.read_text())
    assert document["schema_version"] == 1
    assert all("line" not in entry for entry in document["findings"])
    # accepted findings (system contexts) are not debt: they are not written
    assert len(document["findings"]) == len(_run(backend).active)


@pytest.mark.parametrize("content, message", [
    ("not json", "not a JSON baseline"),
    ('{"findings": 3}', "no `findings` list"),
    ('{"schema_version": 7, "findings": []}', "unsupported baseline"),
    ('{"schema_version": 1, "findings": [{"fingerprint": 1}]}', "findings[0].fingerprint"),
])
def test_bad_baselines_name_the_file_and_the_problem(tmp_path, content, message):
    path = tmp_path / "b.json"
    path.write_text(content)
    with pytest.raises(BaselineError, match=re.escape(message)) as error:
        load_baseline(path)
    assert str(path) in str(error.value)
    with pytest.raises(BaselineError, match="not found"):
        load_baseline(tmp_path / "missing.json")


def test_explicit_file_uses_project_facts_and_reports_only_itself(backend):
    result = _run(backend, paths=[backend / CALLS])
    assert {f.path for f in result.findings} == {CALLS}
    # get_call is a wrapper defined in app/core/database.py, which was not passed
    assert "ORG106" in {f.rule for f in result.active}
    assert result.files == 1
    assert {c.path for c in result.db_calls} == {CALLS}
    whole = _run(backend)
    assert _active(result) == [x for x in _active(whole) if x[0] == CALLS]


def test_explicit_file_with_baseline_does_not_call_other_files_gone(backend, tmp_path):
    baseline_file = tmp_path / "baseline.json"
    write_baseline(baseline_file, _run(backend).findings)
    result = _run(backend, paths=[backend / CALLS], baseline=load_baseline(baseline_file))
    assert result.active == [] and result.baseline_gone == 0
