"""Compare analyze_names with pyflakes' undefined-name check on a source tree.

Usage: PYTHONPATH=. python tests/data/names/compare_pyflakes.py [ROOT] [--jobs N]
(ROOT defaults to the running interpreter's stdlib). Prints both counts, every
name only we report, a summary of names only pyflakes reports, and the time of
analyze_names against libcst.parse_module. Not a test: it takes minutes.
"""

from __future__ import annotations

import argparse
import ast
import collections
import multiprocessing
import pathlib
import sysconfig
import time
import warnings

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider
from pyflakes import checker, messages

from orgscope_lint.analysis.names import analyze_names


def compare(path: str):
    source = pathlib.Path(path).read_bytes()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError):
        return path, "ast", None
    start = time.perf_counter()
    try:
        module = cst.parse_module(source)
    except Exception:
        return path, "libcst", None
    parsed = time.perf_counter()
    try:
        report = analyze_names(module)
    except RecursionError:
        return path, "recursion", None
    analysed = time.perf_counter()

    positions = {}
    if report.undefined:  # PositionProvider recurses: only where needed
        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    ours = collections.Counter(
        (u.name, positions[u.annotation_string or u.node].start.line) for u in report.undefined
    )
    flakes = checker.Checker(tree, filename=path)
    theirs = collections.Counter(
        (m.message_args[0], m.lineno) for m in flakes.messages if isinstance(m, messages.UndefinedName)
    )
    star_usage = collections.Counter(
        (m.message_args[0], m.lineno) for m in flakes.messages if isinstance(m, messages.ImportStarUsage)
    )
    lines = source.count(b"\n") + 1
    return path, "ok", (ours, theirs, star_usage, parsed - start, analysed - parsed, lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", nargs="?", default=sysconfig.get_paths()["stdlib"])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    root = pathlib.Path(args.root)
    paths = sorted(
        str(p) for p in root.rglob("*.py") if "site-packages" not in p.relative_to(root).parts
    )
    skipped = collections.Counter()
    totals = collections.Counter()
    extra, extra_star, missing = [], [], []
    parse_time = analysis_time = 0.0
    with multiprocessing.Pool(args.jobs) as pool:
        for path, status, result in pool.imap_unordered(compare, paths, chunksize=8):
            if status != "ok":
                skipped[status] += 1
                continue
            ours, theirs, star_usage, parse, analysis, lines = result
            totals["files"] += 1
            totals["lines"] += lines
            totals["ours"] += sum(ours.values())
            totals["pyflakes"] += sum(theirs.values())
            parse_time += parse
            analysis_time += analysis
            for key, count in (ours - theirs).items():
                (extra_star if key in star_usage else extra).extend([(path, *key)] * count)
            for key, count in (theirs - ours).items():
                missing.extend([(path, *key)] * count)
    print(f"files compared: {totals['files']} ({totals['lines']} lines); skipped: {dict(skipped)}")
    print(f"undefined names: ours {totals['ours']}, pyflakes {totals['pyflakes']}")
    print(f"  ours outside star-import modules: {totals['ours'] - len(extra_star)}")
    print(f"ours only, pyflakes says 'may be undefined, or defined from star imports': {len(extra_star)}")
    print(f"ours only, unexplained: {len(extra)}")
    for path, name, line in sorted(extra):
        print(f"  {path}:{line}: {name}")
    print(f"pyflakes only: {len(missing)}")
    for path, name, line in sorted(missing):
        print(f"  {path}:{line}: {name}")
    print(
        f"time: parse_module {parse_time:.1f}s, analyze_names {analysis_time:.1f}s "
        f"({100 * analysis_time / parse_time:.1f}% of parse)"
    )


if __name__ == "__main__":
    main()
