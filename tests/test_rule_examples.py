"""Every rule's VALID and INVALID examples (the Fixit convention), run through
the whole engine: VALID examples produce no finding of the rule; INVALID
examples produce exactly the findings marked `# expect: ORGnnn`, and `--fix`
turns them into their `fixed=` source (or leaves them as they are)."""
import pytest

from orgscope_lint.rules import RULES
from orgscope_lint.testing import example_sources, fix_example, found, marks_in, run_example

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


def test_every_fixable_rule_shows_its_fix():
    for rule in RULES:
        if rule.fixable:
            assert any(e.fixed is not None for e in rule.examples("invalid")), \
                f"{rule.code} is fixable but no INVALID example has `fixed=`"


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


INVALID = [case for case in CASES if case[1] == "invalid"]


@pytest.mark.parametrize("case", INVALID, ids=[_id(c) for c in INVALID])
def test_example_fix(case):
    rule, _, _, example = case
    sources = example_sources(example)
    fixed = fix_example(example)
    expected = dict(sources)
    if example.fixed is not None:
        assert example.fixed != example.code, "`fixed=` that changes nothing"
        expected[example.path] = example.fixed
    assert fixed == expected
