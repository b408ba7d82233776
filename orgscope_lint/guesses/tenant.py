"""The tenant key: the column most tenant-looking tables share and the auth
context returns.

Tables come from the SQL migrations (`CREATE TABLE` / `ADD COLUMN`, read as
text: a guess needs no full parse) and from ORM models recognised by text
pattern (SQLAlchemy / Flask-SQLAlchemy / SQLModel classes with `__tablename__`
or a model base, Alembic `op.create_table`, Django models whose
`ForeignKey` field `organization` is the column `organization_id`). Code use
(string keys, keyword arguments, attributes) breaks ties and stands in when
there is no schema at all.
"""
from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Set, Tuple

from .auth import AuthGuess
from .source import ProjectSource, PyFile, called_name, last

TENANT_NAME = re.compile(
    r"^(?:org_id|organization_id|organisation_id|tenant_id|account_id|workspace_id|team_id|"
    r"company_id|[a-z][a-z0-9]*_(?:org_id|tenant_id|organization_id))$")
# `users.active_tenant_id`: the tenant a user last chose, a pointer, not the owner of the row
POINTER = re.compile(r"^(?:active|current|default|selected|last|primary|home|preferred)_")
_CREATE = re.compile(r"create\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?"
                     r"((?:\"?\w+\"?\.)?\"?\w+\"?)\s*\(", re.I)
_ADD_COLUMN = re.compile(r"alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?"
                         r"((?:\"?\w+\"?\.)?\"?\w+\"?)\s+add\s+(?:column\s+)?"
                         r"(?:if\s+not\s+exists\s+)?\"?(\w+)\"?", re.I)
_MODEL_BASES = re.compile(r"(^|\.)(\w*Model|\w*Base)$")
_NOT_MODELS = {"BaseModel", "BaseSettings", "TypedDict", "Enum", "Schema", "NamedTuple"}
_FOREIGN_KEYS = {"ForeignKey", "OneToOneField", "TenantForeignKey"}


@dataclass
class TenantGuess:
    key: Optional[str]
    evidence: str
    tables: Dict[str, Set[str]] = field(default_factory=dict)  # table -> columns seen
    candidates: List[Tuple[str, int, int]] = field(default_factory=list)  # key, tables, uses
    others_needed: List[str] = field(default_factory=list)  # keys of tables without `key`
    global_tables: List[Tuple[str, str]] = field(default_factory=list)  # (table, evidence)


def _name(raw: str) -> str:
    return raw.replace('"', "").split(".")[-1].lower()


def schema_tables(sql: Iterable[Tuple[str, str]]) -> Dict[str, Set[str]]:
    return _schema(sql)[0]


def _schema(sql: Iterable[Tuple[str, str]]) -> Tuple[Dict[str, Set[str]], Dict[str, Set[str]]]:
    """(table -> columns, table -> the columns created without NOT NULL)."""
    tables: Dict[str, Set[str]] = {}
    nullable: Dict[str, Set[str]] = {}
    for _, text in sql:
        text = re.sub(r"--[^\n]*", "", text)
        for match in _CREATE.finditer(text):
            depth, start, end = 1, match.end(), match.end()
            while end < len(text) and depth:
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                end += 1
            columns = tables.setdefault(_name(match.group(1)), set())
            body, depth, part = text[start:end - 1], 0, ""
            for char in body + ",":
                if char == "," and depth == 0:
                    words = part.split()
                    if words and words[0].lower() not in (
                            "constraint", "primary", "unique", "foreign", "check", "exclude",
                            "like"):
                        columns.add(_name(words[0]))
                        if not re.search(r"not\s+null|primary\s+key", part, re.I):
                            nullable.setdefault(_name(match.group(1)), set()).add(
                                _name(words[0]))
                    part = ""
                    continue
                depth += {"(": 1, ")": -1}.get(char, 0)
                part += char
        for match in _ADD_COLUMN.finditer(text):
            tables.setdefault(_name(match.group(1)), set()).add(match.group(2).lower())
    return tables, nullable


def _is_model(node: ast.ClassDef) -> bool:
    bases = [called_name(b) or "" for b in node.bases]
    if any(last(b) in _NOT_MODELS for b in bases):
        return False
    for item in node.body:
        if isinstance(item, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__tablename__"
                                                for t in item.targets):
            return True
    return _table_keyword(node) or any(_MODEL_BASES.search(b) for b in bases)


def _table_keyword(node: ast.ClassDef) -> bool:
    return any(k.arg == "table" for k in node.keywords)  # SQLModel's `table=True`


def _columns(node: ast.ClassDef) -> Set[str]:
    columns: Set[str] = set()
    for item in node.body:
        target, value, annotation = None, None, None
        if isinstance(item, ast.Assign) and len(item.targets) == 1 \
                and isinstance(item.targets[0], ast.Name):
            target, value = item.targets[0].id, item.value
        elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            target, value, annotation = item.target.id, item.value, item.annotation
        elif isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                last(called_name(d)) == "declared_attr" for d in item.decorator_list):
            # a mixin's `@declared_attr def tenant_id(cls): return mapped_column(...)`
            target, annotation = item.name, item.returns
            value = next((r.value for r in ast.walk(item) if isinstance(r, ast.Return)), None)
        if target is None or target.startswith("__"):
            continue
        callee = last(called_name(value)) if isinstance(value, ast.Call) else ""
        if callee in _FOREIGN_KEYS:  # Django: `organization = ForeignKey(...)`
            columns.add(f"{target}_id")
        elif callee in ("Column", "mapped_column") or (
                callee.endswith("Field") and (callee != "Field" or _table_keyword(node))):
            columns.add(target)
        elif annotation is not None and (called_name(annotation) or "").startswith("Mapped") \
                or isinstance(annotation, ast.Subscript) and \
                called_name(annotation.value) == "Mapped":
            columns.add(target)
    return columns


def _abstract(node: ast.ClassDef) -> bool:
    return any(isinstance(item, ast.Assign) and any(
        isinstance(t, ast.Name) and t.id == "__abstract__" for t in item.targets)
        and isinstance(item.value, ast.Constant) and item.value.value is True
        for item in node.body)


def model_tables(files: Iterable[PyFile]) -> Dict[str, Set[str]]:
    """ORM model classes (and Alembic `op.create_table`) -> their columns,
    with the columns their project bases and mixins declare (`TenantMixin`,
    an `__abstract__` base); abstract bases and mixins are no tables."""
    tables: Dict[str, Set[str]] = {}
    classes: Dict[str, Tuple[ast.ClassDef, Set[str]]] = {}
    for file in files:
        for node in ast.walk(file.tree):
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, (node, _columns(node)))
            elif isinstance(node, ast.Call) and last(called_name(node)) == "create_table" \
                    and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                columns = tables.setdefault(node.args[0].value.lower(), set())
                for arg in node.args[1:]:
                    if isinstance(arg, ast.Call) and last(called_name(arg)) == "Column" \
                            and arg.args and isinstance(arg.args[0], ast.Constant):
                        columns.add(str(arg.args[0].value))

    def inherited(name: str, seen: frozenset) -> Set[str]:
        if name not in classes or name in seen:
            return set()
        node, columns = classes[name]
        found = set(columns)
        for base in node.bases:
            found |= inherited(last(called_name(base)) or "", seen | {name})
        return found

    def is_model(node: ast.ClassDef, seen: frozenset) -> bool:
        if _is_model(node):
            return True
        return any(is_model(classes[b][0], seen | {node.name}) for b in
                   (last(called_name(base)) or "" for base in node.bases)
                   if b in classes and b not in seen)

    for name, (node, _) in classes.items():
        if _abstract(node) or not is_model(node, frozenset()):
            continue
        columns = inherited(name, frozenset())
        if columns:
            tables.setdefault(name.lower(), set()).update(columns)
    return tables


def code_uses(files: Iterable[PyFile]) -> Counter:
    uses: Counter = Counter()
    for file in files:
        for node in ast.walk(file.tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if TENANT_NAME.match(node.value):
                    uses[node.value] += 1
            elif isinstance(node, ast.keyword) and node.arg and TENANT_NAME.match(node.arg):
                uses[node.arg] += 1
            elif isinstance(node, ast.Attribute) and TENANT_NAME.match(node.attr):
                uses[node.attr] += 1
    return uses


def _auth_returns(source: ProjectSource, auth: AuthGuess) -> Dict[str, List[str]]:
    """Tenant-looking names in the auth dependencies' bodies -> those dependencies."""
    names = {j.name for j in auth.all_auth}
    found: Dict[str, List[str]] = {}
    for file in source.code:
        for qualname, node in file.functions():
            if qualname not in names:
                continue
            seen = set()
            for inner in ast.walk(node):
                if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                    seen.add(inner.value)
                elif isinstance(inner, ast.keyword) and inner.arg:
                    seen.add(inner.arg)
                elif isinstance(inner, ast.Attribute):
                    seen.add(inner.attr)
            for key in sorted(k for k in seen if TENANT_NAME.match(k)):
                found.setdefault(key, []).append(qualname)
    return found


def guess_tenant_key(source: ProjectSource, auth: AuthGuess) -> TenantGuess:
    tables, nullable = _schema(source.sql)
    where = "schema" if tables else ""
    models = model_tables(source.code)
    if models:
        for name, columns in models.items():
            tables.setdefault(name, set()).update(columns)
        where = "schema and models" if where else "models"
    uses = code_uses(source.code)
    returned = _auth_returns(source, auth)
    keys = {c for columns in tables.values() for c in columns if TENANT_NAME.match(c)}
    keys |= set(uses) | set(returned)
    if not keys:
        return TenantGuess(None, "no tenant-looking column or key seen", tables)
    on_tables = {k: sum(1 for columns in tables.values() if k in columns) for k in keys}
    ranked = sorted(keys, key=lambda k: (-on_tables[k], k not in returned, -uses[k], k))
    key = ranked[0]
    parts = []
    if on_tables[key]:
        parts.append(f"`{key}` on {on_tables[key]} of {len(tables)} tables ({where})")
    else:
        parts.append(f"`{key}` used {uses[key]} times in the code" if uses[key]
                     else f"`{key}`")
    if key in returned:
        parts.append("in the auth context of " + ", ".join(f"`{n}`" for n in returned[key][:2]))
    if on_tables[key] and uses[key]:
        parts.append(f"{uses[key]} uses in the code")
    candidates = [(k, on_tables[k], uses[k]) for k in ranked[:4]]
    others = sorted({c for columns in tables.values() if key not in columns
                     for c in columns if TENANT_NAME.match(c) and not POINTER.match(c)})
    # a tenant column that may be NULL where the others may not: shared rows
    required = sum(1 for t, columns in tables.items()
                   if key in columns and key not in nullable.get(t, ()))
    shared = sorted(t for t, columns in nullable.items() if key in columns) \
        if required > 1 else []
    return TenantGuess(key, "; ".join(parts), tables, candidates, others,
                       [(t, f"its `{key}` may be NULL (shared rows) where {required} other "
                            "tables require it") for t in shared])
