"""Safe autofixes (`check --fix`, `check --diff`).

Rules describe fixes as data in a finding's `fix` field (see
`rules/fixdata.py`). Here each file with fixes is re-read and re-parsed, the
fixes are applied one at a time from the bottom of the file up (so the
positions of the fixes still to come stay valid), and after each one the file
is checked again: the fix is kept only when the new text parses and the fixed
finding is gone without any new finding appearing. Nothing is written until
every file is planned; each file is then replaced atomically.
"""
from __future__ import annotations

import ast
import dataclasses
import difflib
import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import libcst as cst

from .analysis.module import module_name_for
from .atomic import write_atomic
from .checker import analyze_file
from .config import Config
from .edits import EditError, add_dict_entry, add_import, find_node, rewrite_suppression
from .facts import FileFacts
from .catalog import build_catalog
from .migrations import load_project_schema
from .model import Finding, RunResult
from .rules.fixdata import follow_path
from .rules.names import undefined_name
from .source import SourceError, decode
from .suppressions import _PATTERN as SUPPRESSION, parse_suppressions


@dataclass
class FileFix:
    path: str  # root-relative, as in findings
    abs_path: str
    old: bytes
    new: bytes
    applied: List[Tuple[Finding, str]] = field(default_factory=list)  # finding, what was done


@dataclass
class FixPlan:
    files: List[FileFix] = field(default_factory=list)
    # fixable findings left as they are, with the reason ("no safe fix: ...")
    unfixed: List[Tuple[Finding, str]] = field(default_factory=list)

    @property
    def fixed(self) -> int:
        return sum(len(f.applied) for f in self.files)

    def diff(self) -> str:
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


def plan_fixes(result: RunResult, config: Config, rules: Sequence) -> FixPlan:
    """Work out every safe fix for the active findings of `result`, without
    writing anything."""
    plan = FixPlan()
    # re-checks must see the tables as the check did (migrations refine config)
    schema, _ = load_project_schema(config)
    project = build_catalog(config, schema.schema if schema is not None else None,
                            [(f, os.path.join(result.root, f), None) for f in result.checked])
    broken = {f.path for f in result.findings if f.rule == "ORG001"}
    broken |= {e.path for e in result.errors + result.internal_errors}
    by_path: Dict[str, List[Finding]] = {}
    for finding in result.findings:
        if finding.suppressed or not finding.fix:
            continue
        finding = dataclasses.replace(finding, fix=_normalized(finding.fix))
        if finding.fix.get("kind") == "none":
            plan.unfixed.append((finding, f"no safe fix: {finding.fix.get('reason', '')}"))
        elif finding.path in broken:
            plan.unfixed.append((finding, "no safe fix: the file does not parse"))
        else:
            by_path.setdefault(finding.path, []).append(finding)
    for path, findings in sorted(by_path.items()):
        abs_path = os.path.join(result.root, path)
        file_fix = _FileFixer(path, abs_path, config, rules, project).run(findings, plan)
        if file_fix is not None:
            plan.files.append(file_fix)
    return plan


def write_fixes(plan: FixPlan) -> List[Tuple[str, str]]:
    """Replace each fixed file atomically; returns (path, problem) for the
    files left untouched."""
    problems: List[Tuple[str, str]] = []
    for file in plan.files:
        try:
            with open(file.abs_path, "rb") as handle:
                current = handle.read()
        except OSError as exc:
            problems.append((file.path, f"cannot read it again: {exc.strerror or exc}"))
            continue
        if current != file.old:
            problems.append((file.path, "changed on disk while it was being fixed; not written"))
            continue
        try:
            write_atomic(file.abs_path, file.new)
        except OSError as exc:
            problems.append((file.path, f"cannot write: {exc.strerror or exc}"))
    return problems


# --- one file ---------------------------------------------------------------------

_Group = Tuple[dict, List[Finding]]


class _FileFixer:
    def __init__(self, path: str, abs_path: str, config: Config, rules: Sequence,
                 project) -> None:
        self.path = path
        self.abs_path = abs_path
        self.config = config
        self.rules = rules
        self.project = project
        self.module_name, self.is_package = module_name_for(path)

    def run(self, findings: List[Finding], plan: FixPlan) -> Optional[FileFix]:
        def give_up(reason: str, pending=findings) -> None:
            plan.unfixed.extend((f, f"no safe fix: {reason}") for f in pending)

        try:
            with open(self.abs_path, "rb") as handle:
                original = handle.read()
            decode(original)  # the same encoding checks as the checker
            module = cst.parse_module(original)
        except (OSError, SourceError) as exc:
            give_up(f"cannot read the file: {getattr(exc, 'strerror', None) or exc}")
            return None
        except (cst.ParserSyntaxError, RecursionError, ValueError, SyntaxError):
            give_up("the file does not parse")
            return None
        before = self.recheck(original)
        if before.error or before.internal_error or _has_parse_error(before):
            give_up("the file cannot be checked again")
            return None
        compiles = _compiles(original)
        file_fix = FileFix(self.path, self.abs_path, original, original)
        for fix, group in self.groups(findings):
            try:
                candidate = self.apply(module, fix, group[0])
            except EditError as exc:
                give_up(str(exc), group)
                continue
            data = candidate.bytes
            after = self.recheck(data)
            problem = _verify(fix, group, before, after, data, compiles)
            if problem:
                give_up(f"fix dropped: {problem}", group)
                continue
            module, before = candidate, after
            file_fix.new = data
            file_fix.applied.extend((f, fix.get("description", fix["kind"])) for f in group)
        return file_fix if file_fix.new != original else None

    def groups(self, findings: List[Finding]) -> List[_Group]:
        """One fix per distinct edit (several uses of one missing name share an
        import), bottom-up: fixes lower in the file first, imports last."""
        groups: Dict[tuple, _Group] = {}
        for finding in findings:
            fix = finding.fix
            if fix["kind"] == "add-import":
                key: tuple = (fix["kind"], fix["module"], fix["name"])
            elif fix["kind"] == "rewrite-suppression":
                key = (fix["kind"], fix["line"], tuple(fix["keep"]))
            else:
                key = (fix["kind"], finding.line, finding.column, finding.rule)
            groups.setdefault(key, (fix, []))[1].append(finding)

        def position(group: _Group) -> Tuple[int, int]:
            fix, members = group
            if fix["kind"] == "add-import":
                return (-1, -1)
            if fix["kind"] == "rewrite-suppression":
                return (fix["line"], 1 << 30)
            return (members[0].line, members[0].column)

        return sorted(groups.values(), key=position, reverse=True)

    def apply(self, module: cst.Module, fix: dict, finding: Finding) -> cst.Module:
        kind = fix.get("kind")
        if kind == "add-dict-entry":
            call = find_node(module, cst.Call, finding.line, finding.column,
                             finding.end_line, finding.end_column)
            literal = follow_path(call, fix["path"])
            if not isinstance(literal, cst.Dict):
                raise EditError("the filter or row is no longer a dict literal")
            return add_dict_entry(module, literal, fix["key"], fix["value"])
        if kind == "add-import":
            return add_import(module, self.module_name, self.is_package, fix["module"],
                              fix["name"])
        if kind == "rewrite-suppression":
            return rewrite_suppression(module, fix["line"], fix["keep"])
        raise EditError(f"unknown fix kind {kind!r}")

    def recheck(self, data: bytes) -> FileFacts:
        return analyze_file(self.path, data, self.config, self.rules, self.abs_path,
                            self.project)


def _verify(fix: dict, group: List[Finding], before: FileFacts, after: FileFacts,
            data: bytes, compiles: bool) -> Optional[str]:
    """Why the fixed text is not acceptable, or None."""
    if _has_parse_error(after) or (compiles and not _compiles(data)):
        return "the fixed file does not parse"
    if after.internal_error:
        return "the fixed file cannot be checked again"
    old = Counter((f.rule, f.symbol) for f in before.findings)
    new = Counter((f.rule, f.symbol) for f in after.findings)
    grown = sorted(rule for (rule, symbol), count in new.items() if count > old[(rule, symbol)])
    if grown:
        return f"it would add {', '.join(grown)}"
    kind = fix["kind"]
    if kind == "add-dict-entry":
        key = (group[0].rule, group[0].symbol)
        if new[key] >= old[key]:
            return f"{group[0].rule} is still reported"
    elif kind == "add-import":
        if any(f.rule == group[0].rule and undefined_name(f) == fix["name"]
               for f in after.findings):
            return f"`{fix['name']}` is still undefined"
    elif kind == "rewrite-suppression":
        codes, _ = parse_suppressions(_text(data)).get(fix["line"], ((), ""))
        if [c.upper() for c in codes] != [c.upper() for c in fix["keep"]]:
            return "the suppression still lists other codes"
    return None


def _normalized(fix: dict) -> dict:
    """ORG901 describes its fix as a text edit of the suppression comment
    (`{"edits": [{"line", "column", "end_line", "end_column", "content"}]}`,
    also used for SARIF); applied here as a comment rewrite that keeps the
    codes the new content lists."""
    if "kind" in fix:
        return fix
    edits = fix.get("edits") or []
    if len(edits) == 1 and edits[0]["line"] == edits[0]["end_line"]:
        match = SUPPRESSION.search(edits[0]["content"])
        keep = [c.strip() for c in match.group(1).split(",") if c.strip()] if match else []
        return {"kind": "rewrite-suppression", "line": edits[0]["line"], "keep": keep,
                "description": fix.get("description", "rewrite the suppression")}
    return {"kind": "none", "reason": "the edit is not a suppression comment rewrite"}


def _has_parse_error(facts: FileFacts) -> bool:
    return any(f.rule == "ORG001" for f in facts.findings)


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
