"""Generated programs never crash the engine (a bounded run of the fuzzer;
`python -m orgscope_lint.fuzz` runs the same property at length)."""
import hypothesmith
from hypothesis import HealthCheck, given, settings

from orgscope_lint.fuzz import engine_survives

_BOUNDED = settings(max_examples=15, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


@_BOUNDED
@given(hypothesmith.from_grammar())
def test_programs_from_the_grammar_never_crash_the_engine(source):
    engine_survives(source)


@_BOUNDED
@given(hypothesmith.from_node())
def test_programs_from_syntax_trees_never_crash_the_engine(source):
    engine_survives(source)


def test_the_property_catches_an_internal_error(monkeypatch):
    """The property is not vacuous: a crashing rule fails it."""
    import pytest
    from orgscope_lint.rules.db import UnscopedRead

    def broken(self, facts, config):
        raise RuntimeError("boom")

    monkeypatch.setattr(UnscopedRead, "findings_in_file", broken)
    with pytest.raises(AssertionError, match="boom"):
        engine_survives("x = 1\n")
