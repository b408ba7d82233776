"""Which files to check: walk directories, skip the usual noise, honour
`exclude` and `.gitignore` (gitignore semantics via pathspec)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

import pathspec

SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", ".venv", "venv", "env", ".env", "virtualenv", "node_modules",
    "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox",
    "build", "dist", ".eggs", "site-packages", ".orgscope-lint-cache", ".idea", ".vscode",
})


def _gitignore_spec(root: Path) -> Optional[pathspec.PathSpec]:
    lines: List[str] = []
    gitignore = root / ".gitignore"
    try:
        lines = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def relative(path: Path, root: Path) -> str:
    """Root-relative posix path (`..` segments when outside the root)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return Path(os.path.relpath(path, root)).as_posix()


# skipped by default and never the project's code: not worth a mention
_NEVER_CODE = frozenset({"__pycache__", "node_modules", "site-packages"})


def _has_python(directory: Path, budget: int = 400) -> bool:
    """Does a skipped directory hold Python files? (a bounded look: a large
    tree that shows none in its first `budget` entries counts as none)."""
    seen = 0
    for _, dirnames, filenames in os.walk(directory):
        if any(name.endswith(".py") for name in filenames):
            return True
        seen += len(filenames) + len(dirnames)
        if seen > budget:
            return False
    return False


def _is_virtualenv(directory: Path) -> bool:
    return (directory / "pyvenv.cfg").is_file()


class Skipped:
    """What a walk left out without being told to: directories skipped by the
    defaults (`SKIP_DIRS`, `*.egg-info`, virtualenvs), and directories and
    Python files `.gitignore` matches (`exclude` is the user's own choice).
    Only the pruned directories themselves are counted, not what is in them."""

    def __init__(self) -> None:
        self.default_dirs: List[str] = []
        self.gitignored_dirs: List[str] = []
        self.gitignored_files: List[str] = []

    def __bool__(self) -> bool:
        return bool(self.default_dirs or self.gitignored_dirs or self.gitignored_files)

    def describe(self, shown: int = 5) -> str:
        """`3 directories by default (build/, env/, venv/); 1 directory and 2
        Python files by .gitignore (docs/_build/, ...)`, or ""."""
        def names(items: List[str]) -> str:
            listed = ", ".join(items[:shown])
            return listed + (f", and {len(items) - shown} more" if len(items) > shown else "")

        def count(number: int, one: str, many: str) -> str:
            return f"{number} {one if number == 1 else many}"

        parts = []
        if self.default_dirs:
            parts.append(f"{count(len(self.default_dirs), 'directory', 'directories')} by default "
                         f"({names(sorted(self.default_dirs))})")
        ignored = self.gitignored_dirs + self.gitignored_files
        if ignored:
            what = " and ".join(filter(None, (
                count(len(self.gitignored_dirs), "directory", "directories") if self.gitignored_dirs else "",
                count(len(self.gitignored_files), "Python file", "Python files") if self.gitignored_files
                else "")))
            parts.append(f"{what} by .gitignore ({names(ignored)})")
        return "; ".join(parts)


def discover(paths: Sequence[Path], root: Path, exclude: Sequence[str] = (),
             force_exclude: bool = False, skipped: Optional[Skipped] = None
             ) -> Tuple[List[Path], List[Tuple[Path, str]]]:
    """Return (python files, problems). Explicit file arguments are checked
    whatever the excludes say, unless `force_exclude` (ruff's
    `--force-exclude`: pre-commit names every changed file explicitly).
    `skipped`, when given, collects what the defaults and .gitignore left out."""
    excluded = pathspec.GitIgnoreSpec.from_lines(exclude)
    ignored = _gitignore_spec(root)
    found: List[Path] = []
    problems: List[Tuple[Path, str]] = []
    seen = set()

    def skip(path: Path, is_dir: bool) -> bool:
        rel = relative(path, root) + ("/" if is_dir else "")
        if rel.startswith(".."):
            return False
        if excluded.match_file(rel):
            return True
        if ignored and ignored.match_file(rel):
            if skipped is not None:
                (skipped.gitignored_dirs if is_dir else skipped.gitignored_files).append(rel)
            return True
        return False

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            found.append(path)

    for given in paths:
        if not given.exists() and not given.is_symlink():
            problems.append((given, "no such file or directory"))
        elif force_exclude and skip(given.absolute(), given.is_dir()):
            continue
        elif given.is_file():
            add(given)
        elif given.is_dir():
            for path in _walk(given, skip, problems, skipped, root):
                add(path)
        else:
            problems.append((given, "not a regular file or directory"))
    return found, problems


def _walk(top: Path, skip, problems: List[Tuple[Path, str]], skipped: Optional[Skipped] = None,
          root: Optional[Path] = None) -> Iterator[Path]:
    visited = set()

    def by_default(directory: Path, name: str) -> bool:
        if name in SKIP_DIRS or name.endswith(".egg-info") or _is_virtualenv(directory / name):
            if skipped is not None and not name.startswith(".") and name not in _NEVER_CODE \
                    and _has_python(directory / name):
                skipped.default_dirs.append(relative(directory / name, root or top) + "/")
            return True
        return False

    def onerror(error: OSError) -> None:
        problems.append((Path(error.filename or top), f"cannot read directory: {error.strerror}"))

    for dirpath, dirnames, filenames in os.walk(top, onerror=onerror, followlinks=True):
        directory = Path(dirpath)
        try:
            real = directory.resolve()
        except (OSError, RuntimeError):
            dirnames[:] = []
            continue
        if real in visited:  # symlink loop
            dirnames[:] = []
            continue
        visited.add(real)
        dirnames[:] = sorted(
            d for d in dirnames
            if not by_default(directory, d) and not skip(directory / d, True))
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            path = directory / name
            if path.is_file() and not skip(path, False):
                yield path
            elif path.is_symlink() and not path.exists() and not skip(path, False):
                problems.append((path, "broken symbolic link or symbolic link loop"))
