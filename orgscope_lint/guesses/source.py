"""The project as `init` reads it: every Python file parsed once with the
standard `ast` module (init runs once and needs no libcst analysis), the SQL
migrations as text, and the files that could not be read, by name."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

from ..discovery import SKIP_DIRS, Skipped, discover, relative

FunctionNode = Union[ast.FunctionDef, ast.AsyncFunctionDef]
_TEST_PART = re.compile(r"^(tests?|testing|test_utils|fixtures|conftest\.py|test_.*\.py|"
                        r".*_tests?\.py)$")


def is_test_path(rel: str) -> bool:
    return any(_TEST_PART.match(part) for part in rel.split("/"))


@dataclass
class PyFile:
    rel: str
    tree: ast.Module
    text: str
    imports: Dict[str, str] = field(default_factory=dict)  # local name -> module.attr

    @property
    def is_test(self) -> bool:
        return is_test_path(self.rel)

    def functions(self) -> Iterator[Tuple[str, FunctionNode]]:
        """(qualname, node) of module functions and methods (one class level)."""
        for node in self.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield node.name, node
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        yield f"{node.name}.{item.name}", item

    def imported_from(self, name: str) -> Optional[str]:
        return self.imports.get(name.split(".")[0])


@dataclass
class ProjectSource:
    root: Path
    files: List[PyFile] = field(default_factory=list)
    sql: List[Tuple[str, str]] = field(default_factory=list)  # (rel, text)
    unreadable: List[Tuple[str, str]] = field(default_factory=list)  # (rel, why)
    read: int = 0
    # directories the defaults (`build/`, `env/`, ...) and .gitignore left out
    skipped: Skipped = field(default_factory=Skipped)

    @property
    def code(self) -> List[PyFile]:
        """The back end's own files: tests say nothing about how it runs."""
        return [f for f in self.files if not f.is_test]


def _imports(tree: ast.Module) -> Dict[str, str]:
    names: Dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[(alias.asname or alias.name).split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def read_project(root: Path, exclude=()) -> ProjectSource:
    source = ProjectSource(root)
    paths, problems = discover([root], root, exclude, skipped=source.skipped)
    for path, why in problems:
        source.unreadable.append((relative(path, root), why))
    for path in paths:
        rel = relative(path, root)
        try:
            data = path.read_bytes()
            text = data.decode("utf-8-sig")
            tree = ast.parse(data, filename=rel)
        except OSError as exc:
            source.unreadable.append((rel, f"cannot read: {exc.strerror or exc}"))
            continue
        except UnicodeDecodeError:
            source.unreadable.append((rel, "not UTF-8 text"))
            continue
        except (SyntaxError, ValueError) as exc:
            line = getattr(exc, "lineno", None)
            source.unreadable.append((rel, f"does not parse{f' (line {line})' if line else ''}: "
                                           f"{getattr(exc, 'msg', exc)}"))
            continue
        except (RecursionError, MemoryError):
            source.unreadable.append((rel, "nested too deeply to parse"))
            continue
        source.read += 1
        source.files.append(PyFile(rel, tree, text, _imports(tree)))
    for sql in sorted(root.rglob("*.sql")):
        rel = relative(sql, root)
        if any(part in SKIP_DIRS for part in rel.split("/")) or is_test_path(rel):
            continue
        try:
            source.sql.append((rel, sql.read_text(encoding="utf-8", errors="replace")))
        except OSError as exc:
            source.unreadable.append((rel, f"cannot read: {exc.strerror or exc}"))
    return source


def called_name(node: ast.AST) -> Optional[str]:
    """`f` for `f(...)`, `a.b.f` for `a.b.f(...)`; the callee of a call."""
    if isinstance(node, ast.Call):
        node = node.func
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def last(name: Optional[str]) -> str:
    return (name or "").rsplit(".", 1)[-1]
