"""Inline suppressions, in one place: parsing `# orgscope: ignore[ORG102] reason`
comments, applying them to a run's findings, and ORG901 for the ones that
suppressed nothing.

A cheap substring test skips files without comments; the tokenizer then
confirms candidates are real comments (not text inside a string). A comment
covers a finding reported on its line or whose enclosing statement starts on
that line (a multi-line call). Suppressed findings are kept, marked
`suppressed` with the comment's reason, so every output can still show them.
Usage is decided before `--select`/`--ignore` filtering, so narrowing a run
never makes a suppression look unused. Which rules a comment may silence is
the rules' own policy (`Rule.suppressible`, `Rule.file_not_checked`).
"""
from __future__ import annotations

import io
import os
import re
import tokenize
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from .config import Config
from .facts import FileFacts, RawFinding
from .model import Finding, Fix, Span, TextEdit
from .rules import BY_CODE
from .rules.suppression import UnusedSuppression

UNUSED_SUPPRESSION = UnusedSuppression.code

Finalize = Callable[[str, RawFinding], Optional[Finding]]
# group 1: the listed codes (None for a bare `# orgscope: ignore`), group 2: the reason
SUPPRESSION = re.compile(r"#\s*orgscope:\s*ignore(?:\[([^\]]*)\])?(?![\w\[-])\s*(.*)$")
# A bare `# orgscope: ignore` names no code: it is recorded as this one
# pseudo-code, which covers no finding and is reported as ORG901.
BARE = ""
# another pragma after the reason (`# noqa: E501`, `# type: ignore`) is not part of it
_NEXT_PRAGMA = re.compile(r"(?:^|\s)#\s*[\w-]+:")

Suppressions = Dict[int, Tuple[Tuple[str, ...], str]]


def parse_suppressions(text: str) -> Suppressions:
    """line -> (listed codes, reason) of every suppression comment."""
    if "orgscope:" not in text:
        return {}
    found: Suppressions = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return found
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        match = SUPPRESSION.search(token.string)
        if match:
            listed = match.group(1)
            codes = (BARE,) if listed is None else tuple(
                c.strip().upper() for c in listed.split(",") if c.strip())
            found[token.start[0]] = (codes, match.group(2).strip())
    return found


def _policy(code: str, name: str, default: bool) -> bool:
    rule = BY_CODE.get(code)
    return getattr(rule, name) if rule is not None else default


def _not_checked(findings) -> bool:
    """A finding says the file could not be checked (a parse error)."""
    return any(_policy(f.rule, "file_not_checked", False) for f in findings)


def _covers(listed: str, code: str) -> bool:
    """`ORG102` covers itself; a prefix such as `ORG1` covers a family."""
    return bool(listed) and code.startswith(listed)


class _FileSuppressions:
    def __init__(self, comments: Dict[int, Tuple[Tuple[str, ...], str]]) -> None:
        self.comments = {line: (codes, _NEXT_PRAGMA.split(reason)[0].strip())
                         for line, (codes, reason) in comments.items()}
        # (line, listed code) pairs that matched at least one finding
        self.used: Set[Tuple[int, str]] = set()
        # (line, listed code) pairs that matched but lack a required reason
        self.missing_reason: Set[Tuple[int, str]] = set()

    def claim(self, finding: RawFinding, require_reason: bool) -> Optional[str]:
        """The reason of the comment that suppresses `finding`, or None."""
        lines = [finding.span.line]
        if finding.statement_line and finding.statement_line != finding.span.line:
            lines.append(finding.statement_line)
        for line in lines:
            codes, reason = self.comments.get(line, ((), ""))
            for listed in codes:
                if not _covers(listed, finding.rule):
                    continue
                if require_reason and not reason:
                    self.missing_reason.add((line, listed))
                    continue
                self.used.add((line, listed))
                return reason
        return None


def apply_suppressions(raw: Sequence[Tuple[str, RawFinding]], finalize: Finalize,
                       facts_by_path: Dict[str, FileFacts], config: Config,
                       active_codes: Set[str], read_lines: Callable[[str], List[str]]
                       ) -> List[Finding]:
    """Finalize every raw finding, mark the comment-suppressed ones, and add
    ORG901 findings for suppressions that matched nothing."""
    files = {path: _FileSuppressions(facts.suppressions)
             for path, facts in facts_by_path.items() if facts.suppressions}
    findings: List[Finding] = []
    unparsed = {path for path, raw_finding in raw if _not_checked([raw_finding])}
    for path, raw_finding in raw:
        reason = None
        if path in files and _policy(raw_finding.rule, "suppressible", True):
            reason = files[path].claim(raw_finding, config.require_suppression_reason)
        finding = finalize(path, raw_finding)
        if finding is None:
            continue
        if reason is not None:
            finding.suppressed = True
            finding.suppression = {"kind": "comment", "reason": reason}
        findings.append(finding)
    if UNUSED_SUPPRESSION in active_codes:
        for path in sorted(set(files) - unparsed):
            for raw_finding in _unused(files[path], active_codes, read_lines(path)):
                finding = finalize(path, raw_finding)
                if finding is not None:
                    findings.append(finding)
    return findings


def _unused(state: _FileSuppressions, active_codes: Set[str],
            lines: List[str]) -> List[RawFinding]:
    found = []
    for line, (codes, reason) in sorted(state.comments.items()):
        unused = []
        notes = []
        for listed in codes:
            if listed == BARE:
                notes.append("a bare `# orgscope: ignore` suppresses nothing: name the codes, "
                             "e.g. `# orgscope: ignore[ORG102] reason`")
                continue
            if (line, listed) in state.used:
                continue
            if (line, listed) in state.missing_reason:
                notes.append(f"{listed} needs a reason (`require-suppression-reason`): "
                             "write why after the `]`")
                continue
            known = [c for c in active_codes if _covers(listed, c)]
            if listed.startswith("ORG") and not known and _is_known_code(listed):
                continue  # the rule is switched off: we cannot tell whether it is used
            unused.append(listed)
        if not codes:
            unused_text = "empty suppression `ignore[]`: remove it"
        elif unused:
            unused_text = (f"unused suppression of {', '.join(unused)}: nothing is reported "
                           "here any more; remove it")
        else:
            unused_text = ""
        messages = [m for m in [unused_text] + notes if m]
        if not messages:
            continue
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        span, fix = _span_and_fix(line, lines, codes, unused if codes else [], reason)
        found.append(RawFinding(UNUSED_SUPPRESSION, span, "; ".join(messages),
                                snippet=text.strip()[:200], fix=fix if unused or not codes
                                else None, statement_line=line))
    return found


def _is_known_code(code: str) -> bool:
    return any(c.startswith(code) for c in BY_CODE)


def _span_and_fix(line: int, lines: List[str], codes: Tuple[str, ...], unused: List[str],
                  reason: str) -> Tuple[Span, Optional[Fix]]:
    """Span of the comment and the fix that removes the unused codes, or the
    whole suppression when nothing in it is used (with the blanks before it,
    or its whole line when it stands alone there). A pragma after it stays
    when codes are kept, and goes with the comment otherwise (one comment token)."""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    match = SUPPRESSION.search(text)
    if match is None:  # the file changed under us; point at the line
        return Span(line, 1, line, max(len(text), 1) + 1), None
    if match.group(1) is None:  # bare: only the author knows which codes were meant
        return Span(line, match.start() + 1, line, len(text.rstrip()) + 1), None
    start = match.start()
    following = _NEXT_PRAGMA.search(text, match.end(1) + 1)
    span = Span(line, start + 1, line, len(text.rstrip()) + 1)
    end = len(text[:following.start()].rstrip()) if following else len(text.rstrip())
    kept = [c for c in codes if c not in unused]
    if kept:
        replacement = f"# orgscope: ignore[{', '.join(kept)}]" + (f" {reason}" if reason else "")
        edit = TextEdit(Span(line, start + 1, line, end + 1), replacement)
        description = f"remove {', '.join(unused)} from the suppression"
    else:
        description = "remove the suppression comment"
        end = len(text.rstrip())  # a comment ends the line: a pragma after it goes too
        if text[:start].strip():
            edit = TextEdit(Span(line, len(text[:start].rstrip()) + 1, line, end + 1), "")
        elif line < len(lines):
            edit = TextEdit(Span(line, 1, line + 1, 1), "")
        elif line > 1:  # the last line: its line break goes with the one before
            edit = TextEdit(Span(line - 1, len(lines[line - 2]) + 1, line, end + 1), "")
        else:
            edit = TextEdit(Span(line, 1, line, end + 1), "")
    return span, Fix(description, (edit,))


def unused_in_file(facts: FileFacts, config: Config, active_codes: Set[str],
                   lines: List[str]) -> List[RawFinding]:
    """ORG901 for one file judged on its own per-file findings: what the
    fixer's re-check compares before and after a fix (project-level findings
    are the same on both sides)."""
    state = _FileSuppressions(facts.suppressions)
    if not facts.suppressions or UNUSED_SUPPRESSION not in active_codes or _not_checked(
            facts.findings):
        return []
    for finding in facts.findings:
        if _policy(finding.rule, "suppressible", True):
            state.claim(finding, config.require_suppression_reason)
    return _unused(state, active_codes, lines)


def source_reader(root: str, sources: Dict[str, str]) -> Callable[[str], List[str]]:
    """Lines of a root-relative path, from in-memory sources or the disk; each
    file is read once however many findings or suppressions it has."""
    from .source import SourceError, read_source
    cache: Dict[str, List[str]] = {}

    def read(path: str) -> List[str]:
        if path not in cache:
            try:
                text = sources[path] if path in sources else read_source(
                    os.path.join(root, path)).text
                cache[path] = text.splitlines()
            except (SourceError, OSError):
                cache[path] = []
        return cache[path]
    return read
