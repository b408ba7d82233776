"""GitHub workflow-command annotations: escaping, columns, the per-level cap
with a summary of the rest, and the job summary."""
from orgscope_lint.model import Finding, RunResult
from orgscope_lint.report.github import (ANNOTATIONS_PER_LEVEL, escape_data, escape_property,
                                         render, write_step_summary)


def _finding(index=0, severity="error", **overrides):
    values = dict(rule="ORG102", name="unscoped-write", severity=severity,
                  path=f"app/m{index:02d}.py", line=3, column=5, end_line=3, end_column=40,
                  message="update of tenant table 'agents' filters by id only: add it",
                  fingerprint=f"fp{index}")
    values.update(overrides)
    return Finding(**values)


def _result(findings, root="/work/repo"):
    return RunResult(root=root, config_path=None, files=len(findings), lines=0,
                     findings=findings)


def test_escaping_follows_the_workflow_command_rules():
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"


def test_annotation_shape_and_one_based_columns():
    finding = _finding(path="app/a,b.py", message="100% wrong:\nfix it")
    text = render(_result([finding]), environ={"GITHUB_WORKSPACE": "/work/repo"})
    first = text.splitlines()[0]
    assert first == ("::error file=app/a%2Cb.py,line=3,endLine=3,col=5,endColumn=40,"
                     "title=ORG102 unscoped-write::100%25 wrong:%0Afix it")


def test_multi_line_span_drops_the_end_column_and_levels_map():
    finding = _finding(severity="warning", end_line=6, end_column=2)
    info = _finding(1, severity="info")
    lines = render(_result([finding, info]), environ={}).splitlines()
    assert lines[0].startswith("::warning file=app/m00.py,line=3,endLine=6,col=5,title=")
    assert lines[1].startswith("::notice file=app/m01.py,")


def test_paths_are_relative_to_the_workspace_when_the_project_is_below_it():
    text = render(_result([_finding()], root="/work/repo/backend"),
                  environ={"GITHUB_WORKSPACE": "/work/repo"})
    assert "file=backend/app/m00.py," in text


def test_annotations_are_capped_per_level_and_the_rest_summarised():
    findings = [_finding(i) for i in range(ANNOTATIONS_PER_LEVEL + 3)]
    findings += [_finding(50, severity="warning")]
    lines = render(_result(findings), environ={}).splitlines()
    assert sum(1 for line in lines if line.startswith("::error ")) == ANNOTATIONS_PER_LEVEL
    assert sum(1 for line in lines if line.startswith("::warning ")) == 1
    [notice] = [line for line in lines if line.startswith("::notice ")]
    assert "3 more findings not annotated (3 ORG102)" in notice
    assert "app/m12.py:3:5" in notice
    assert lines[-1].startswith("orgscope-lint: 14 findings")


def test_suppressed_findings_are_not_annotated():
    accepted = _finding(suppressed=True, suppression={"kind": "comment", "reason": "x"})
    lines = render(_result([accepted]), environ={}).splitlines()
    assert lines == ["orgscope-lint: 0 findings (1 file checked, 1 accepted)"]


def test_step_summary_gets_the_markdown_report(tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    written = write_step_summary(_result([_finding()]), {"GITHUB_STEP_SUMMARY": str(summary)})
    assert written == summary
    text = summary.read_text()
    assert text.startswith("earlier step\n# Organization-scoping verification")
    assert "## Fixes required" in text
    assert write_step_summary(_result([]), {}) is None
