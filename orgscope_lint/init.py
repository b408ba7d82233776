"""`orgscope-lint init`: inspect a project and write a starting configuration.

What it looks for (with the standard `ast` module: this runs once, reads every
file, and needs no libcst analysis):
- the tenant key: the most frequent `*_org_id` / `tenant_id` /
  `organization_id` string key in the code (filters and rows use it);
- DB wrapper classes: classes defining several of select/insert/update/delete;
- the Supabase query-builder style (`.table(...).eq(...)`);
- auth dependencies: what routes pass to `Depends(...)` / `Security(...)`;
- migrations folders with `.sql` files;
- likely system contexts (webhooks, tasks, internal modules), written
  commented out for the user to confirm.

The section is appended to `pyproject.toml` (the rest of the file is left
byte for byte as it was) or written to a new `.orgscope-lint.toml`; an
existing configuration is never overwritten.
"""
from __future__ import annotations

import ast
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from .config import DOTFILE, _has_section
from .presets import REGISTRY
from .presets.base import Detection
from .discovery import discover, relative

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_TENANT_KEY = re.compile(r"^(?:[a-z]\w*_org_id|org_id|tenant_id|organization_id|\w+_tenant_id)$")
_AUTH_NAME = re.compile(r"user|auth|token|admin|member|org|tenant|session|permission", re.I)
_SYSTEM_HINTS = ("webhook", "task", "job", "worker", "cron", "internal", "scheduler")
_MIGRATION_DIRS = ("migrations", "migration", "sql", "schema", "alembic")


class InitError(Exception):
    """Why no configuration was written (the message names the file)."""


@dataclass
class Findings:
    tenant_keys: Counter = field(default_factory=Counter)
    auth_dependencies: Counter = field(default_factory=Counter)
    # preset name -> what its `detect()` saw over every file
    presets: Dict[str, Detection] = field(default_factory=dict)
    schema_globs: List[str] = field(default_factory=list)
    system_paths: List[str] = field(default_factory=list)
    files: int = 0

    @property
    def wrapper_classes(self) -> List[str]:
        found = self.presets.get("dbservice", Detection())
        return sorted(found.settings.get("receiver-classes", ()))

    @property
    def supabase_calls(self) -> int:
        return self.presets.get("supabase", Detection()).evidence


def inspect_project(root: Path) -> Findings:
    found = Findings()
    files, _ = discover([root], root)
    for path in files:
        rel = relative(path, root)
        try:
            tree = ast.parse(path.read_bytes(), filename=rel)
        except (SyntaxError, ValueError, OSError, RecursionError, MemoryError):
            continue
        found.files += 1
        _scan(tree, found)
        detect_presets(tree, path, found)
        system = _system_path(rel)
        if system and system not in found.system_paths:
            found.system_paths.append(system)
    found.schema_globs = _schema_globs(root)
    return found


def detect_presets(tree: ast.Module, path: Path, found: Findings) -> None:
    """Every registered preset's look at one file, added up per preset."""
    text = None
    for name, preset in REGISTRY.items():
        if text is None:
            text = path.read_text(encoding="utf-8", errors="replace")
        found.presets.setdefault(name, Detection()).add(preset.detect(tree, text))


def _system_path(rel: str) -> Optional[str]:
    """`app/tasks/cleanup.py` -> `app/tasks/*.py`; `app/x/webhooks.py` -> itself."""
    directory, _, name = rel.rpartition("/")
    if any(hint in directory.rsplit("/", 1)[-1].lower() for hint in _SYSTEM_HINTS):
        return f"{directory}/*.py"
    if name != "__init__.py" and any(hint in name.lower() for hint in _SYSTEM_HINTS):
        return rel
    return None


def _scan(tree: ast.AST, found: Findings) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _TENANT_KEY.match(node.value):
                found.tenant_keys[node.value] += 1
        elif isinstance(node, ast.keyword) and node.arg and _TENANT_KEY.match(node.arg):
            found.tenant_keys[node.arg] += 1
        elif isinstance(node, ast.Call):
            name = _called_name(node.func)
            if name in ("Depends", "Security") and node.args:
                dependency = _called_name(node.args[0])
                if dependency and _AUTH_NAME.search(dependency):
                    found.auth_dependencies[dependency] += 1


def _called_name(node: ast.AST) -> Optional[str]:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _schema_globs(root: Path) -> List[str]:
    globs = set()
    for sql in root.rglob("*.sql"):
        rel = relative(sql.parent, root)
        parts = rel.split("/")
        if any(p in ("node_modules", ".git", ".venv", "venv") for p in parts):
            continue
        if any(p.lower() in _MIGRATION_DIRS for p in parts):
            globs.add(f"{rel}/*.sql" if rel != "." else "*.sql")
    return sorted(globs)


def _toml_list(items) -> str:
    return "[" + ", ".join(_toml_string(i) for i in items) + "]"


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_config(found: Findings, prefix: str) -> str:
    """The starting configuration; `prefix` is `tool.orgscope-lint` for
    pyproject.toml and empty for `.orgscope-lint.toml`."""
    def table(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    lines: List[str] = []
    if prefix:
        lines.append(f"[{prefix}]")
    lines.append(f"# Written by `orgscope-lint init` from {found.files} Python files: "
                 "review it, then commit it.")
    if found.tenant_keys:
        key, count = sorted(found.tenant_keys.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        others = [k for k, _ in sorted(found.tenant_keys.items(), key=lambda kv: (-kv[1], kv[0]))
                  if k != key][:3]
        note = f"  # seen {count} times" + (
            f"; also seen: {', '.join(others)} (per-table keys go in table-keys)" if others else "")
        lines.append(f"tenant-key = {_toml_string(key)}{note}")
    else:
        lines.append('tenant-key = "clerk_org_id"  # no tenant key seen in the code: set yours')
    if found.auth_dependencies:
        deps = [d for d, _ in sorted(found.auth_dependencies.items(),
                                     key=lambda kv: (-kv[1], kv[0]))]
        lines.append(f"auth-dependencies = {_toml_list(deps)}")
    if found.schema_globs:
        lines.append(f"schema = {_toml_list(found.schema_globs)}  # SQL migrations")
    lines.append('# global-tables = []  # tables shared by every organization')
    lines.append("")
    presets = [name for name, seen in found.presets.items() if seen.evidence > 0]
    lines.append(f"[{table('db')}]")
    lines.append(f"presets = {_toml_list(presets or ['dbservice'])}")
    for name in presets:
        for key, values in sorted(found.presets[name].settings.items()):
            lines.append(f"{key} = {_toml_list(sorted(values))}  # found by the {name} preset")
    if found.system_paths:
        lines.append("")
        lines.append("# Likely system contexts (code that runs without a user JWT, so "
                     "cross-organization")
        lines.append("# access may be intended). Uncomment the ones that are, with the "
                     "real reason.")
        for path in found.system_paths:
            lines.append(f"# [[{table('system-contexts')}]]")
            lines.append(f"# paths = [{_toml_string(path)}]")
            lines.append('# reason = "no user JWT: explain who calls this and why"')
    return "\n".join(lines) + "\n"


def write_initial_config(directory: Path, prefer_dotfile: bool = False) -> Path:
    """Write the configuration and return the file written to."""
    directory = directory.resolve()
    dotfile = directory / DOTFILE
    pyproject = directory / "pyproject.toml"
    if dotfile.exists():
        raise InitError(f"{dotfile}: a configuration already exists; not overwriting it")
    if pyproject.is_file():
        try:
            tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InitError(f"{pyproject}: invalid TOML ({exc}); fix it first") from None
        if _has_section(pyproject):
            raise InitError(f"{pyproject}: `[tool.orgscope-lint]` already exists; "
                            "not overwriting it")
    found = inspect_project(directory)
    if pyproject.is_file() and not prefer_dotfile:
        existing = pyproject.read_bytes()
        separator = b"" if existing.endswith(b"\n") or not existing else b"\n"
        text = render_config(found, "tool.orgscope-lint")
        with pyproject.open("ab") as handle:
            handle.write(separator + b"\n" + text.encode("utf-8"))
        return pyproject
    dotfile.write_text(render_config(found, ""), encoding="utf-8")
    return dotfile
