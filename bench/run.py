"""Benchmark orgscope-lint against semgrep on three corpora (issue 6).

Run from the repository root:

    python bench/run.py

bench/README.md describes the corpora, the options and every column of the
table this prints and writes to bench/results.md. Standard library only.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
FIXTURE = REPO / "fixtures" / "sample_backend"
SEMGREP_VERSION = "1.185.0"
SEMGREP_VENV = BENCH / ".venv-semgrep"
SEMGREP_RULES = BENCH / "semgrep"
SEMGREP_ENV = {"SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"}
CACHE_DIR = ".orgscope-lint-cache"
STDLIB_SKIP = {"site-packages", "dist-packages", "__pycache__"}
FAST_RUN_REPEATS = 3  # warm, edited and pre-commit runs: median of this many
EDIT_LINE = b"# orgscope-bench: edited\n"
DB_CALL = re.compile(rb"\bdb\.\w+\(")

# Runs argv[3:] with stdout/stderr sent to argv[1]/argv[2], then prints its
# wall time, exit code and peak RSS. One fresh wrapper per measurement, since
# RUSAGE_CHILDREN's maxrss is the maximum over every child ever waited for.
RUSAGE_WRAPPER = """
import json, resource, subprocess, sys, time
with open(sys.argv[1], "wb") as out, open(sys.argv[2], "wb") as err:
    start = time.perf_counter()
    rc = subprocess.call(sys.argv[3:], stdout=out, stderr=err)
    wall = time.perf_counter() - start
rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall": wall, "rc": rc, "rss_kb": rss_kb}))
"""


@dataclass
class Run:
    wall: float  # seconds
    rss_mb: float  # peak RSS of the largest process of the command's tree
    rc: int
    stdout: bytes = b""
    stderr: str = ""

    def json(self) -> dict:
        try:
            return json.loads(self.stdout)
        except ValueError:
            return {}


@dataclass
class Corpus:
    name: str
    role: str  # which size targets apply: "a", "b" or "" (exit codes: all)
    root: Path  # cold runs and semgrep read the tree here
    paths: List[str]  # given to both tools, relative to root
    read_only: bool = False  # cached runs use a copy (the running stdlib)
    files: int = 0
    lines: int = 0


@dataclass
class Result:
    corpus: Corpus
    semgrep: Optional[Run] = None
    orgscope: Dict[str, Run] = field(default_factory=dict)  # cold, first, warm, edit3, pre3
    baseline: Dict[str, Run] = field(default_factory=dict)  # the same runs, --baseline-root
    notes: List[str] = field(default_factory=list)


# -- measuring ---------------------------------------------------------------

def measure(cmd: List[str], cwd: Path, env: Dict[str, str]) -> Run:
    with tempfile.TemporaryDirectory(prefix="orgscope-bench-run-") as tmp:
        out, err = Path(tmp, "out"), Path(tmp, "err")
        wrapper = subprocess.run(
            [sys.executable, "-c", RUSAGE_WRAPPER, str(out), str(err), *cmd],
            cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, check=True,
        )
        stats = json.loads(wrapper.stdout)
        return Run(stats["wall"], stats["rss_kb"] / 1024, stats["rc"],
                   out.read_bytes(), err.read_text(errors="replace"))


def median_run(runs: List[Run]) -> Run:
    """Median wall time; worst RSS and exit code, so no failure is hidden."""
    return Run(statistics.median(r.wall for r in runs), max(r.rss_mb for r in runs),
               max(r.rc for r in runs), runs[-1].stdout, runs[-1].stderr)


def report_failure(label: str, run: Run) -> None:
    tail = "\n".join(run.stderr.strip().splitlines()[-15:])
    print(f"  {label}: exit {run.rc}\n{tail}", file=sys.stderr)


# -- semgrep -----------------------------------------------------------------

def ensure_semgrep() -> Path:
    """The pinned semgrep in its own virtualenv, installed on first use."""
    installed = SEMGREP_VENV.glob(f"lib/python*/site-packages/semgrep-{SEMGREP_VERSION}.dist-info")
    if not any(installed):
        print(f"installing semgrep {SEMGREP_VERSION} into {SEMGREP_VENV} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(SEMGREP_VENV)], check=True)
        subprocess.run([str(SEMGREP_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", f"semgrep=={SEMGREP_VERSION}"], check=True)
    return SEMGREP_VENV / "bin" / "semgrep"


def run_semgrep(exe: Path, corpus: Corpus, jobs: int) -> Run:
    # Same files as orgscope-lint: no .gitignore / .semgrepignore filtering
    # (the default .semgrepignore drops tests/), no size limit.
    cmd = [str(exe), "scan", "--config", str(SEMGREP_RULES), "--metrics=off",
           "--disable-version-check", "--json", "--quiet", "--no-git-ignore",
           "--x-ignore-semgrepignore-files", "--max-target-bytes", "0",
           "--jobs", str(jobs), *corpus.paths]
    return measure(cmd, corpus.root, SEMGREP_ENV)


def semgrep_error_notes(corpus: Corpus, run: Run) -> List[str]:
    """Which kinds of error (timeouts skip a file's rules) semgrep reported."""
    kinds = Counter(e["type"] if isinstance(e["type"], str) else e["type"][0]
                    for e in run.json().get("errors", []))
    if not kinds:
        return []
    return [f"{corpus.name}: semgrep errors: " + ", ".join(f"{n} {k}" for k, n in kinds.most_common())]


# -- orgscope-lint -----------------------------------------------------------

@dataclass
class Orgscope:
    checkout: Path  # directory holding the orgscope_lint package
    jobs: int

    def run(self, cwd: Path, paths: List[str], cache: bool) -> Run:
        cmd = [sys.executable, "-m", "orgscope_lint", "check", *paths, "--format", "json",
               "--exit-zero", "--jobs", str(self.jobs)]
        if not cache:
            cmd.append("--no-cache")
        pythonpath = os.pathsep.join(filter(None, [str(self.checkout), os.environ.get("PYTHONPATH")]))
        return measure(cmd, cwd, {"PYTHONPATH": pythonpath})


def bench_orgscope(tool: Orgscope, corpus: Corpus, scratch: Path, result: Result) -> None:
    runs = result.orgscope
    caches_before = cache_dirs_above(corpus.root)
    runs["cold"] = tool.run(corpus.root, corpus.paths, cache=False)
    if corpus.read_only and cache_dirs_above(corpus.root) != caches_before:
        result.notes.append(f"{corpus.name}: a --no-cache run wrote {CACHE_DIR} into {corpus.root}")
    work = writable_copy(corpus, scratch) if corpus.read_only else corpus.root
    shutil.rmtree(work / CACHE_DIR, ignore_errors=True)
    runs["first"] = tool.run(work, corpus.paths, cache=True)
    files = pick_files(work, corpus.paths, 6)
    edited, committed = files[:3], files[3:]
    runs["warm"] = repeat(lambda: tool.run(work, corpus.paths, cache=True))
    runs["edit3"] = repeat(lambda: edit_then(edited, lambda: tool.run(work, corpus.paths, cache=True)))
    pre_paths = [f.relative_to(work).as_posix() for f in committed]
    runs["pre3"] = repeat(lambda: edit_then(committed, lambda: tool.run(work, pre_paths, cache=True)))


def repeat(run: Callable[[], Run]) -> Run:
    return median_run([run() for _ in range(FAST_RUN_REPEATS)])


def edit_then(files: List[Path], run: Callable[[], Run]) -> Run:
    """Append a harmless comment line to each file, then run."""
    for path in files:
        data = path.read_bytes()
        path.write_bytes(data + (b"" if data.endswith(b"\n") or not data else b"\n") + EDIT_LINE)
    return run()


def cache_dirs_above(path: Path) -> List[Path]:
    return [p / CACHE_DIR for p in (path, *path.parents) if (p / CACHE_DIR).exists()]


# -- corpora -----------------------------------------------------------------

def python_files(root: Path, paths: List[str]) -> List[Path]:
    found = []
    for top in paths:
        start = root / top
        if start.is_file():
            found.append(start)
            continue
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = sorted(d for d in dirnames if d not in ("__pycache__", CACHE_DIR))
            found.extend(Path(dirpath, f) for f in sorted(filenames) if f.endswith(".py"))
    return found


def count(corpus: Corpus) -> None:
    files = python_files(corpus.root, corpus.paths)
    corpus.files = len(files)
    corpus.lines = sum(f.read_bytes().count(b"\n") for f in files)


def pick_files(root: Path, paths: List[str], n: int) -> List[Path]:
    """n files spread over the tree, preferring ones with DB calls."""
    files = python_files(root, paths)
    with_db = [f for f in files if DB_CALL.search(f.read_bytes())]
    pool = with_db if len(with_db) >= n else files
    return [pool[(i * len(pool)) // n] for i in range(n)]


def replicate(seed: Path, target_lines: int, dest: Path, name: str, role: str) -> Corpus:
    """Copies of the seed's top-level entries, renamed `<name>_copyK` (imports
    rewritten so module names stay distinct), under the seed's pyproject.toml."""
    tops = sorted(p for p in seed.iterdir()
                  if p.name not in ("pyproject.toml", "__pycache__", CACHE_DIR)
                  and not p.name.startswith("."))
    modules = [p.stem.encode() for p in tops if p.is_dir() or p.suffix == ".py"]
    if not modules:
        raise SystemExit(f"{seed}: no top-level package or module to replicate")
    imports = re.compile(rb"^(\s*(?:from|import)\s+)(" + b"|".join(map(re.escape, modules)) + rb")\b",
                         re.MULTILINE)
    seed_corpus = Corpus(name, role, seed, [p.name for p in tops])
    count(seed_corpus)
    dest.mkdir(parents=True)
    if (seed / "pyproject.toml").exists():
        shutil.copy2(seed / "pyproject.toml", dest)
    for k in range(1, max(1, round(target_lines / seed_corpus.lines)) + 1):
        for top in tops:
            copy_renamed(top, dest / f"{top.stem}_copy{k}{top.suffix}", imports, f"_copy{k}".encode())
    corpus = Corpus(name, role, dest, ["."])
    count(corpus)
    return corpus


def copy_renamed(src: Path, dst: Path, imports: re.Pattern, suffix: bytes) -> None:
    def copy(s: str, d: str) -> None:
        if s.endswith(".py"):
            text = Path(s).read_bytes()
            Path(d).write_bytes(imports.sub(lambda m: m[1] + m[2] + suffix, text))
        else:
            shutil.copy2(s, d)

    if src.is_dir():
        shutil.copytree(src, dst, copy_function=copy,
                        ignore=shutil.ignore_patterns("__pycache__", CACHE_DIR))
    else:
        copy(str(src), str(dst))


def stdlib_corpus() -> Corpus:
    """The running interpreter's stdlib, read in place, without site-packages."""
    root = Path(sysconfig.get_paths()["stdlib"])
    paths = sorted(p.name for p in root.iterdir() if p.name not in STDLIB_SKIP
                   and (p.suffix == ".py" or p.is_dir() and any(p.rglob("*.py"))))
    corpus = Corpus("stdlib", "", root, paths, read_only=True)
    count(corpus)
    return corpus


def writable_copy(corpus: Corpus, scratch: Path) -> Path:
    """The corpus's Python files copied to scratch, for cached and edited runs."""
    dest = scratch / f"{corpus.name}-copy"
    for src in python_files(corpus.root, corpus.paths):
        target = dest / src.relative_to(corpus.root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
    return dest


def size_label(lines: int) -> str:
    return f"backend-{lines // 1000}k" if lines >= 1000 else f"backend-{lines}"


def build_corpora(args: argparse.Namespace, scratch: Path) -> List[Corpus]:
    sizes = sorted(args.sizes)
    corpora = []
    for size in sizes:
        role = "a" if size == sizes[0] else "b" if size == sizes[-1] else ""
        name = size_label(size)
        corpora.append(replicate(args.seed, size, scratch / name, name, role))
    if not args.no_stdlib:
        corpora.append(stdlib_corpus())
    return corpora


# -- report ------------------------------------------------------------------

COLUMNS = ["corpus", "files", "lines", "semgrep", "semgrep RSS", "semgrep findings / errors",
           "cold", "cold / semgrep", "lines/s", "first cached", "warm", "warm / semgrep",
           "3 edited", "3-file run", "3-file / semgrep", "peak RSS", "RSS / semgrep",
           "findings", "exit codes"]


def seconds(run: Optional[Run]) -> str:
    if run is None:
        return "–"
    return f"{run.wall:.2f} s" if run.rc in (0, 1) else f"exit {run.rc}"


def ratio(a: Optional[float], b: Optional[float]) -> str:
    return f"{a / b:.3f}×" if a is not None and b else "–"


def wall(run: Optional[Run]) -> Optional[float]:
    return run.wall if run is not None and run.rc in (0, 1) else None


def row(result: Result) -> List[str]:
    c, sg, runs = result.corpus, result.semgrep, result.orgscope
    sg_json = sg.json() if sg else {}
    cold = runs.get("cold")
    summary = cold.json().get("summary", {}) if cold else {}
    rss = max((r.rss_mb for r in runs.values()), default=None)
    return [
        c.name, f"{c.files:,}", f"{c.lines:,}",
        seconds(sg), f"{sg.rss_mb:.0f} MB" if sg else "–",
        f"{len(sg_json['results']):,} / {len(sg_json['errors']):,}" if sg_json else "–",
        seconds(cold), ratio(wall(cold), wall(sg)),
        f"{c.lines / wall(cold):,.0f}" if wall(cold) else "–",
        seconds(runs.get("first")), seconds(runs.get("warm")), ratio(wall(runs.get("warm")), wall(sg)),
        seconds(runs.get("edit3")), seconds(runs.get("pre3")), ratio(wall(runs.get("pre3")), wall(sg)),
        f"{rss:.0f} MB" if rss is not None else "–", ratio(rss, sg.rss_mb if sg else None),
        f"{summary['findings']:,}" if "findings" in summary else "–",
        exit_codes(result),
    ]


def exit_codes(result: Result) -> str:
    return " ".join(sorted({str(r.rc) for r in result.orgscope.values()})) or "–"


def verdict(ok: Optional[bool]) -> str:
    return "–" if ok is None else "met" if ok else "**not met**"


def targets(results: List[Result]) -> List[List[str]]:
    by_role = {r.corpus.role: r for r in results if r.corpus.role}
    out = []
    if "a" in by_role:
        a = by_role["a"]
        cold, sg = wall(a.orgscope.get("cold")), wall(a.semgrep)
        warm, pre = wall(a.orgscope.get("warm")), wall(a.orgscope.get("pre3"))
        out += [
            [a.corpus.name, "cold ≤ 1/10 of semgrep", ratio(cold, sg),
             verdict(None if cold is None or not sg else cold <= sg / 10)],
            [a.corpus.name, "warm ≤ 0.3 s", seconds(a.orgscope.get("warm")),
             verdict(None if warm is None else warm <= 0.3)],
            [a.corpus.name, "3-file run ≤ 0.5 s", seconds(a.orgscope.get("pre3")),
             verdict(None if pre is None else pre <= 0.5)],
        ]
    if "b" in by_role:
        b = by_role["b"]
        cold, sg = wall(b.orgscope.get("cold")), wall(b.semgrep)
        rss = max((r.rss_mb for r in b.orgscope.values()), default=None)
        out += [
            [b.corpus.name, "cold ≤ semgrep", ratio(cold, sg),
             verdict(None if cold is None or not sg else cold <= sg)],
            [b.corpus.name, "peak RSS ≤ 300 MB", f"{rss:.0f} MB" if rss is not None else "–",
             verdict(None if rss is None else rss <= 300)],
        ]
        if "a" in by_role:
            a_cold = wall(by_role["a"].orgscope.get("cold"))
            growth = cold / a_cold if cold and a_cold else None
            lines = b.corpus.lines / by_role["a"].corpus.lines
            out.append([b.corpus.name, "cold time grows no faster than lines (vs a)",
                        f"time ×{growth:.1f}, lines ×{lines:.1f}" if growth else "–",
                        verdict(None if growth is None else growth <= lines)])
    for r in results:
        if r.orgscope:
            internal = any(run.rc == 3 for run in r.orgscope.values())
            out.append([r.corpus.name, "no internal error (exit ≠ 3)",
                        "exit codes " + exit_codes(r), verdict(not internal)])
    return out


def table(header: List[str], rows: List[List[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def render(results: List[Result], args: argparse.Namespace, tool_version: str,
           load: List[float]) -> str:
    seed = args.seed.relative_to(REPO) if args.seed.is_relative_to(REPO) else args.seed
    head = [
        f"# orgscope-lint benchmark — {datetime.date.today().isoformat()}",
        "",
        f"Machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}; --jobs {args.jobs} for both tools. "
        f"orgscope-lint {tool_version}; semgrep {SEMGREP_VERSION}"
        f"{' (skipped)' if args.skip_semgrep else ''}; seed `{seed}`.",
        "Times are wall clock (warm, edited and 3-file runs: median of "
        f"{FAST_RUN_REPEATS}); RSS is the largest single process. Load average (1 min) "
        f"{load[0]:.2f} before, {load[1]:.2f} after: other work on the machine skews times. "
        "Columns: bench/README.md.",
        "",
        table(COLUMNS, [row(r) for r in results]),
        "",
        "## Targets (issue 6)",
        "",
        table(["corpus", "target", "measured", "verdict"], targets(results)),
    ]
    compared = [r for r in results if r.baseline]
    if compared:
        head += ["", f"## Against the baseline checkout (`{args.baseline_root}`)", "",
                 "Ratios are this checkout's time over the baseline's, from this one run "
                 "(< 1: faster).", "",
                 table(["corpus", "run", "baseline", "this checkout", "ratio"],
                       [[r.corpus.name, label, seconds(r.baseline.get(label)),
                         seconds(r.orgscope.get(label)),
                         ratio(wall(r.orgscope.get(label)), wall(r.baseline.get(label)))]
                        for r in compared for label in ("cold", "first", "warm", "edit3", "pre3")
                        if label in r.orgscope]
                       + [[r.corpus.name, "peak RSS",
                           f"{max(x.rss_mb for x in r.baseline.values()):.0f} MB",
                           f"{max(x.rss_mb for x in r.orgscope.values()):.0f} MB",
                           ratio(max(x.rss_mb for x in r.orgscope.values()),
                                 max(x.rss_mb for x in r.baseline.values()))]
                          for r in compared])]
    notes = [n for r in results for n in r.notes]
    if notes:
        head += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(head) + "\n"


# -- main --------------------------------------------------------------------

def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark orgscope-lint against semgrep.")
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                        default=[20_000, 400_000],
                        help="line counts of the replicated seed corpora (default 20000,400000)")
    parser.add_argument("--seed", type=Path, default=FIXTURE,
                        help="backend to replicate (default fixtures/sample_backend, "
                             "else the stand-in bench/corpus/sample_backend)")
    parser.add_argument("--no-stdlib", action="store_true", help="skip the CPython stdlib corpus")
    parser.add_argument("--skip-semgrep", action="store_true")
    parser.add_argument("--skip-orgscope", action="store_true")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="parallel jobs for both tools (default: all cores)")
    parser.add_argument("--orgscope-root", type=Path, default=REPO,
                        help="checkout whose orgscope_lint package is measured (default: this one)")
    parser.add_argument("--baseline-root", type=Path, default=None,
                        help="a second checkout measured on the same corpora in the same run "
                             "(interleaved with this one), for before/after ratios")
    parser.add_argument("--output", type=Path, default=BENCH / "results.md")
    args = parser.parse_args(argv)
    args.seed = args.seed.resolve()
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()[0]
    semgrep = None if args.skip_semgrep else ensure_semgrep()
    tool = None if args.skip_orgscope else Orgscope(args.orgscope_root.resolve(), args.jobs)
    baseline = (Orgscope(args.baseline_root.resolve(), args.jobs)
                if args.baseline_root and not args.skip_orgscope else None)
    results = []
    with tempfile.TemporaryDirectory(prefix="orgscope-bench-") as tmp:
        scratch = Path(tmp)
        for corpus in build_corpora(args, scratch):
            print(f"[{corpus.name}] {corpus.files:,} files, {corpus.lines:,} lines", file=sys.stderr)
            result = Result(corpus)
            if semgrep:
                result.semgrep = run_semgrep(semgrep, corpus, args.jobs)
                print(f"  semgrep {result.semgrep.wall:.2f} s", file=sys.stderr)
                if result.semgrep.rc != 0:
                    report_failure("semgrep", result.semgrep)
                result.notes += semgrep_error_notes(corpus, result.semgrep)
            if tool:
                if baseline:  # the baseline first, then this checkout, on the same corpus
                    shadow = Result(corpus)
                    bench_orgscope(baseline, corpus, scratch, shadow)
                    result.baseline = shadow.orgscope
                    for label, run in result.baseline.items():
                        print(f"  baseline {label} {run.wall:.2f} s", file=sys.stderr)
                bench_orgscope(tool, corpus, scratch, result)
                for label, run in result.orgscope.items():
                    print(f"  orgscope {label} {run.wall:.2f} s", file=sys.stderr)
                    if run.rc not in (0, 1):
                        report_failure(f"orgscope {label}", run)
            results.append(result)
    version = next((r.orgscope["cold"].json().get("tool", {}).get("version")
                    for r in results if "cold" in r.orgscope), None) or "–"
    markdown = render(results, args, version, [load_before, os.getloadavg()[0]])
    args.output.write_text(markdown, encoding="utf-8")
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
