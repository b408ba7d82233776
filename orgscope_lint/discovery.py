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


def _is_virtualenv(directory: Path) -> bool:
    return (directory / "pyvenv.cfg").is_file()


def discover(paths: Sequence[Path], root: Path, exclude: Sequence[str] = (),
             force_exclude: bool = False) -> Tuple[List[Path], List[Tuple[Path, str]]]:
    """Return (python files, problems). Explicit file arguments are checked
    whatever the excludes say, unless `force_exclude` (ruff's
    `--force-exclude`: pre-commit names every changed file explicitly)."""
    excluded = pathspec.GitIgnoreSpec.from_lines(exclude)
    ignored = _gitignore_spec(root)
    found: List[Path] = []
    problems: List[Tuple[Path, str]] = []
    seen = set()

    def skip(path: Path, is_dir: bool) -> bool:
        rel = relative(path, root) + ("/" if is_dir else "")
        if rel.startswith(".."):
            return False
        return excluded.match_file(rel) or bool(ignored and ignored.match_file(rel))

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
            for path in _walk(given, skip, problems):
                add(path)
        else:
            problems.append((given, "not a regular file or directory"))
    return found, problems


def _walk(top: Path, skip, problems: List[Tuple[Path, str]]) -> Iterator[Path]:
    visited = set()

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
            if d not in SKIP_DIRS and not d.endswith(".egg-info")
            and not _is_virtualenv(directory / d) and not skip(directory / d, True))
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            path = directory / name
            if path.is_file() and not skip(path, False):
                yield path
            elif path.is_symlink() and not path.exists() and not skip(path, False):
                problems.append((path, "broken symbolic link or symbolic link loop"))
