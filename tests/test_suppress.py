"""Inline suppressions: matching, reasons, ORG901 and its fix."""
from orgscope_lint.testing import config_from, run_sources

WRITE = 'def purge(db):\n    db.delete("agents", {"status": "archived"})'


def _run(code, table=None, **options):
    return run_sources({"app/jobs.py": code}, config_from(table or {}), **options)


def test_comment_suppresses_and_keeps_the_finding_with_its_reason():
    result = _run(WRITE + "  # orgscope: ignore[ORG102] retention job  # noqa: E501\n")
    [finding] = result.findings
    assert finding.rule == "ORG102" and finding.suppressed
    assert finding.suppression == {"kind": "comment", "reason": "retention job"}
    assert finding.to_json()["suppressed"] is True


def test_first_line_of_a_multi_line_statement_covers_the_call():
    code = ('def purge(db):\n    removed = (  # orgscope: ignore[ORG102] retention\n'
            '        db.delete("agents", {"status": "archived"})\n    )\n    return removed\n')
    result = _run(code)
    assert [(f.rule, f.line, f.suppressed) for f in result.findings] == [("ORG102", 3, True)]


def test_prefix_covers_a_rule_family():
    result = _run(WRITE + "  # orgscope: ignore[ORG1] legacy\n")
    assert [(f.rule, f.suppressed) for f in result.findings] == [("ORG102", True)]


def test_suppression_on_another_line_does_not_apply():
    code = "# orgscope: ignore[ORG102] nope\n" + WRITE + "\n"
    result = _run(code)
    assert sorted((f.rule, f.line, f.suppressed) for f in result.findings) == [
        ("ORG102", 3, False), ("ORG901", 1, False)]


def test_missing_reason_is_rejected_when_required():
    result = _run(WRITE + "  # orgscope: ignore[ORG102]\n", {"require-suppression-reason": True})
    by_rule = {f.rule: f for f in result.findings}
    assert not by_rule["ORG102"].suppressed
    assert "needs a reason" in by_rule["ORG901"].message
    assert by_rule["ORG901"].fix is None  # nothing to remove: a reason must be added


def test_unused_code_fix_removes_only_that_code():
    line = '    db.delete("agents", {"status": "archived"})  # orgscope: ignore[ORG102, ORG105] x'
    result = _run("def purge(db):\n" + line + "\n")
    [unused] = [f for f in result.findings if f.rule == "ORG901"]
    assert "ORG105" in unused.message and "ORG102" not in unused.message.split(":")[0]
    [edit] = unused.fix.edits
    assert edit.span.line == edit.span.end_line == 2
    assert edit.replacement == "# orgscope: ignore[ORG102] x"
    assert line[edit.span.column - 1:edit.span.end_column - 1] == \
        "# orgscope: ignore[ORG102, ORG105] x"
    assert unused.column == edit.span.column


def test_fully_unused_comment_fix_removes_it_with_its_blanks():
    line = '    return db.select_one("agents", {"id": 1, "clerk_org_id": o})  # orgscope: ignore[ORG101]'
    result = _run("def get(db, o):\n" + line + "\n")
    [unused] = result.findings
    [edit] = unused.fix.edits
    assert edit.span.line == edit.span.end_line == 2
    fixed = line[:edit.span.column - 1] + edit.replacement + line[edit.span.end_column - 1:]
    assert fixed == '    return db.select_one("agents", {"id": 1, "clerk_org_id": o})'


def test_narrowed_runs_do_not_call_suppressions_unused():
    result = _run(WRITE + "  # orgscope: ignore[ORG102] retention\n", select=("ORG9",))
    assert result.findings == []


def test_switched_off_rule_is_not_reported_unused():
    result = _run(WRITE + "  # orgscope: ignore[ORG102] retention\n",
                  {"severity": {"ORG102": "off"}})
    assert result.findings == []


def test_system_context_and_comment_both_accept():
    result = _run(WRITE + "  # orgscope: ignore[ORG102] retention\n",
                  {"system-contexts": [{"paths": ["app/jobs.py"], "reason": "cron"}]})
    [finding] = result.findings
    assert finding.suppressed and finding.suppression["kind"] == "comment"


def test_unparsable_file_reports_only_the_parse_error():
    result = _run("def broken(:  # orgscope: ignore[ORG001] nope\n    x = 1  # orgscope: ignore[ORG102] y\n")
    assert [(f.rule, f.suppressed) for f in result.findings] == [("ORG001", False)]
