"""The SQLAlchemy model pre-pass: ORM models and `Table(...)` objects as
table facts for the one table catalog.

Cheap by construction: a byte marker first (a file that never says
`Column`, `mapped_column`, `__tablename__`, `Table(` or `table=True` declares
no table), then the standard library's `ast` (never libcst: the pre-pass runs
on warm runs too).

Understood: declarative classes (`DeclarativeBase`, `declarative_base()`,
`registry().mapped`, Flask-SQLAlchemy `db.Model`, SQLModel `table=True`),
`__tablename__` (a string; a `declared_attr` function, as on a custom base,
means the default: the class name in snake case; Flask-SQLAlchemy and
SQLModel defaults likewise), `__abstract__`, columns (`Column`, `db.Column`,
`mapped_column`, `Mapped[...]` annotations, SQLModel fields, `declared_attr`
column functions), primary keys, foreign keys (`ForeignKey("orgs.id")`,
`ForeignKey(Org.id)`), inheritance and mixins (columns are inherited over
every base the project defines; a subclass without a table of its own shares
its parent's: single-table inheritance), and `name = Table("t", meta, ...)`.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from ..catalog import ForeignKey, TableFact

MARKER = re.compile(rb"__tablename__|__table__|mapped_column|\bColumn\(|\bTable\(|table\s*=\s*True|"
                    rb"with_loader_criteria")

_COLUMN_CALLS = frozenset({"Column", "mapped_column"})
_NOT_COLUMNS = frozenset({"relationship", "Relationship", "relation", "backref",
                          "column_property", "synonym", "association_proxy", "hybrid_property",
                          "composite", "deferred", "query_expression", "dynamic_loader"})
# bases that make a class declarative (its subclasses are mapped)
_DECLARATIVE_BASES = frozenset({"DeclarativeBase", "DeclarativeBaseNoMeta", "Model", "SQLModel"})
_BASE_FACTORIES = frozenset({"declarative_base", "generate_base", "as_declarative"})


def _last(node: ast.AST) -> Optional[str]:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):  # Generic[...] style bases
        return _last(node.value)
    if isinstance(node, ast.Call):
        return _last(node.func)
    return None


def _dotted(node: ast.AST) -> Optional[str]:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


@dataclass
class ClassDecl:
    """One class as its own source declares it (before inheritance)."""

    name: str
    path: str
    bases: Tuple[str, ...]
    tablename: Optional[str] = None
    computed_tablename: bool = False  # `declared_attr` __tablename__: a default name
    abstract: bool = False
    table_keyword: bool = False  # SQLModel `table=True`
    mapped_decorator: bool = False  # `@registry.mapped`, `@as_declarative()`
    columns: List[str] = field(default_factory=list)
    primary_key: List[str] = field(default_factory=list)
    foreign_keys: List[Tuple[str, str, str]] = field(default_factory=list)  # col, target ref
    annotated: List[str] = field(default_factory=list)  # plain annotations (SQLModel fields)


@dataclass
class FileDecls:
    classes: List[ClassDecl] = field(default_factory=list)
    tables: List[TableFact] = field(default_factory=list)
    roots: Set[str] = field(default_factory=set)  # `Base = declarative_base()` names
    # `Base = declarative_base(cls=CustomBase)`: Base -> CustomBase (its __tablename__ rule)
    root_classes: Dict[str, str] = field(default_factory=dict)
    # `with_loader_criteria(M, lambda cls: cls.tenant_id == ...)` in a
    # `do_orm_execute` listener: class -> the columns its criteria compare
    criteria: Dict[str, Tuple[str, ...]] = field(default_factory=dict)


def _foreign_key(call: ast.Call) -> Optional[Tuple[str, str]]:
    """`ForeignKey("orgs.id")` -> ("orgs", "id"); `ForeignKey(Org.id)` -> ("@Org", "id")."""
    if not call.args:
        return None
    target = call.args[0]
    if isinstance(target, ast.Constant) and isinstance(target.value, str):
        table, _, column = target.value.rpartition(".")
        return (table.rsplit(".", 1)[-1], column) if table else None
    if isinstance(target, ast.Attribute):
        owner = _last(target.value)
        return (f"@{owner}", target.attr) if owner else None
    return None


def _column_call(value: Optional[ast.AST]) -> Optional[ast.Call]:
    if isinstance(value, ast.Call) and _last(value.func) in _COLUMN_CALLS:
        return value
    return None


def _describe_column(decl: ClassDecl, attribute: str, call: Optional[ast.Call]) -> None:
    decl.columns.append(attribute)
    if call is None:
        return
    for keyword in call.keywords:
        if keyword.arg == "primary_key" and isinstance(keyword.value, ast.Constant) \
                and keyword.value.value is True:
            decl.primary_key.append(attribute)
        if keyword.arg == "foreign_key" and isinstance(keyword.value, ast.Constant) \
                and isinstance(keyword.value.value, str):  # SQLModel Field(foreign_key="t.id")
            table, _, column = keyword.value.value.rpartition(".")
            if table:
                decl.foreign_keys.append((attribute, table, column))
    for arg in call.args:
        if isinstance(arg, ast.Call) and _last(arg.func) == "ForeignKey":
            target = _foreign_key(arg)
            if target is not None:
                decl.foreign_keys.append((attribute, *target))


def _class_decl(node: ast.ClassDef, path: str, roots: Set[str]) -> ClassDecl:
    bases = tuple(b for b in (_last(base) for base in node.bases) if b)
    decl = ClassDecl(node.name, path, bases)
    decl.table_keyword = any(k.arg == "table" and isinstance(k.value, ast.Constant)
                             and k.value.value is True for k in node.keywords)
    for decorator in node.decorator_list:
        name = _last(decorator)
        if name in ("mapped", "as_declarative", "mapped_as_dataclass"):
            decl.mapped_decorator = name == "mapped" or name == "mapped_as_dataclass"
            if name == "as_declarative":
                roots.add(node.name)
    for item in node.body:
        if isinstance(item, ast.Assign) and len(item.targets) == 1 \
                and isinstance(item.targets[0], ast.Name):
            target = item.targets[0].id
            value = item.value
            if target == "__tablename__":
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    decl.tablename = value.value
            elif target == "__abstract__":
                decl.abstract = isinstance(value, ast.Constant) and value.value is True
            elif target == "__table__" and isinstance(value, ast.Call) \
                    and _last(value.func) == "Table" and value.args \
                    and isinstance(value.args[0], ast.Constant):
                decl.tablename = str(value.args[0].value)
                for arg in value.args[2:]:
                    if _column_call(arg) is not None and arg.args and isinstance(
                            arg.args[0], ast.Constant):
                        _describe_column(decl, str(arg.args[0].value), arg)
            elif _column_call(value) is not None:
                _describe_column(decl, target, _column_call(value))
        elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            target = item.target.id
            if target.startswith("__"):
                continue
            value = item.value
            if isinstance(value, ast.Call) and _last(value.func) in _NOT_COLUMNS:
                continue
            annotation = item.annotation
            mapped = isinstance(annotation, ast.Subscript) and _last(annotation.value) == "Mapped"
            if mapped and _is_relationship_annotation(annotation):
                continue
            if _column_call(value) is not None or mapped:
                _describe_column(decl, target, _column_call(value))
            elif not (isinstance(annotation, ast.Subscript)
                      and _last(annotation.value) == "ClassVar"):
                # a SQLModel field (`name: str`, `id: int = Field(primary_key=True)`)
                decl.annotated.append(target)
                if isinstance(value, ast.Call) and _last(value.func) == "Field":
                    call = value
                    for keyword in call.keywords:
                        if keyword.arg == "primary_key" and isinstance(
                                keyword.value, ast.Constant) and keyword.value.value is True:
                            decl.primary_key.append(target)
                        if keyword.arg == "foreign_key" and isinstance(
                                keyword.value, ast.Constant) and isinstance(keyword.value.value, str):
                            table, _, column = keyword.value.value.rpartition(".")
                            if table:
                                decl.foreign_keys.append((target, table, column))
        elif isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                _last(d) in ("declared_attr", "directive") or _dotted(d) == "declared_attr.directive"
                for d in item.decorator_list):
            if item.name == "__tablename__":
                decl.computed_tablename = True
                continue
            returned = [n.value for n in ast.walk(item) if isinstance(n, ast.Return)]
            calls = [_column_call(v) for v in returned]
            if any(c is not None for c in calls):
                _describe_column(decl, item.name, next(c for c in calls if c is not None))
    return decl


def _is_relationship_annotation(annotation: ast.Subscript) -> bool:
    """`Mapped[List["Child"]]`, `Mapped["Parent"]` are relationships, not columns."""
    inner = annotation.slice
    if isinstance(inner, ast.Index):  # pragma: no cover - Python 3.8 trees
        inner = inner.value  # type: ignore[attr-defined]
    if isinstance(inner, ast.Subscript) and _last(inner.value) in (
            "List", "list", "Set", "set", "Sequence", "WriteOnlyMapped", "DynamicMapped"):
        return True
    if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
        text = inner.value.strip()
        return text[:1].isupper() and text.split("[")[0] not in (
            "Optional", "UUID", "Decimal", "Any") and "|" not in text and text not in _PLAIN_TYPES
    return False


_PLAIN_TYPES = frozenset({"str", "int", "bool", "float", "datetime", "date", "bytes", "dict",
                          "Dict", "Any", "JSON", "UUID", "Decimal", "UUID4"})


def scan_file(path: str, tree: ast.Module) -> FileDecls:
    """The classes and `Table(...)` objects one file declares."""
    found = FileDecls()
    for node in tree.body:  # module-level `Base = declarative_base()` and tables
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call):
            name = node.targets[0].id
            func = _last(node.value.func)
            if func in _BASE_FACTORIES:
                found.roots.add(name)
                for keyword in node.value.keywords:
                    if keyword.arg == "cls" and _last(keyword.value):
                        found.root_classes[name] = _last(keyword.value)  # type: ignore[assignment]
            elif func == "Table" and node.value.args and isinstance(
                    node.value.args[0], ast.Constant) and isinstance(node.value.args[0].value, str):
                found.tables.append(_table_object(name, node.value, path))
    listener = any(isinstance(n, ast.Constant) and n.value == "do_orm_execute"
                   for n in ast.walk(tree))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            found.classes.append(_class_decl(node, path, found.roots))
        elif listener and isinstance(node, ast.Call) and _last(node.func) == \
                "with_loader_criteria" and len(node.args) >= 2:
            target = _last(node.args[0])
            if target:
                pinned = tuple(sorted({n.attr for n in ast.walk(node.args[1])
                                       if isinstance(n, ast.Attribute) and _equality_side(
                                           n, node.args[1])}))
                if pinned:
                    found.criteria[target] = tuple(dict.fromkeys(
                        (*found.criteria.get(target, ()), *pinned)))
    return found


def _equality_side(attribute: ast.Attribute, criteria: ast.AST) -> bool:
    """`cls.tenant_id == x` (either side) inside the criteria."""
    for node in ast.walk(criteria):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 \
                and isinstance(node.ops[0], ast.Eq) \
                and (node.left is attribute or node.comparators[0] is attribute):
            return True
    return False


def _table_object(variable: str, call: ast.Call, path: str) -> TableFact:
    decl = ClassDecl(variable, path, ())
    for arg in call.args[1:]:
        if _column_call(arg) is not None and arg.args and isinstance(arg.args[0], ast.Constant) \
                and isinstance(arg.args[0].value, str):
            _describe_column(decl, arg.args[0].value, arg)
    return TableFact(str(call.args[0].value), tuple(decl.columns), f"sqlalchemy ({path})",
                     tuple(decl.primary_key),
                     tuple(ForeignKey(c, t, col) for c, t, col in decl.foreign_keys
                           if not t.startswith("@")), model=variable)


def resolve(files: Iterable[FileDecls]) -> List[TableFact]:
    """Table facts of every mapped class, with inherited columns, and of the
    `Table(...)` objects."""
    classes: Dict[str, ClassDecl] = {}
    roots: Set[str] = set(_DECLARATIVE_BASES)
    root_classes: Dict[str, str] = {}
    criteria: Dict[str, Tuple[str, ...]] = {}
    facts: List[TableFact] = []
    for decls in files:
        roots |= decls.roots
        root_classes.update(decls.root_classes)
        for target, columns in decls.criteria.items():
            criteria[target] = tuple(dict.fromkeys((*criteria.get(target, ()), *columns)))
        facts.extend(decls.tables)
        for decl in decls.classes:
            classes.setdefault(decl.name, decl)

    def lineage(name: str) -> List[ClassDecl]:
        """The class and its project ancestors, nearest first (each once)."""
        order: List[ClassDecl] = []
        seen: Set[str] = set()
        pending = [name]
        while pending:
            current = pending.pop(0)
            if current in root_classes:
                pending.append(root_classes[current])
            if current in seen or current not in classes:
                continue
            seen.add(current)
            order.append(classes[current])
            pending.extend(classes[current].bases)
        return order

    def declarative(decl: ClassDecl) -> bool:
        stack, seen = [decl], set()
        while stack:
            current = stack.pop()
            if current.name in seen:
                continue
            seen.add(current.name)
            if current.mapped_decorator or current.table_keyword:
                return True
            for base in current.bases:
                if base in roots:
                    return True
                if base in classes:
                    stack.append(classes[base])
        return False

    tables: Dict[str, str] = {}

    def table_of(decl: ClassDecl, chain: List[ClassDecl]) -> Optional[str]:
        if decl.abstract:
            return None
        if decl.tablename:
            return decl.tablename
        sqlmodel = "SQLModel" in decl.bases or decl.table_keyword
        if sqlmodel:
            return decl.name.lower() if decl.table_keyword else None
        for ancestor in chain[1:]:  # single-table inheritance: the parent's table
            if ancestor.tablename and not ancestor.abstract:
                return ancestor.tablename
        if any(a.computed_tablename for a in chain):
            return snake_case(decl.name)
        if any("Model" in a.bases for a in chain):  # Flask-SQLAlchemy's default name
            return snake_case(decl.name)
        return None

    for name, decl in classes.items():
        if decl.name in roots and not decl.tablename:
            continue
        if not declarative(decl):
            continue
        chain = lineage(name)
        table = table_of(decl, chain)
        if table is None:
            continue
        tables[name] = table
        columns: List[str] = []
        primary: List[str] = []
        keys: List[Tuple[str, str, str]] = []
        for ancestor in chain:
            columns.extend(ancestor.columns)
            if decl.table_keyword or ancestor.table_keyword:
                columns.extend(ancestor.annotated)
            primary.extend(ancestor.primary_key)
            keys.extend(ancestor.foreign_keys)
        # criteria on the class or on any base or mixin (`with_loader_criteria(TenantMixin, ...)`)
        pinned = tuple(dict.fromkeys(c for a in chain for c in criteria.get(a.name, ())))
        facts.append(TableFact(table, tuple(dict.fromkeys(columns)),
                               f"sqlalchemy ({decl.path})", tuple(dict.fromkeys(primary)),
                               tuple(keys), model=name,  # type: ignore[arg-type]
                               read_criteria=pinned))
    # `ForeignKey(Org.id)` names a class: now its table is known
    resolved: List[TableFact] = []
    for fact in facts:
        keys_out = []
        for key in fact.foreign_keys:
            if isinstance(key, ForeignKey):
                keys_out.append(key)
                continue
            column, table, target = key
            if table.startswith("@"):
                table = tables.get(table[1:], "")
                if not table:
                    continue
            keys_out.append(ForeignKey(column, table, target))
        resolved.append(TableFact(fact.name, fact.columns, fact.source, fact.primary_key,
                                  tuple(dict.fromkeys(keys_out)), fact.model,
                                  fact.read_criteria))
    return resolved


def model_facts(files: Sequence[Tuple[str, Optional[str], Optional[bytes]]]) -> List[TableFact]:
    """The pre-pass over a run's files."""
    from .base import project_trees
    return resolve([scan_file(path, tree) for path, tree in project_trees(files, MARKER)])

