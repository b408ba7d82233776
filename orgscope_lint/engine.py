"""The pipeline: discover → check each file (in parallel) → project rules →
severity, selection, system contexts, suppressions → fingerprints.

The engine returns a `RunResult`; it never prints and knows no output format.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

from .cache import ResultCache
from .config import Config, ConfigError
from .discovery import discover, relative
from .facts import FileFacts, RawFinding
from .index import ProjectIndex
from .catalog import TableCatalog, build_catalog
from .interrupt import ignore_interrupts
from .migrations import ProjectSchema, load_project_schema
from .model import FileError, Finding, Outcome, RunResult
from .routing import route_summaries
from .statement_helpers import revised_calls
from .rules import BY_CODE, RULES, Rule, unknown_codes
from .baseline import Baseline, apply_baseline
from .changes import touches
from .suppress import apply_suppressions, source_reader

# Below this many files a process pool costs more than it saves.
PARALLEL_THRESHOLD = 24

ProgressCallback = Callable[[int, int], None]


@dataclass
class Options:
    jobs: Optional[int] = None
    use_cache: bool = True
    strict: Optional[bool] = None
    select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()
    progress: Optional[ProgressCallback] = None
    baseline: Optional[Baseline] = None
    # explicit file arguments honour `exclude` too (pre-commit, `--force-exclude`)
    force_exclude: bool = False
    # in-memory sources (tests, examples): root-relative path -> text
    sources: Dict[str, str] = field(default_factory=dict)
    # `--since REF`: report only findings on these lines (changes.ChangedLines)
    changed_lines: Optional[Dict[str, Optional[FrozenSet[int]]]] = None


def available_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def active_rules(config: Config) -> List[Rule]:
    return [rule() for rule in RULES
            if config.severity.get(rule.code) != "off"]


def _check_one(args) -> FileFacts:
    path, abs_path, data, config, project = args
    # imported here: a run whose files all come from the cache never loads libcst
    from .checker import analyze_file
    return analyze_file(path, data, config, active_rules(config), abs_path, project)


def check_files(items: Sequence[Tuple[str, Optional[str], Optional[bytes]]], config: Config,
                jobs: int, project=None,
                progress: Optional[ProgressCallback] = None,
                cache_root: Optional[Path] = None) -> List[FileFacts]:
    """Per-file analysis, serially or in a process pool; results in input order.
    With `cache_root`, unchanged files come from the result cache."""
    cache = ResultCache.open(cache_root, config, project) if cache_root is not None else None
    results: List[Optional[FileFacts]] = [None] * len(items)
    keys: List[Optional[bytes]] = [None] * len(items)
    todo: List[Tuple[int, tuple]] = []  # (index, work item) of the files to analyse
    for index, item in enumerate(items):
        if cache is not None:
            item, keys[index], results[index] = cache.lookup(item)
        if results[index] is None:
            todo.append((index, (*item, config, project)))
    done = len(items) - len(todo)
    work = [item for _, item in todo]
    if jobs <= 1 or len(work) < PARALLEL_THRESHOLD:
        analysed = map(_check_one, work)
        pool = None
    else:
        # a work item that does not pickle is lost by the pool, which then
        # waits for it forever: fail here instead, with the real error
        pickle.dumps(work[0][3:])
        chunk = max(1, min(64, len(work) // (jobs * 8)))
        pool = ProcessPoolExecutor(max_workers=jobs, initializer=ignore_interrupts)
        analysed = pool.map(_check_one, work, chunksize=chunk)
    try:
        for (index, _), facts in zip(todo, analysed):
            results[index] = facts
            if cache is not None:
                cache.store(keys[index], facts)
            done += 1
            if progress:
                progress(done, len(items))
    except KeyboardInterrupt:
        if pool is not None:
            _stop_workers(pool)
        raise
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return results  # type: ignore[return-value]


class NothingToCheck(Exception):
    """No path given holds a Python file: most likely a typo'd path."""


def check_rule_codes(config: Config, options: Options) -> None:
    """Every rule code the config or the command line names must exist: an
    unknown one (`ORG1O1`) would silently switch a check off."""
    named = config.codes_in_use()
    named += [(code, "--select", False) for code in options.select]
    named += [(code, "--ignore", False) for code in options.ignore]
    problems = unknown_codes(named)
    if problems:
        raise ConfigError("; ".join(problems))


def effective_config(config: Config, options: Options) -> Config:
    """The caller's config with the command line's overrides, as a copy."""
    if options.strict is not None and options.strict != config.strict:
        return dataclasses.replace(config, strict=options.strict)
    return config


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Ctrl-C: the workers (which ignore SIGINT) need not finish their chunks."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


def run(paths: Sequence[Path], config: Config, options: Optional[Options] = None) -> RunResult:
    options = options or Options()
    check_rule_codes(config, options)
    config = effective_config(config, options)
    root = config.root
    result = RunResult(root=str(root), config_path=str(config.path) if config.path else None,
                       files=0, lines=0, tenant_key=config.tenant_key)
    reported: Optional[Set[str]] = None
    if options.sources:
        items = [(p, None, text.encode("utf-8")) for p, text in sorted(options.sources.items())
                 if not p.endswith(".sql")]  # migrations feed the schema stage
    else:
        files, problems = discover(paths, root, config.exclude, options.force_exclude)
        for path, message in problems:
            result.errors.append(FileError(relative(path.absolute(), root), message))
        empty = [given for given in paths if given.exists()
                 and not any(f == given or given in f.parents for f in files)]
        if empty and options.force_exclude:
            # excluded on purpose (pre-commit naming only excluded files) is not empty
            unforced = discover(empty, root, config.exclude)[0]
            empty = [given for given in empty
                     if not any(f == given or given in f.parents for f in unforced)]
        result.warnings.extend(f"no Python files to check in {given}" for given in empty)
        if len(empty) == len(paths) and not problems:
            raise NothingToCheck(", ".join(str(p) for p in paths))
        if _is_partial(paths, root):
            # e.g. pre-commit passing changed files: report on those, but read
            # the whole project for its facts (wrappers defined elsewhere)
            reported = {relative(p.absolute(), root) for p in files}
            files = files + discover([root], root, config.exclude)[0]
        items = sorted({relative(p.absolute(), root): (relative(p.absolute(), root), str(p), None)
                        for p in files}.values(), key=lambda item: item[0])
    jobs = options.jobs or available_cores()
    schema, problems = load_project_schema(config, options.sources)
    result.errors.extend(problems)
    catalog = build_catalog(config, schema.schema if schema else None, items,
                            cache_root=root if options.use_cache and not options.sources else None)
    facts = check_files(items, config, jobs, project=catalog,
                        progress=options.progress,
                        cache_root=root if options.use_cache and not options.sources else None)
    return assemble(facts, config, options, result, reported, schema, catalog)


def _is_partial(paths: Sequence[Path], root: Path) -> bool:
    """True when the given paths are a part of the project below its root."""
    if not paths:
        return False
    resolved_root = root.resolve()
    for path in paths:
        resolved = path.resolve()
        if resolved == resolved_root or resolved_root not in resolved.parents:
            return False
    return True


def assemble(all_facts: Sequence[FileFacts], config: Config, options: Options,
             result: RunResult, reported: Optional[Set[str]] = None,
             schema: Optional[ProjectSchema] = None,
             catalog: Optional[TableCatalog] = None) -> RunResult:
    """Project rules and post-processing over every file's facts; with
    `reported`, only those files' findings and facts are in the result."""
    catalog = catalog if catalog is not None else TableCatalog.from_schema(
        config, schema.schema if schema else None)
    project = ProjectIndex(all_facts, config, schema, catalog)
    raw: List[Tuple[str, RawFinding]] = []
    for facts in all_facts:
        if reported is not None and facts.path not in reported:
            continue
        result.files += 1
        result.checked.append(facts.path)
        result.lines += facts.lines
        if facts.error:
            result.errors.append(FileError(facts.path, facts.error))
        if facts.skipped:
            result.skipped.append(facts.path)
        if facts.internal_error:
            result.internal_errors.append(FileError(facts.path, facts.internal_error))
        raw.extend((facts.path, finding) for finding in facts.findings)
        result.db_calls.extend(revised_calls(project, facts))
    if schema is not None:
        schema.describe(result, catalog)
    rules = active_rules(config)
    raw = _revised(raw, rules, project)
    for rule in rules:
        try:
            rule.check_project(project, lambda path, finding: raw.append((path, finding)))
        except Exception:  # a bug in one project rule must not hide every other finding
            result.internal_errors.append(FileError(
                "<project>", f"{rule.code} {rule.name}:\n{traceback.format_exc(limit=6)}"))
    if project.proven:  # the calls the project stage proved scoped (findings dropped,
        # or judged from what their callers and helpers build)
        result.db_calls = [_proven(call, project.proven) for call in result.db_calls]
    if project.refuted:  # the calls the project stage found unscoped after all
        result.db_calls = [_refuted(call, project.refuted) for call in result.db_calls]
    result.routes = [r for r in route_summaries(project)
                     if reported is None or r["file"] in reported]
    if reported is not None:
        raw = [(path, finding) for path, finding in raw if path in reported]
    by_path = {f.path: f for f in all_facts if reported is None or f.path in reported}
    read_lines = source_reader(result.root, options.sources)
    findings = apply_suppressions(
        raw, lambda path, finding: _finalize(path, finding, config, options),
        by_path, config, {rule.code for rule in rules}, read_lines)
    for finding in findings:  # the flagged line, for terminal output
        lines = read_lines(finding.path)
        if 0 < finding.line <= len(lines):
            finding.source_line = lines[finding.line - 1]
    _fingerprint(findings)  # before `--since` narrows them: fingerprints stay the same
    if options.changed_lines is not None:
        findings = [f for f in findings
                    if touches(options.changed_lines, f.path, f.line, f.end_line)]
    result.findings = sorted(findings, key=Finding.sort_key)
    if options.baseline is not None:
        apply_baseline(result, options.baseline, reported)
    return result


def _revised(raw: List[Tuple[str, RawFinding]], rules: Sequence[Rule],
             project: ProjectIndex) -> List[Tuple[str, RawFinding]]:
    """Let each rule rewrite or drop its own per-file findings now that every
    file's facts are known (ORG301: star imports, import suggestions)."""
    by_code = {rule.code: rule for rule in rules}
    kept = []
    for path, finding in raw:
        rule = by_code.get(finding.rule)
        revised = rule.revise(project, path, finding) if rule else finding
        if revised is not None:
            kept.append((path, revised))
    return kept


def _proven(call, proven: Dict[Tuple[str, int], str]):
    proof = proven.get((call.path, call.line))
    if proof is None or call.outcome not in (Outcome.UNSCOPED, Outcome.UNKNOWN):
        return call
    return dataclasses.replace(call, outcome=Outcome.SCOPED, detail=proof, fix=None,
                               no_fix=None, fix_choices=None)


def _refuted(call, refuted: Dict[Tuple[str, int], str]):
    why = refuted.get((call.path, call.line))
    if why is None or call.outcome != Outcome.UNKNOWN:
        return call
    return dataclasses.replace(call, outcome=Outcome.UNSCOPED, detail=why)


def _finalize(path: str, raw: RawFinding, config: Config,
              options: Options) -> Optional[Finding]:
    rule = BY_CODE.get(raw.rule)
    if options.select and not any(raw.rule.startswith(c) for c in options.select):
        return None
    if options.ignore and any(raw.rule.startswith(c) for c in options.ignore):
        return None
    if not config.rule_enabled(raw.rule, path):
        return None
    severity = config.severity.get(raw.rule, rule.severity if rule else "error")
    if severity == "off":
        return None
    span = raw.span
    finding = Finding(
        rule=raw.rule, name=rule.name if rule else raw.rule, severity=severity, path=path,
        line=span.line, column=span.column, end_line=span.end_line, end_column=span.end_column,
        message=raw.message, symbol=raw.symbol, table=raw.table, operation=raw.operation,
        snippet=raw.snippet, fix=raw.fix, no_fix=raw.no_fix)
    context = config.system_context_for(path, raw.symbol)
    if context is not None and (rule is None or rule.accepted_in_system_context):
        finding.suppressed = True
        finding.suppression = {"kind": "system-context", "reason": context.reason}
    return finding


def _fingerprint(findings: Iterable[Finding]) -> None:
    """Line-independent identity: rule, path, symbol, normalised source; the
    n-th identical finding gets a distinct fingerprint (duplicates count)."""
    seen: Dict[str, int] = {}
    for finding in sorted(findings, key=Finding.sort_key):
        base = "\x1f".join((finding.rule, finding.path, finding.symbol or "",
                            finding.snippet or finding.message))
        count = seen.get(base, 0)
        seen[base] = count + 1
        finding.fingerprint = hashlib.sha256(f"{base}\x1f{count}".encode()).hexdigest()[:32]
