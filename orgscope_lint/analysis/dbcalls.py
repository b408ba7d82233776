"""Database sinks of the wrapper (`dbservice`) style and custom call shapes:
recognise the receiver, read the table and the filter or rows, and classify
the tenant scoping of each call from the flow analysis' abstract values."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Optional, Tuple

import libcst as cst

from ..config import Config, DbMethod
from .flow import Env, FlowAnalyzer, dotted, string_value
from .module import ModuleInfo, Unit
from .values import NONE, DictVal, ListVal, NoneVal, Origin, Value

from ..model import (CONDITIONAL, EMPTY_FILTER, GLOBAL, INFRASTRUCTURE, SCOPED,  # noqa: F401
                     UNKNOWN, UNSCOPED)


@dataclass
class Sink:
    call: cst.Call
    unit: Unit
    method: str
    operation: str  # read | write | insert
    table: Optional[str]
    table_source: str  # literal | param | unknown
    value: Optional[Value]  # the filter (read/write) or the row(s) (insert)
    value_node: Optional[cst.CSTNode]
    preset: str = "dbservice"
    statement: Optional[cst.CSTNode] = None

    def join(self, value: Optional[Value]) -> None:
        from .values import join_values
        joined = join_values(self.value, value)
        self.value = joined if joined is not None else self.value


@dataclass
class Classified:
    outcome: str
    tenant_key: Optional[str]
    detail: str = ""
    tenant_origins: FrozenSet[Origin] = frozenset()


def classify(sink: Sink, config: Config, tenant_key_for=None,
             is_tenant_table=None) -> Classified:
    """scoped / conditional / unscoped / empty / unknown (or global, infrastructure)."""
    if sink.table_source == "param":
        return Classified(INFRASTRUCTURE, None, "table is a parameter (generic wrapper)")
    if sink.table is None:
        return Classified(UNKNOWN, None, "table name is not a literal")
    is_tenant = is_tenant_table or config.is_tenant_table
    if not is_tenant(sink.table):
        return Classified(GLOBAL, None, "global table")
    key = (tenant_key_for or config.tenant_key_for)(sink.table)
    value = sink.value
    if sink.operation == "insert":
        return _classify_rows(value, key)
    if value is None:
        return Classified(UNKNOWN, key, "filter comes from an expression the tool cannot see")
    if isinstance(value, NoneVal):
        return Classified(EMPTY_FILTER, key, "no filter")
    if isinstance(value, ListVal):
        return Classified(UNKNOWN, key, "filter is a list")
    return _classify_dict(value, key)


def _classify_dict(value: DictVal, key: str) -> Classified:
    origins = value.values.get(key, frozenset())
    if key in value.must:
        return Classified(SCOPED, key, "", origins)
    if key in value.may:
        return Classified(CONDITIONAL, key, "only on some paths", origins)
    if value.opaque:
        return Classified(UNKNOWN, key, "part of the filter comes from an expression the "
                                        "tool cannot see")
    if not value.must:
        return Classified(EMPTY_FILTER, key, "empty filter")
    keys = ", ".join(sorted(value.must))
    return Classified(UNSCOPED, key, f"filters by {keys} only")


def _classify_rows(value: Optional[Value], key: str) -> Classified:
    if value is None:
        return Classified(UNKNOWN, key, "row comes from an expression the tool cannot see")
    if isinstance(value, NoneVal):
        return Classified(UNKNOWN, key, "no row")
    rows = [value] if isinstance(value, DictVal) else list(value.rows)
    results = [_classify_dict(row, key) for row in rows]
    for outcome in (UNSCOPED, EMPTY_FILTER, CONDITIONAL, UNKNOWN):
        for result in results:
            if result.outcome == outcome:
                if outcome == EMPTY_FILTER:
                    return Classified(UNSCOPED, key, "empty row")
                return result
    if isinstance(value, ListVal) and value.opaque:
        return Classified(UNKNOWN, key, "some rows come from expressions the tool cannot see")
    if not results:
        return Classified(UNKNOWN, key, "no rows")
    origins = frozenset().union(*(r.tenant_origins for r in results))
    return Classified(SCOPED, key, "", origins)


class DbSinkHook:
    """Flow hook: records every DB call of the configured presets in a unit."""

    def __init__(self, info: ModuleInfo, config: Config) -> None:
        self.info = info
        self.config = config
        self.sinks: Dict[cst.Call, Sink] = {}
        self.receiver_classes = self._receiver_classes()
        self.unit: Optional[Unit] = None
        self.unit_receivers: frozenset = frozenset()

    def _receiver_classes(self) -> FrozenSet[str]:
        classes = set(self.config.receiver_classes)
        changed = True
        while changed:  # local subclasses of receiver classes are receivers too
            changed = False
            for name, bases in self.info.classes.items():
                if name not in classes and any(b.split(".")[-1] in classes for b in bases):
                    classes.add(name)
                    changed = True
        return frozenset(classes)

    def start_unit(self, unit: Unit) -> None:
        self.unit = unit
        receivers = set(self.config.receiver_names)
        for name, value in self.info.module_assignments.items():
            if self._constructs_receiver(value):
                receivers.add(name)
        if unit.cls is not None:
            top_class = unit.cls.split(".")[0]
            if unit.cls in self.receiver_classes or top_class in self.receiver_classes:
                receivers.add("self")
            for attr, value in self.info.self_assignments.get(unit.cls, {}).items():
                if self._constructs_receiver(value):
                    receivers.add(attr)
        for param in unit.params:
            if param.annotation is not None and self._annotation_is_receiver(
                    param.annotation.annotation):
                receivers.add(param.name.value)
        self.unit_receivers = frozenset(receivers)

    def _constructs_receiver(self, value: cst.CSTNode) -> bool:
        if isinstance(value, cst.Call):
            name = dotted(value.func)
            return bool(name) and name.split(".")[-1] in self.receiver_classes
        return False

    def _annotation_is_receiver(self, annotation: cst.CSTNode) -> bool:
        stack = [annotation]
        while stack:
            node = stack.pop()
            name = dotted(node)
            if name and name.split(".")[-1] in self.receiver_classes:
                return True
            if isinstance(node, cst.Subscript):
                stack.append(node.value)
                stack.extend(e.slice.value for e in node.slice if isinstance(e.slice, cst.Index))
            elif isinstance(node, cst.BinaryOperation):
                stack.extend((node.left, node.right))
            elif isinstance(node, cst.SimpleString):
                text = string_value(node)
                if text and any(c in text for c in self.receiver_classes):
                    return True
        return False

    def is_receiver(self, node: cst.CSTNode, env: Env) -> bool:
        name = dotted(node)
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

    def __call__(self, call: cst.Call, env: Env, analyzer: FlowAnalyzer) -> None:
        func = call.func
        if not isinstance(func, cst.Attribute):
            return
        method = self.config.db_methods.get(func.attr.value)
        if method is None or not self.is_receiver(func.value, env):
            return
        table, source = self._table(call, method)
        spec = method.filters if method.operation in ("read", "write") else method.data
        node = _argument(call, spec) if spec is not None else None
        value = analyzer.value_of(node, env) if node is not None else NONE
        if node is not None and value is None and isinstance(node, cst.Name):
            value = None  # a variable we do not track (parameter, call result)
        existing = self.sinks.get(call)
        if existing is not None:
            existing.join(value)
            return
        self.sinks[call] = Sink(call, self.unit, method.name, method.operation, table, source,
                                value, node, statement=analyzer.statement_node)

    def _table(self, call: cst.Call, method: DbMethod) -> Tuple[Optional[str], str]:
        node = _argument(call, method.table)
        if node is None:
            return None, "unknown"
        value = string_value(node)
        if value is not None:
            return value, "literal"
        if isinstance(node, cst.Name):
            if node.value in self.info.constants:
                return self.info.constants[node.value], "literal"
            if self.unit is not None and any(p.name.value == node.value for p in self.unit.params):
                return None, "param"
        return None, "unknown"


def _argument(call: cst.Call, spec: Tuple[Optional[int], str]) -> Optional[cst.CSTNode]:
    position, keyword = spec
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    if position is not None:
        positional = [a for a in call.args if a.keyword is None and not a.star]
        if position < len(positional):
            return positional[position].value
    return None
