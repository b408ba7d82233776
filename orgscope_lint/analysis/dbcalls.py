"""Database sinks, whatever preset recognised them: the call, its operation,
table, and the filter or rows value; and the classification of each sink's
tenant scoping from the flow analysis' abstract values."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Optional, Tuple

import libcst as cst

from ..config import Config
from ..model import Operation, Outcome
from ..passed_values import missing_key
from .module import ModuleInfo, Unit
from .syntax import string_value
from .values import DictVal, ListVal, NoneVal, Origin, Value

SCOPED, CONDITIONAL, UNSCOPED, EMPTY_FILTER, UNKNOWN, GLOBAL, INFRASTRUCTURE = (
    Outcome.SCOPED, Outcome.CONDITIONAL, Outcome.UNSCOPED, Outcome.EMPTY, Outcome.UNKNOWN,
    Outcome.GLOBAL, Outcome.INFRASTRUCTURE)


@dataclass
class Sink:
    call: cst.Call
    unit: Unit
    method: str
    operation: Operation
    table: Optional[str]
    table_source: str  # literal | param | unknown
    value: Optional[Value]  # the filter (read/write) or the row(s) (insert)
    value_node: Optional[cst.CSTNode]
    statement: Optional[cst.CSTNode] = None
    # why an opaque operation cannot be verified (a database function)
    detail: str = ""
    # why this call cannot be verified at all (SQL text the tool cannot read or
    # parse): its outcome is unknown, whatever the table
    unverified: str = ""
    # added to the classification's detail (the SQL statement's other tables)
    note: str = ""
    # no fix can be built for this call: why (`--diff` says it)
    fix_reason: str = ""
    # where a sink with no call of its own (a framework's implicit query, `call`
    # then a synthetic node used as its key and snippet) is reported
    anchor: Optional[cst.CSTNode] = None
    # why a scoped call is scoped when not by its own filter (a session-wide
    # `with_loader_criteria`): the scoped outcome's detail, the report's evidence
    scoped_by: str = ""
    # (expression, statement) that built the query this call runs, when it
    # was kept in a variable (`QueryVal.built`): the finding goes there
    built: Optional[Tuple[cst.CSTNode, cst.CSTNode]] = None

    def stored(self) -> Optional[Tuple[cst.CSTNode, cst.CSTNode]]:
        """Where the query was built, when that is another statement than the
        one running it."""
        if self.built is not None and self.built[1] is not self.statement \
                and self.anchor is None:
            return self.built
        return None

    def join(self, value: Optional[Value]) -> None:
        from .values import join_values
        joined = join_values(self.value, value)
        self.value = joined if joined is not None else self.value


@dataclass
class Classified:
    outcome: Outcome
    tenant_key: Optional[str]
    detail: str = ""
    tenant_origins: FrozenSet[Origin] = frozenset()
    # the proof of tenancy used or missing (analysis/proofs.py), whose `{line}`
    # in the detail is the line of its node
    proof: Optional[object] = None


def classify(sink: Sink, config: Config, tenant_key_for=None,
             is_tenant_table=None) -> Classified:
    """scoped / conditional / unscoped / empty / unknown (or global, infrastructure)."""
    result = _classify(sink, config, tenant_key_for, is_tenant_table)
    if sink.scoped_by and result.outcome == SCOPED:
        result.detail = sink.scoped_by
    if sink.note and result.outcome not in (SCOPED, GLOBAL):
        result.detail = f"{result.detail} ({sink.note})" if result.detail else sink.note
    return result


def _classify(sink: Sink, config: Config, tenant_key_for, is_tenant_table) -> Classified:
    if sink.unverified:
        key = (tenant_key_for or config.tenant_key_for)(sink.table) if sink.table else None
        return Classified(UNKNOWN, key, sink.unverified)
    if sink.operation == Operation.OPAQUE:
        if isinstance(sink.value, DictVal) and config.tenant_key in sink.value.must:
            # a database function given its tenant parameter (db.rpc-tenant-params)
            return Classified(SCOPED, config.tenant_key, sink.detail,
                              sink.value.values.get(config.tenant_key, frozenset()))
        return Classified(UNKNOWN, None, sink.detail)
    if sink.table_source == "param":
        return Classified(INFRASTRUCTURE, None, "table is a parameter (generic wrapper)")
    if sink.table is None:
        return Classified(UNKNOWN, None, "table name is not a literal")
    is_tenant = is_tenant_table or config.is_tenant_table
    if not is_tenant(sink.table):
        return Classified(GLOBAL, None, "global table")
    key = (tenant_key_for or config.tenant_key_for)(sink.table)
    value = sink.value
    if sink.operation == Operation.INSERT:
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
    return Classified(UNSCOPED, key, f"filters by {keys} only{via_note(value, key)}")


def via_note(value: DictVal, key: str) -> str:
    """Where a filter or row without the tenant key was built, when a project
    function returned it: " (built by `_tenant_filter()`, which puts `org`
    under "organization", not "org_id")"."""
    if not value.via:
        return ""
    return f" (built by {value.via}, {missing_key(value.must, key)})"


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


def table_argument(node: Optional[cst.CSTNode], info: ModuleInfo,
                   unit: Optional[Unit]) -> Tuple[Optional[str], str]:
    """(table, how it is known: literal | param | unknown) from the argument
    that names a table: a string, a module constant, or a parameter of the
    enclosing function (a generic wrapper)."""
    if node is None:
        return None, "unknown"
    value = string_value(node)
    if value is not None:
        return value, "literal"
    if isinstance(node, cst.Name):
        if node.value in info.constants:
            return info.constants[node.value], "literal"
        if unit is not None and any(p.name.value == node.value for p in unit.params):
            return None, "param"
    return None, "unknown"
