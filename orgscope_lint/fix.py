"""Safe autofixes (`check --fix`, `check --diff`).

A finding's `fix` is a `model.Fix`: a description and text edits, built per
file where the syntax tree was at hand (or, for ORG301, chosen at project
level from per-file options). Here nothing knows what a fix means: each file
with fixes is read again, and the fixes are applied one at a time from the
bottom of the file up; after each one the file is checked again, and the fix
is kept only when the new text parses, the findings it fixes are gone and no
new finding appears. Nothing is written until every file is planned; each
file is then replaced atomically.
"""
from __future__ import annotations

import ast
import os
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .atomic import write_atomic
from .cache import ResultCache
from .checker import analyze_file
from .config import Config
from .catalog import build_catalog
from .facts import FileFacts, RawFinding
from .migrations import load_project_schema
from .model import Finding, Fix, RunResult, Span
from .rules import BY_CODE
from .source import Source, SourceError, decode
from .suppress import unused_in_file


@dataclass
class FileFix:
    path: str  # root-relative, as in findings
    abs_path: str
    old: bytes
    new: bytes
    applied: List[Tuple[Finding, str]] = field(default_factory=list)  # finding, what was done
    # the check of `new`: the result cache gets it once the file is written,
    # so the check after `--fix` re-analyses nothing
    facts: Optional[FileFacts] = None


@dataclass
class FixPlan:
    files: List[FileFix] = field(default_factory=list)
    # fixable findings left as they are, with the reason ("no safe fix: ...")
    unfixed: List[Tuple[Finding, str]] = field(default_factory=list)
    cache: Optional[ResultCache] = None

    @property
    def fixed(self) -> int:
        return sum(len(f.applied) for f in self.files)

    def diff(self) -> str:
        import difflib
        chunks = []
        for file in self.files:
            old, new = _text(file.old), _text(file.new)
            for line in difflib.unified_diff(
                    old.splitlines(keepends=True), new.splitlines(keepends=True),
                    fromfile=f"a/{file.path}", tofile=f"b/{file.path}"):
                chunks.append(line)
                if not line.endswith(("\n", "\r")):  # the file's last line
                    chunks.append("\n\\ No newline at end of file\n")
        return "".join(chunks)


def plan_fixes(result: RunResult, config: Config, rules: Sequence,
               sources: Optional[Mapping[str, str]] = None,
               use_cache: bool = False) -> FixPlan:
    """Work out every safe fix for the active findings of `result`, without
    writing anything. `sources`: the in-memory sources the run checked. With
    `use_cache`, a file's check before the first fix comes from the run's
    result cache, and `write_fixes` stores the check of each written file there."""
    sources = sources or {}
    plan = FixPlan()
    # re-checks must see the tables as the check did (migrations refine config)
    schema, _ = load_project_schema(config, dict(sources))
    items = [(f, os.path.join(result.root, f),
              sources[f].encode("utf-8") if f in sources else None) for f in result.checked]
    project = build_catalog(config, schema.schema if schema is not None else None, items)
    if use_cache and not sources:
        plan.cache = ResultCache.open(Path(result.root), config, project)
    broken = {f.path for f in result.findings if _file_not_checked(f.rule)}
    broken |= {e.path for e in result.errors + result.internal_errors}
    by_path: Dict[str, List[Finding]] = {}
    for finding in result.findings:
        if finding.suppressed:
            continue
        if finding.fix is None:
            if finding.no_fix:
                plan.unfixed.append((finding, f"no safe fix: {finding.no_fix}"))
        elif finding.path in broken:
            plan.unfixed.append((finding, "no safe fix: the file does not parse"))
        else:
            by_path.setdefault(finding.path, []).append(finding)
    for path, findings in sorted(by_path.items()):
        abs_path = os.path.join(result.root, path)
        fixer = _FileFixer(path, abs_path, config, rules, project, plan.cache)
        try:
            if path in sources:
                original = sources[path].encode("utf-8")
            else:
                with open(abs_path, "rb") as handle:
                    original = handle.read()
        except OSError as exc:
            fixer.give_up(plan, findings, f"cannot read the file: {exc.strerror or exc}")
            continue
        file_fix = fixer.run(original, findings, plan)
        if file_fix is not None:
            plan.files.append(file_fix)
    return plan


def write_fixes(plan: FixPlan, stop: Callable[[], bool] = lambda: False
                ) -> List[Tuple[FileFix, str]]:
    """Replace each fixed file atomically, never starting a write once
    `stop()` says so; returns (file, why) for the files left untouched (the
    reason short enough to group: "permission denied", "changed on disk")."""
    problems: List[Tuple[FileFix, str]] = []
    for file in plan.files:
        if stop():
            problems.append((file, "interrupted"))
            continue
        try:
            with open(file.abs_path, "rb") as handle:
                current = handle.read()
        except OSError as exc:
            problems.append((file, f"cannot read again: {_reason(exc)}"))
            continue
        if current != file.old:
            problems.append((file, "changed on disk"))
            continue
        try:
            write_atomic(file.abs_path, file.new)
        except OSError as exc:
            problems.append((file, _reason(exc)))
            continue
        if plan.cache is not None and file.facts is not None:
            plan.cache.store(plan.cache.key_for(file.path, file.new), file.facts)
    return problems


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def _file_not_checked(code: str) -> bool:
    """The finding says the file could not be checked (a parse error)."""
    rule = BY_CODE.get(code)
    return bool(rule and rule.file_not_checked)


# --- one file ---------------------------------------------------------------------

class EditConflict(Exception):
    """A fix cannot be applied to the text as it is; the message says why."""


@dataclass
class _Check:
    """One file's findings as the re-check sees them (ORG901 included)."""

    facts: FileFacts
    findings: List[RawFinding]

    @property
    def parse_error(self) -> bool:
        return any(_file_not_checked(f.rule) for f in self.facts.findings)

    def counts(self) -> Counter:
        return Counter((f.rule, f.symbol) for f in self.findings)


class _FileFixer:
    def __init__(self, path: str, abs_path: str, config: Config, rules: Sequence,
                 project, cache: Optional[ResultCache] = None) -> None:
        self.cache = cache
        self.path = path
        self.abs_path = abs_path
        self.config = config
        self.rules = rules
        self.active_codes = {rule.code for rule in rules}
        self.project = project

    @staticmethod
    def give_up(plan: FixPlan, findings: Sequence[Finding], reason: str) -> None:
        plan.unfixed.extend((f, f"no safe fix: {reason}") for f in findings)

    def run(self, original: bytes, findings: List[Finding], plan: FixPlan) -> Optional[FileFix]:
        try:
            source = decode(original)  # the same encoding checks as the checker
        except SourceError as exc:
            self.give_up(plan, findings, f"cannot read the file: {exc}")
            return None
        before = self.recheck(original, self.cached(original))
        if before.parse_error:
            self.give_up(plan, findings, "the file does not parse")
            return None
        if before.facts.error or before.facts.internal_error:
            self.give_up(plan, findings, "the file cannot be checked again")
            return None
        lines = source.text.splitlines()
        compiles = _compiles(original)
        text = _Text(source)
        file_fix = FileFix(self.path, self.abs_path, original, original)
        for fix, group in _bottom_up(findings):
            if any(not _same_line(f, lines) for f in group):
                self.give_up(plan, group, "the file changed since it was checked")
                continue
            try:
                candidate = text.with_fix(fix)
            except EditConflict as exc:
                self.give_up(plan, group, str(exc))
                continue
            try:
                data = candidate.encoded()
            except UnicodeEncodeError:
                self.give_up(plan, group, f"the fix cannot be written as {source.encoding}")
                continue
            after = self.recheck(data)
            problem = _verify(group, before, after, data, compiles)
            if problem:
                self.give_up(plan, group, f"fix dropped: {problem}")
                continue
            text, before = candidate, after
            file_fix.new = data
            file_fix.facts = after.facts
            file_fix.applied.extend((f, fix.description) for f in group)
        return file_fix if file_fix.new != original else None

    def cached(self, data: bytes) -> Optional[FileFacts]:
        """The run's check of exactly these bytes, when the cache has it."""
        if self.cache is None:
            return None
        return self.cache.lookup((self.path, self.abs_path, data))[2]

    def recheck(self, data: bytes, facts: Optional[FileFacts] = None) -> _Check:
        if facts is None:
            facts = analyze_file(self.path, data, self.config, self.rules, self.abs_path,
                                 self.project)
        findings = list(facts.findings)
        if facts.error is None and facts.internal_error is None:
            findings += unused_in_file(facts, self.config, self.active_codes,
                                       _text(data).splitlines())
        return _Check(facts, findings)


def _bottom_up(findings: List[Finding]) -> List[Tuple[Fix, List[Finding]]]:
    """One group per distinct fix (several uses of one missing name share an
    import), the fixes lower in the file first."""
    groups: Dict[Fix, List[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.fix, []).append(finding)

    def start(item: Tuple[Fix, List[Finding]]) -> Tuple[int, int]:
        edits = item[0].edits
        return min((e.span.line, e.span.column) for e in edits) if edits else (0, 0)

    return sorted(groups.items(), key=start, reverse=True)


def _same_line(finding: Finding, lines: List[str]) -> bool:
    """The flagged line reads as the check saw it."""
    if not finding.source_line:
        return True
    return 0 < finding.line <= len(lines) and lines[finding.line - 1] == finding.source_line


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class _Text:
    """The text of one file with the fixes applied so far. Edits are stated
    against the text the check read; applied ones are kept as (start, end,
    length change) in those offsets, so later edits are placed through them."""

    def __init__(self, source: Source, applied: Tuple[Tuple[int, int, int], ...] = (),
                 current: Optional[str] = None, done: frozenset = frozenset()) -> None:
        self.source = source
        self.applied = applied
        self.current = source.text if current is None else current
        self.done = done  # edits already applied (two fixes may share one, e.g. an import)
        starts = [0] + [m.end() for m in _LINE_BREAK.finditer(source.text)]
        self.line_starts = starts

    def offset(self, line: int, column: int) -> int:
        """Offset in the original text of a 1-based (line, column)."""
        if not 0 < line <= len(self.line_starts):
            raise EditConflict("the fix points outside the file")
        start = self.line_starts[line - 1]
        end = self.line_starts[line] if line < len(self.line_starts) else len(self.source.text)
        offset = start + column - 1
        if not start <= offset <= end:
            raise EditConflict("the fix points outside the file")
        return offset

    def with_fix(self, fix: Fix) -> "_Text":
        edits = []
        for edit in fix.edits:
            if edit in self.done:
                continue
            start, end = self.offset(*_start(edit.span)), self.offset(*_end(edit.span))
            if end < start:
                raise EditConflict("the fix's range ends before it starts")
            if any(start < a_end and a_start < end for a_start, a_end, _ in self.applied):
                raise EditConflict("it overlaps another fix; run --fix again")
            edits.append((start, end, edit))
        ordered = sorted(edits, key=lambda e: (e[0], e[1]))
        for (_, end, _), (start, _, _) in zip(ordered, ordered[1:]):
            if start < end:
                raise EditConflict("the fix's edits overlap")
        current = self.current
        applied = list(self.applied)
        for start, end, edit in reversed(ordered):
            # no applied edit lies inside [start, end): the ones before it shift both ends
            shift = sum(delta for _, a_end, delta in applied if a_end <= start)
            current = current[:start + shift] + edit.replacement + current[end + shift:]
            applied.append((start, end, len(edit.replacement) - (end - start)))
        return _Text(self.source, tuple(applied), current,
                     self.done | {e for _, _, e in ordered})

    def encoded(self) -> bytes:
        # `utf-8-sig` writes the BOM back; newlines were never translated
        return self.current.encode(self.source.encoding)


def _start(span: Span) -> Tuple[int, int]:
    return span.line, span.column


def _end(span: Span) -> Tuple[int, int]:
    return span.end_line, span.end_column


def _verify(group: List[Finding], before: _Check, after: _Check, data: bytes,
            compiles: bool) -> Optional[str]:
    """Why the fixed text is not acceptable, or None."""
    if after.parse_error or (compiles and not _compiles(data)):
        return "the fixed file does not parse"
    if after.facts.error or after.facts.internal_error:
        return "the fixed file cannot be checked again"
    old, new = before.counts(), after.counts()
    grown = sorted({rule for (rule, symbol), count in new.items() if count > old[(rule, symbol)]})
    if grown:
        return f"it would add {', '.join(grown)}"
    for (rule, symbol), fixed in Counter((f.rule, f.symbol) for f in group).items():
        if new[(rule, symbol)] > old[(rule, symbol)] - fixed:
            return f"{rule} is still reported"
    return None


def _compiles(data: bytes) -> bool:
    """CPython accepts it (libcst parses a few things the running
    interpreter rejects, and the other way round)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _text(data: bytes) -> str:
    try:
        return decode(data).text
    except SourceError:
        return data.decode("utf-8", "replace")
