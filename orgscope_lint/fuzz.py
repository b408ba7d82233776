"""Opt-in long fuzzing: `python -m orgscope_lint.fuzz [--examples N] [--seed S]`.

Feeds generated Python programs (hypothesmith: from the grammar, which yields
odd but valid syntax, and from libcst node trees, which yields realistic
shapes) through the whole engine, and fails on the first program that makes
the engine raise or report an internal error, printing it (shrunk). The test
suite runs the same property with a few examples; this runs thousands.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence


def engine_survives(source: str) -> None:
    """The property: any program is checked, or reported as unparsable."""
    from .testing import run_sources
    result = run_sources({"generated.py": source})
    assert not result.internal_errors, result.internal_errors[0].message
    for finding in result.findings:
        assert finding.line >= 1 and finding.column >= 1, finding


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orgscope_lint.fuzz",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000,
                        help="programs per strategy (default: 2000)")
    parser.add_argument("--seed", type=int, default=None, help="reproduce a run")
    args = parser.parse_args(argv)
    try:
        import hypothesmith
        from hypothesis import HealthCheck, given, seed, settings
    except ImportError:
        print("the fuzzer needs the test extra: pip install '.[test]'", file=sys.stderr)
        return 2
    strategies = {"grammar": hypothesmith.from_grammar(), "nodes": hypothesmith.from_node()}
    for name, strategy in strategies.items():
        print(f"fuzzing with {args.examples} programs from {name}...", flush=True)
        test = settings(max_examples=args.examples, deadline=None, database=None,
                        suppress_health_check=list(HealthCheck))(given(strategy)(engine_survives))
        if args.seed is not None:
            test = seed(args.seed)(test)
        test()
    print("no failure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
