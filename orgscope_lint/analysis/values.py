"""Abstract values for the flow analysis: dictionaries of filter keys, lists of
rows, and where a scalar value came from.

A `DictVal` answers the one question the tenant rules ask of a filter or a
row: is key K present on every path (`must`), on some path (`may`), or can we
not tell (`opaque`: part of the dict comes from something we cannot see)?
"""
from __future__ import annotations

from typing import Dict, FrozenSet, Mapping, Optional, Tuple, Union

import libcst as cst

EMPTY: FrozenSet[str] = frozenset()


class Origin:
    """Where a value came from: a function parameter, or an expression together
    with the reaching definitions at the point it was evaluated (so a later
    analysis can keep tracing the names inside it)."""

    __slots__ = ("kind", "name", "node", "defs")

    def __init__(self, kind: str, name: Optional[str] = None,
                 node: Optional[cst.CSTNode] = None,
                 defs: Optional[Mapping[str, FrozenSet["Origin"]]] = None) -> None:
        self.kind = kind  # "param" | "expr" | "unknown"
        self.name = name
        self.node = node
        self.defs = defs

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Origin({self.kind}, {self.name or type(self.node).__name__})"


UNKNOWN_ORIGIN = Origin("unknown")
Origins = FrozenSet[Origin]


class DictVal:
    """A dict whose keys we track. Immutable: every operation returns a new one.

    `via` names the project function that returned it (`_tenant_filter()`),
    for messages; it is not part of the value (equality ignores it)."""

    __slots__ = ("must", "may", "opaque", "values", "via")

    def __init__(self, must: FrozenSet[str] = EMPTY, may: FrozenSet[str] = EMPTY,
                 opaque: bool = False, values: Optional[Dict[str, Origins]] = None,
                 via: Optional[str] = None) -> None:
        self.must = must
        self.may = may | must
        self.opaque = opaque
        self.values = values or {}
        self.via = via

    def with_key(self, key: str, origins: Origins) -> "DictVal":
        values = dict(self.values)
        values[key] = origins
        return DictVal(self.must | {key}, self.may | {key}, self.opaque, values, self.via)

    def without_key(self, key: str) -> "DictVal":
        values = dict(self.values)
        values.pop(key, None)
        return DictVal(self.must - {key}, self.may - {key}, self.opaque, values, self.via)

    def returned_by(self, via: str) -> "DictVal":
        return DictVal(self.must, self.may, self.opaque, self.values, via)

    def merged(self, other: "DictVal") -> "DictVal":
        """`{**self, **other}`: keys of both."""
        values = dict(self.values)
        for key, origins in other.values.items():
            values[key] = origins if key in other.must else values.get(key, frozenset()) | origins
        return DictVal(self.must | other.must, self.may | other.may,
                       self.opaque or other.opaque, values, self.via or other.via)

    def join(self, other: "DictVal") -> "DictVal":
        """Control-flow join: must = intersection, may = union. Paths that each
        filter by something, but by different keys, still filter: that stays
        visible as one key no value pins (`(access_token | refresh_token)`)."""
        values = dict(self.values)
        for key, origins in other.values.items():
            values[key] = values.get(key, frozenset()) | origins
        must = self.must & other.must
        if self.must and other.must and not must:
            label = "(" + " | ".join(sorted({_alternative(self.must), _alternative(other.must)})) + ")"
            must = frozenset({label})
            values[label] = frozenset()
        return DictVal(must, self.may | other.may | must, self.opaque or other.opaque, values,
                       self.via if self.via == other.via else None)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, DictVal) and self.must == other.must
                and self.may == other.may and self.opaque == other.opaque
                and self.values == other.values)

    def __hash__(self) -> int:
        return hash((self.must, self.may, self.opaque))


def _alternative(keys: FrozenSet[str]) -> str:
    """One path's keys, as a `(a | b)` label shows them."""
    if len(keys) == 1:
        (key,) = keys
        return key[1:-1] if key.startswith("(") and key.endswith(")") else key
    return " & ".join(sorted(keys))


OPAQUE = DictVal(opaque=True)


class ListVal:
    """A list of rows (bulk inserts): each element's dict value, or opaque."""

    __slots__ = ("rows", "opaque")

    def __init__(self, rows: Tuple[DictVal, ...] = (), opaque: bool = False) -> None:
        self.rows = rows
        self.opaque = opaque

    def appended(self, row: DictVal) -> "ListVal":
        return ListVal(self.rows + (row,), self.opaque)

    def extended(self, other: "ListVal") -> "ListVal":
        return ListVal(self.rows + other.rows, self.opaque or other.opaque)

    def join(self, other: "ListVal") -> "ListVal":
        rows = self.rows + tuple(r for r in other.rows if r not in self.rows)
        return ListVal(rows, self.opaque or other.opaque)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ListVal) and self.rows == other.rows and self.opaque == other.opaque

    def __hash__(self) -> int:
        return hash((len(self.rows), self.opaque))


class NoneVal:
    """The literal `None` (or a missing argument): no filter at all."""

    __slots__ = ()


NONE = NoneVal()


# the QueryVal methods of a statement (a query builder), as opposed to a row
# or an instance: supabase's operations, SQLAlchemy's statements and 1.x
# queries, Django querysets
STATEMENTS = frozenset({"select", "update", "delete", "insert", "upsert", "query", "qs"})


class QueryVal:
    """A query builder (supabase-py / postgrest) held in a variable between
    statements: its table, the operation once chosen (`select`, `update`, ...),
    the filter keys applied so far and, for an insert or update, the row(s).

    Filters only ever narrow a query, so they live in a `DictVal` and join at
    branches like any filter dict (must = intersection, may = union)."""

    __slots__ = ("table", "table_source", "method", "filters", "data", "negated", "built")

    def __init__(self, table: Optional[str], table_source: str, method: Optional[str] = None,
                 filters: Optional[DictVal] = None, data: Optional["Value"] = None,
                 negated: bool = False, built: Optional[Tuple[cst.CSTNode, cst.CSTNode]] = None
                 ) -> None:
        self.table = table
        self.table_source = table_source  # literal | param | unknown
        self.method = method
        self.filters = filters if filters is not None else DictVal()
        self.data = data
        self.negated = negated  # `.not_` applies to the next filter
        # (expression, statement) that built the query (table and operation
        # chosen) when it was stored in a variable: where a finding is
        # reported, the place to add the filter (analysis/flow.py sets it)
        self.built = built

    def replace(self, **changes) -> "QueryVal":
        fields = {name: getattr(self, name) for name in self.__slots__}
        fields.update(changes)
        return QueryVal(**fields)

    def join(self, other: "QueryVal") -> Optional["QueryVal"]:
        if self.method != other.method:
            return None
        same_table = (self.table, self.table_source) == (other.table, other.table_source)
        return QueryVal(self.table if same_table else None,
                        self.table_source if same_table else "unknown", self.method,
                        self.filters.join(other.filters), join_values(self.data, other.data),
                        self.negated or other.negated,
                        self.built if self.built == other.built else None)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, QueryVal) and self.table == other.table
                and self.table_source == other.table_source and self.method == other.method
                and self.filters == other.filters and self.data == other.data
                and self.negated == other.negated)

    def __hash__(self) -> int:
        return hash((self.table, self.method, self.filters))


Value = Union[DictVal, ListVal, NoneVal, QueryVal]


def join_values(a: Optional[Value], b: Optional[Value]) -> Optional[Value]:
    if a is None or b is None:
        return None
    if isinstance(a, DictVal) and isinstance(b, DictVal):
        return a.join(b)
    if isinstance(a, ListVal) and isinstance(b, ListVal):
        return a.join(b)
    if isinstance(a, QueryVal) and isinstance(b, QueryVal):
        return a.join(b)
    if a is b:
        return a
    if isinstance(a, NoneVal) and isinstance(b, DictVal):
        return DictVal(EMPTY, b.may, b.opaque, b.values)
    if isinstance(b, NoneVal) and isinstance(a, DictVal):
        return DictVal(EMPTY, a.may, a.opaque, a.values)
    return None
