"""`check --since REF`: the lines changed since a git ref, from `git diff -U0`.

The working tree is compared with REF (committed, staged and unstaged
changes); files git does not track yet count as changed throughout. A
deletion marks the lines on either side of it, so a call whose tenant filter
lost a line is still "changed". Paths are relative to the project root, like
finding paths.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Dict, FrozenSet, Optional, Set

# path -> changed line numbers (1-based); None: the whole file is new
ChangedLines = Dict[str, Optional[FrozenSet[int]]]

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


class ChangesError(Exception):
    """git cannot say what changed (no repository, unknown ref, no git)."""


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-c", "core.quotePath=false", "-C", str(root), *args],
                              capture_output=True, text=True, encoding="utf-8",
                              errors="replace", check=False)
    except FileNotFoundError:
        raise ChangesError("--since needs git, and no `git` command was found") from None
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["git failed"])[-1]
        raise ChangesError(f"git {args[0]} in {root}: {message}")
    return done.stdout


def _path(text: str) -> str:
    text = text.strip()
    if text.startswith('"') and text.endswith('"'):
        text = text[1:-1]
    return text[2:] if text.startswith("b/") else text


def parse_diff(diff: str) -> Dict[str, FrozenSet[int]]:
    """{path: changed lines in the new file} from `git diff -U0` output."""
    changed: Dict[str, Set[int]] = {}
    current: Optional[str] = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            target = line[4:]
            current = None if target.strip() == "/dev/null" else _path(target)
            if current is not None:
                changed.setdefault(current, set())
        elif current is not None:
            match = _HUNK.match(line)
            if match:
                start, count = int(match.group(1)), int(match.group(2) or 1)
                if count:
                    changed[current].update(range(start, start + count))
                else:  # lines removed after `start`: both neighbours changed
                    changed[current].update((start, start + 1))
    return {path: frozenset(lines) for path, lines in changed.items()}


def changed_lines(root: Path, ref: str) -> ChangedLines:
    if ref.startswith("-"):
        raise ChangesError(f"--since {ref}: not a git ref")
    _git(root, "rev-parse", "--show-toplevel")  # a clear error outside a repository
    try:
        _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except ChangesError:
        raise ChangesError(f"--since {ref}: no such commit, branch or tag in the "
                           f"repository of {root}") from None
    changed: ChangedLines = dict(parse_diff(_git(
        root, "diff", "-U0", "--no-color", "--no-ext-diff", "--relative", ref, "--")))
    for path in _git(root, "ls-files", "--others", "--exclude-standard").splitlines():
        if path.strip():
            changed[path.strip()] = None
    return changed


def touches(changed: ChangedLines, path: str, first: int, last: int) -> bool:
    """Does a finding spanning lines first..last lie on a changed line?"""
    if path not in changed:
        return False
    lines = changed[path]
    return lines is None or any(first <= line <= max(first, last) for line in lines)
