"""Every rule's VALID and INVALID examples (the Fixit convention), run through
the whole engine: VALID examples produce no finding of the rule; INVALID
examples produce exactly the findings marked `# expect: ORGnnn`."""
import pytest

from orgscope_lint.rules import RULES
from orgscope_lint.testing import found, marks_in, run_example

CASES = [(rule, kind, index, example)
         for rule in RULES
         for kind in ("valid", "invalid")
         for index, example in enumerate(rule.examples(kind))]


def _id(case):
    rule, kind, index, _ = case
    return f"{rule.code}-{kind}-{index}"


def test_every_rule_has_examples():
    for rule in RULES:
        assert rule.examples("valid"), f"{rule.code} has no VALID example"
        assert rule.examples("invalid"), f"{rule.code} has no INVALID example"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_example(case):
    rule, kind, _, example = case
    result = run_example(example)
    assert not result.internal_errors, result.internal_errors
    active, _ = found(result)
    expected, _ = marks_in({**example.files, example.path: example.code})
    if kind == "valid":
        assert [f for f in active if f[2] == rule.code] == []
        # marks in VALID examples document other rules' findings (e.g. ORG104
        # inside a wrapper whose callers are fine): they must hold too
        assert sorted(set(active)) == sorted(expected)
    else:
        assert any(code == rule.code for _, _, code in expected), "INVALID example without mark"
        assert sorted(active) == sorted(expected)
