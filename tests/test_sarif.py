"""SARIF 2.1.0 output validates against the official schema and carries what
code scanning needs: rules with help, fingerprints, suppressions."""
import json
from pathlib import Path

import jsonschema
import pytest

from orgscope_lint.config import load_config
from orgscope_lint.engine import Options, run
from orgscope_lint.report.sarif import FINGERPRINT_KEY, render
from orgscope_lint.rules import RULES
from orgscope_lint.testing import config_from, run_sources

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif" / "sarif-schema-2.1.0.json")
                    .read_text(encoding="utf-8"))
FIXTURE = ROOT / "fixtures" / "sample_backend"


@pytest.fixture(scope="module")
def fixture_sarif():
    config = load_config(None, FIXTURE)
    result = run([FIXTURE], config, Options(jobs=1, use_cache=False))
    return result, json.loads(render(result, environ={"GITHUB_WORKSPACE": str(FIXTURE)}))


def test_fixture_sarif_validates_against_the_official_schema(fixture_sarif):
    _, document = fixture_sarif
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    assert document["version"] == "2.1.0"


def test_every_rule_is_described_from_its_docs(fixture_sarif):
    _, document = fixture_sarif
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.code for r in RULES]
    for descriptor, rule in zip(rules, RULES):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"]
        assert descriptor["fullDescription"]["text"]
        assert "## Why is this bad?" in descriptor["help"]["markdown"]
        assert "security" in descriptor["properties"]["tags"]
        assert float(descriptor["properties"]["security-severity"]) > 0


def test_results_are_repo_relative_with_fingerprints(fixture_sarif):
    result, document = fixture_sarif
    run_ = document["runs"][0]
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/sample_backend/")
    results = run_["results"]
    assert len(results) == len(result.findings)
    for item, finding in zip(results, result.findings):
        location = item["locations"][0]["physicalLocation"]
        assert location["artifactLocation"] == {"uri": finding.path, "uriBaseId": "%SRCROOT%"}
        assert location["region"]["startLine"] == finding.line
        assert location["region"]["startColumn"] == finding.column
        assert item["partialFingerprints"][FINGERPRINT_KEY] == finding.fingerprint
        assert run_["tool"]["driver"]["rules"][item["ruleIndex"]]["id"] == finding.rule
    accepted = [r for r in results if "suppressions" in r]
    assert len(accepted) == sum(1 for f in result.findings if f.suppressed) > 0
    kinds = sorted(s["kind"] for r in accepted for s in r["suppressions"])
    # the fixture's inline comment is in source; system contexts live in config
    assert kinds == ["external"] * (len(accepted) - 1) + ["inSource"]


def test_comment_suppression_is_in_source_and_levels_map():
    code = ('def purge(db, org):\n'
            '    db.delete("agents", {"status": "x"})  # orgscope: ignore[ORG102] retention\n'
            '    filters = {"id": 1}\n'
            '    if org:\n'
            '        filters["clerk_org_id"] = org\n'
            '    return db.select("calls", filters)\n')
    document = json.loads(render(run_sources({"app/jobs.py": code}, config_from({}))))
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    by_rule = {r["ruleId"]: r for r in document["runs"][0]["results"]}
    assert by_rule["ORG102"]["suppressions"] == [{"kind": "inSource",
                                                  "justification": "retention"}]
    assert by_rule["ORG104"]["level"] == "warning" and "suppressions" not in by_rule["ORG104"]


def test_uris_are_relative_to_the_repository_when_the_project_is_below_it():
    result = run_sources({"app/jobs.py": 'def f(db):\n    db.delete("agents", {})\n'},
                         config_from({}, root=Path("/work/repo/backend")))
    document = json.loads(render(result, environ={"GITHUB_WORKSPACE": "/work/repo"}))
    run_ = document["runs"][0]
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///work/repo/"
    location = run_["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uri"] == "backend/app/jobs.py"


def test_safe_fixes_are_sarif_fixes_that_rebuild_the_fixed_file(fixture_sarif):
    """Applying each result's SARIF replacements to the file gives what --fix
    plans for that finding alone."""
    import dataclasses

    from orgscope_lint.engine import active_rules
    from orgscope_lint.fix import plan_fixes
    result, document = fixture_sarif
    with_fixes = [(r, f) for r, f in zip(document["runs"][0]["results"], result.findings)
                  if "fixes" in r]
    assert len(with_fixes) == sum(1 for f in result.active if f.fixable) >= 6
    assert not [r for r, f in zip(document["runs"][0]["results"], result.findings)
                if "fixes" in r and f.suppressed]
    config = load_config(None, FIXTURE)
    for item, finding in with_fixes:
        [fix] = item["fixes"]
        assert fix["description"]["text"] == finding.fix.description
        [change] = fix["artifactChanges"]
        assert change["artifactLocation"] == {"uri": finding.path, "uriBaseId": "%SRCROOT%"}
        lines = (FIXTURE / finding.path).read_text(encoding="utf-8").splitlines(keepends=True)
        text = "".join(lines)
        for replacement in sorted(change["replacements"], reverse=True,
                                  key=lambda r: (r["deletedRegion"]["startLine"],
                                                 r["deletedRegion"]["startColumn"])):
            region = replacement["deletedRegion"]

            def offset(line, column):
                return sum(len(x) for x in lines[:line - 1]) + column - 1
            start = offset(region["startLine"], region["startColumn"])
            end = offset(region["endLine"], region["endColumn"])
            text = text[:start] + replacement["insertedContent"]["text"] + text[end:]
        # the same finding fixed alone by --fix (planned only: nothing is written)
        alone = dataclasses.replace(result, findings=[finding])
        plan = plan_fixes(alone, config, active_rules(config))
        [file] = plan.files
        assert file.new.decode("utf-8") == text
