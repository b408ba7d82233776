"""The `dbservice` preset: a project's own DB wrapper class, as in the seed.

    db.select_one("agents", {"id": agent_id, "clerk_org_id": org})
    db.update("agents", {"id": agent_id, "clerk_org_id": org}, {"name": name})

Receivers are recognised by construction (`db = DatabaseService(...)`,
`self.x = DatabaseAdminService()`, module-level instances, local subclasses),
by annotation (`store: DatabaseService`, also inside `Optional[...]` or a
string), by conventional name (`db.receiver-names`), and `self` inside the
wrapper classes. Each method of `DBSERVICE_METHODS`, and each custom shape of
`db.methods`, says where the table, the filters and the rows sit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Mapping, Optional, Tuple

from ..lazy import lazy
from ..model import Operation
from .base import Detection, ModulePart, Preset

cst = lazy("libcst")
syntax = lazy("orgscope_lint.analysis.syntax")
dbcalls = lazy("orgscope_lint.analysis.dbcalls")
values = lazy("orgscope_lint.analysis.values")

OPERATIONS = ("read", "write", "insert")

# The seed's DatabaseService wrapper: method -> (operation, table position,
# filters position, data position); `None` means the call has no such argument.
DBSERVICE_METHODS: Dict[str, Tuple[str, int, Optional[int], Optional[int]]] = {
    "select": ("read", 0, 1, None),
    "select_one": ("read", 0, 1, None),
    "count": ("read", 0, 1, None),
    "update": ("write", 0, 1, 2),
    "delete": ("write", 0, 1, None),
    "insert": ("insert", 0, None, 1),
    "upsert": ("insert", 0, None, 1),
    "bulk_insert": ("insert", 0, None, 1),
}

_STRLIST = "a list of strings"
_METHOD_KEYS = {"name": "a string", "operation": "a string", "table": None, "filters": None,
                "data": None}


@dataclass(frozen=True)
class DbMethod:
    """A call shape: where the table, the filters and the data sit."""

    name: str
    operation: str
    table: Tuple[Optional[int], str]  # (position, keyword)
    filters: Optional[Tuple[Optional[int], str]]
    data: Optional[Tuple[Optional[int], str]]


class DbServiceModule(ModulePart):
    """Records every wrapper-style DB call of a module."""

    preset = "dbservice"

    def __init__(self, info, config, catalog) -> None:
        super().__init__(info, config, catalog)
        self.receiver_classes = self._receiver_classes()
        self.module_receivers = frozenset(
            name for name, value in info.module_assignments.items()
            if self._constructs_receiver(value))
        self.unit_receivers: FrozenSet[str] = frozenset()

    def _receiver_classes(self) -> FrozenSet[str]:
        classes = set(self.config.receiver_classes)
        changed = True
        while changed:  # local subclasses of receiver classes are receivers too
            changed = False
            for name, bases in self.info.classes.items():
                if name not in classes and any(syntax.last_part(b) in classes for b in bases):
                    classes.add(name)
                    changed = True
        return frozenset(classes)

    def start_unit(self, unit) -> None:
        self.unit = unit
        receivers = set(self.config.receiver_names) | self.module_receivers
        if unit.cls is not None:
            top_class = unit.cls.split(".")[0]
            if unit.cls in self.receiver_classes or top_class in self.receiver_classes:
                receivers.add("self")
            for attr, value in self.info.self_assignments.get(unit.cls, {}).items():
                if self._constructs_receiver(value):
                    receivers.add(attr)
        for param in unit.params:
            if param.annotation is not None and syntax.mentions_class(
                    param.annotation.annotation, self.receiver_classes):
                receivers.add(param.name.value)
        self.unit_receivers = frozenset(receivers)

    def _constructs_receiver(self, value) -> bool:
        if isinstance(value, cst.Call):
            name = syntax.dotted(value.func)
            return bool(name) and syntax.last_part(name) in self.receiver_classes
        return False

    def is_receiver(self, node, env) -> bool:
        name = syntax.dotted(node)
        if name is not None:
            if name in self.unit_receivers:
                return True
            if isinstance(node, cst.Name):
                origins = env.defs.get(name)
                if origins and all(o.kind == "expr" and o.node is not None
                                   and self._constructs_receiver(o.node) for o in origins):
                    return True
            return False
        return self._constructs_receiver(node)

    def is_sink_method(self, name: str) -> bool:
        return name in self.config.db_methods

    def __call__(self, call, env, analyzer) -> None:
        func = call.func
        if not isinstance(func, cst.Attribute):
            return
        method = self.config.db_methods.get(func.attr.value)
        if method is None or not self.is_receiver(func.value, env):
            return
        table, source = self._table(call, method)
        spec = method.filters if method.operation in ("read", "write") else method.data
        node = syntax.argument(call, *spec) if spec is not None else None
        value = analyzer.value_of(node, env) if node is not None else values.NONE
        self.record(dbcalls.Sink(call, self.unit, method.name, Operation(method.operation), table,
                                 source, value, node, statement=analyzer.statement_node))

    def _table(self, call, method: DbMethod) -> Tuple[Optional[str], str]:
        return dbcalls.table_argument(syntax.argument(call, *method.table), self.info,
                                      self.unit)


class DbServicePreset(Preset):
    name = "dbservice"
    settings = {
        "methods": ("an array of tables", _METHOD_KEYS),
        "receiver-names": _STRLIST,
        "receiver-classes": _STRLIST,
    }
    marker = None  # receivers are named by config, and custom methods are any word
    part = DbServiceModule

    def configure(self, config, db: Mapping[str, Any], where: str) -> None:
        for key, attr in (("receiver-names", "receiver_names"),
                          ("receiver-classes", "receiver_classes")):
            if key in db:
                setattr(config, attr, tuple(db[key]))
        methods: Dict[str, DbMethod] = {}
        if self.name in config.presets:
            for name, (operation, table, filters, data) in DBSERVICE_METHODS.items():
                methods[name] = DbMethod(
                    name, operation, (table, "table"),
                    None if filters is None else (filters, "filters"),
                    None if data is None else (data, "rows" if name == "bulk_insert" else "data"))
        for index, method in enumerate(db.get("methods", [])):
            methods[method.get("name", "")] = _db_method(method, index)
        config.db_methods = methods

    def implied(self, config) -> bool:
        # Always on: custom `db.methods` are wrapper-style shapes that ride on
        # its receivers, and the call-site analysis asks it which objects are
        # DB receivers (`db.get_call(...)` is then a project method). It
        # records DB calls only for `config.db_methods`: its own methods when
        # `db.presets` names it, and the custom ones.
        return True

    def detect(self, tree, text: str) -> Detection:
        """Wrapper classes: classes that define three or more of its methods."""
        import ast
        classes = [node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
                   and len(_method_names(node) & set(DBSERVICE_METHODS)) >= 3]
        return Detection(len(classes), {"receiver-classes": classes} if classes else {})


def _method_names(node) -> set:
    import ast
    return {item.name for item in node.body
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}


class ConfigValueError(ValueError):
    """A bad preset setting; config adds the file name."""


def _db_method(method: Mapping[str, Any], index: int) -> DbMethod:
    key = f"db.methods[{index}]"
    name = method.get("name")
    if not name:
        raise ConfigValueError(f"`{key}.name` is required")
    operation = method.get("operation")
    if operation not in OPERATIONS:
        raise ConfigValueError(f"`{key}.operation` must be one of read, write, insert; "
                               f"got {operation!r}")

    def place(value: Any, default_keyword: str) -> Tuple[Optional[int], str]:
        if isinstance(value, int):
            return (value, default_keyword)
        return (None, value)

    if "table" not in method:
        raise ConfigValueError(f"`{key}.table` is required (position or keyword)")
    table = place(method["table"], "table")
    filters = place(method["filters"], "filters") if "filters" in method else None
    data = place(method["data"], "data") if "data" in method else None
    if operation in ("read", "write") and filters is None:
        raise ConfigValueError(f"`{key}.filters` is required for a {operation} method")
    if operation == "insert" and data is None:
        raise ConfigValueError(f"`{key}.data` is required for an insert method")
    return DbMethod(name, operation, table, filters, data)
