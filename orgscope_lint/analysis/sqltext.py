"""The tenant scoping of SQL text, judged with the real PostgreSQL parser.

Any preset that meets SQL in the code (raw drivers, SQLAlchemy `text()`,
a database function's body) calls `judge()`:

    judge("SELECT * FROM threads t WHERE t.id = $1 AND t.account_id = $2",
          tenant_key_for, columns_of)

gives one `TableUse` per table the text touches (FROM, JOIN, UPDATE, DELETE,
INSERT INTO, subqueries, CTEs, both arms of a UNION): its operation, whether
its tenant column is pinned to a value (a placeholder, a literal, a function
of neither, or a scoped table's tenant column through a join condition) and
which placeholders pin it. Placeholders of every driver style are normalised
first (`normalise()`): `$1`, `%s`, `%(name)s`, `:name`, `?`, and the holes
of Python f-strings / `.format` (sentinels the caller put in the text).

A table is pinned only by a conjunct of its statement's WHERE or of a join
condition: `col = v`, `col IN (v, ...)`, `col = ANY(v)`, `col IN (SELECT ...)`;
a disjunction or negation pins nothing. Correlated subqueries see their outer
statement's pins, never the other way round. Nothing here raises for bad
input: text PostgreSQL rejects is a `Judgement` with pglast's message.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Dict, FrozenSet, Iterator, List, Mapping, Optional, Tuple

from pglast import ast
from pglast.enums import A_Expr_Kind, BoolExprType, SetOperation, SubLinkType
from pglast.parser import ParseError, parse_sql

from ..catalog import SYSTEM_SCHEMAS

# the sentinels a caller writes for a Python hole: HOLE_OPEN + index + HOLE_CLOSE
HOLE_OPEN, HOLE_CLOSE = "\ue000", "\ue001"

READ, WRITE, INSERT = "read", "write", "insert"


TenantKeyFor = Callable[[str], Optional[str]]  # table -> tenant column (None: not tenant)
ColumnsOf = Callable[[str], Optional[FrozenSet[str]]]  # table -> known columns


@dataclass(frozen=True)
class TableUse:
    table: str
    operation: str  # read | write | insert
    statement: str  # SELECT | UPDATE | DELETE | INSERT
    key: Optional[str]  # the table's tenant column; None for a global table
    scoped: bool
    pinned: Tuple[str, ...] = ()  # columns pinned to a value (for messages)
    params: FrozenSet[str] = frozenset()  # placeholder keys pinning the tenant column
    why: str = ""
    # columns its conditions test without pinning: "expires_at (condition)", "thread_id (join)"
    conditions: Tuple[str, ...] = ()  # why an insert is not scoped, ...


@dataclass
class Judgement:
    uses: List[TableUse] = field(default_factory=list)
    error: Optional[str] = None  # the text does not parse (pglast's message)
    hole_error: bool = False  # ... because a Python hole is not in a value position

    @property
    def statements(self) -> Tuple[str, ...]:
        return tuple(dict.fromkeys(u.statement for u in self.uses))


# -- placeholders -------------------------------------------------------------
_PLACEHOLDER = re.compile(
    r"""(?P<skip>'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|(?P<tag>\$[A-Za-z_]*\$).*?(?P=tag))
      |\$(?P<dollar>\d+)
      |%\((?P<pyname>[A-Za-z_]\w*)\)s
      |(?P<percent>%s)
      |(?P<escaped>%%)
      |(?<![:\w]):(?P<colon>[A-Za-z_]\w*)
      |(?P<qmark>\?)(?![|&])
      |\$""" + HOLE_OPEN + r"(?P<numbered>\d+)" + HOLE_CLOSE + r"""
      |""" + HOLE_OPEN + r"(?P<hole>\d+)" + HOLE_CLOSE,
    re.S | re.X)


def normalise(text: str) -> Tuple[str, Dict[int, str]]:
    """(text with every placeholder as `$n`, n -> its key). Keys: "0", "1", ...
    for positional parameters (0-based: `$1` and the first `%s` are "0"),
    ":name" for named ones (`%(name)s`, `:name`), "hole:i" for Python holes."""
    numbers: Dict[str, int] = {}
    positional = [0]

    def number(key: str) -> str:
        if key not in numbers:
            numbers[key] = len(numbers) + 1
        return f"${numbers[key]}"

    def replace(match: "re.Match[str]") -> str:
        if match.group("skip") is not None:
            return match.group(0)
        if match.group("dollar") is not None:
            return number(str(int(match.group("dollar")) - 1))
        if match.group("escaped") is not None:
            return "%"
        if match.group("pyname") is not None or match.group("colon") is not None:
            return number(":" + (match.group("pyname") or match.group("colon")))
        if match.group("hole") is not None:
            return number("hole:" + match.group("hole"))
        if match.group("numbered") is not None:
            # f"... = ${n}": a placeholder whose number the code computes
            return number("numbered:" + match.group("numbered"))
        key = str(positional[0])
        positional[0] += 1
        return number(key)

    out = _PLACEHOLDER.sub(replace, text)
    return out, {n: key for key, n in numbers.items()}


# -- judging ------------------------------------------------------------------
_HOLE = re.compile(HOLE_OPEN + r"\d+" + HOLE_CLOSE)


def judge(text: str, tenant_key_for: TenantKeyFor, columns_of: ColumnsOf,
          names: Mapping[str, str] = {}) -> Judgement:
    """The tables `text` touches and how each is scoped. `names` maps bare
    identifiers to parameter keys (a database function's arguments)."""
    sql, keys = normalise(text)
    try:
        statements = _parse(sql)
    except ParseError as exc:
        message = str(exc.args[0] if exc.args else exc)
        hole = False
        if _HOLE.search(text):
            # is it the hole? with identifiers in its place the text parses
            try:
                _parse(normalise(_HOLE.sub("hole_identifier", text))[0])
                hole = True
            except ParseError:
                pass
        if hole:
            message = ("a {…} hole is in an identifier or keyword position (a table or "
                       f"column name): {message}")
        return Judgement(error=message, hole_error=hole)
    except Exception as exc:  # pglast must never take a run down
        return Judgement(error=f"{type(exc).__name__}: {exc}")
    judge_ = _Judge(tenant_key_for, columns_of, keys, dict(names))
    for raw in statements:
        judge_.statement(raw.stmt, _Scope(None, {}), frozenset())
    if judge_.condition_hole:
        return Judgement(error="a {…} hole stands for a whole condition (WHERE {…}), not a "
                               "value", hole_error=True)
    return Judgement(judge_.uses)


@lru_cache(maxsize=2048)
def _parse(sql: str):
    return parse_sql(sql)


class _Scope:
    """The tables of one SELECT / UPDATE / DELETE, and the equalities among its
    columns and values (a union-find, copied into subqueries)."""

    def __init__(self, parent: Optional["_Scope"], union: Dict[tuple, tuple]) -> None:
        self.parent = parent
        self.aliases: Dict[str, Optional[str]] = {}  # alias -> table (None: not a table)
        self.order: List[Tuple[str, str]] = []  # (alias, operation) of real tables
        self.union = dict(union)
        self.values: Dict[tuple, FrozenSet[str]] = {}  # node -> placeholder keys
        if parent is not None:
            self.values.update(parent.values)

    def find(self, node: tuple) -> tuple:
        while self.union.get(node, node) != node:
            node = self.union[node]
        return node

    def unite(self, a: tuple, b: tuple) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.union[ra] = rb


_VALUE = ("value",)


class _Judge:
    def __init__(self, tenant_key_for: TenantKeyFor, columns_of: ColumnsOf,
                 keys: Dict[int, str], names: Dict[str, str]) -> None:
        self.tenant_key_for = tenant_key_for
        self.columns_of = columns_of
        self.keys = keys
        self.names = names
        self.uses: List[TableUse] = []
        self._ids = 0
        self.seen: set = set()  # column nodes met in conditions
        self.condition_hole = False  # a Python hole is a whole condition
        self.system: set = set()  # tables met in a platform schema (auth.users)

    def seen_col(self, scope: _Scope, alias: str, column: str) -> tuple:
        node = n_col(scope, alias, column)
        self.seen.add(node)
        return node

    # -- statements ---------------------------------------------------------
    def statement(self, node, parent: _Scope, ctes: FrozenSet[str]) -> Optional[_Scope]:
        if isinstance(node, ast.SelectStmt):
            return self.select(node, parent, ctes)
        if isinstance(node, (ast.UpdateStmt, ast.DeleteStmt, ast.InsertStmt)):
            ctes = self.with_(node.withClause, parent, ctes)
            if isinstance(node, ast.InsertStmt):
                self.insert(node, parent, ctes)
                return None
            scope = _Scope(parent, parent.union)
            kind = "UPDATE" if isinstance(node, ast.UpdateStmt) else "DELETE"
            self.add_table(scope, node.relation, ctes, WRITE)
            extra = node.fromClause if isinstance(node, ast.UpdateStmt) else node.usingClause
            quals = self.from_items(scope, extra or (), ctes)
            self.finish(scope, [node.whereClause, *quals], kind, ctes,
                        [node.whereClause, *(getattr(node, "targetList", None) or ())])
            return scope
        if isinstance(node, ast.ExplainStmt):
            return self.statement(node.query, parent, ctes)
        return None

    def with_(self, clause, parent: _Scope, ctes: FrozenSet[str]) -> FrozenSet[str]:
        if clause is None:
            return ctes
        for cte in clause.ctes or ():
            ctes = ctes | {cte.ctename}
            self.statement(cte.ctequery, parent, ctes)
        return ctes

    def select(self, node: ast.SelectStmt, parent: _Scope, ctes: FrozenSet[str]) -> _Scope:
        ctes = self.with_(node.withClause, parent, ctes)
        if node.op is not None and node.op != SetOperation.SETOP_NONE:
            self.select(node.larg, parent, ctes)
            self.select(node.rarg, parent, ctes)
            return _Scope(parent, parent.union)
        scope = _Scope(parent, parent.union)
        if node.valuesLists:
            for row in node.valuesLists:
                for expression in row:
                    self.subqueries(expression, scope, ctes)
            return scope
        quals = self.from_items(scope, node.fromClause or (), ctes)
        self.finish(scope, [node.whereClause, *quals], "SELECT", ctes,
                    [node.whereClause, node.havingClause, *(node.targetList or ())])
        return scope

    def insert(self, node: ast.InsertStmt, parent: _Scope, ctes: FrozenSet[str]) -> None:
        relation = node.relation
        table = relation.relname
        if relation.schemaname in SYSTEM_SCHEMAS:
            table = f"{relation.schemaname}.{table}"
        key = self.tenant_key_for(table) if table not in ctes \
            and relation.schemaname not in SYSTEM_SCHEMAS else None
        source = node.selectStmt
        columns = [c.name for c in node.cols or ()]
        if not columns:
            known = self.columns_of(table)
            columns = list(known) if known and isinstance(known, tuple) else []
        rows: List[list] = []
        source_scope: Optional[_Scope] = None
        if isinstance(source, ast.SelectStmt) and source.valuesLists:
            rows = [list(row) for row in source.valuesLists]
            for row in rows:
                for expression in row:
                    self.subqueries(expression, parent, ctes)
        elif isinstance(source, ast.SelectStmt):
            source_scope = self.select(source, parent, ctes)
            targets = source.targetList or ()
            rows = [[t.val for t in targets]]
        if table in ctes:
            return
        if key is None:
            self.uses.append(TableUse(table, INSERT, "INSERT", None, True, tuple(columns)))
            return
        if not columns and rows:
            self.uses.append(TableUse(table, INSERT, "INSERT", key, False, (),
                                      why="no column list and the table's columns are unknown"))
            return
        scoped = bool(rows) and key in columns
        params: FrozenSet[str] = frozenset()
        if scoped:
            index = columns.index(key)
            for row in rows:
                if index >= len(row):
                    scoped = False
                    break
                value = row[index]
                pinned = self.value_keys(value, source_scope) if source_scope is not None \
                    else self.value_keys(value, None)
                if pinned is None:
                    scoped = False
                    break
                params |= pinned
        self.uses.append(TableUse(table, INSERT, "INSERT", key, scoped,
                                  tuple(columns) if scoped or key not in columns else
                                  tuple(c for c in columns if c != key), params))

    # -- FROM ---------------------------------------------------------------
    def add_table(self, scope: _Scope, node, ctes: FrozenSet[str], operation: str) -> str:
        alias = node.alias.aliasname if node.alias is not None else node.relname
        real = node.relname not in ctes or node.schemaname is not None
        table = node.relname
        if node.schemaname in SYSTEM_SCHEMAS:  # `auth.users` is not the app's `users`
            table = f"{node.schemaname}.{node.relname}"
            self.system.add(table)
        scope.aliases[alias] = table if real else None
        if real:
            scope.order.append((alias, operation))
        return alias

    def from_items(self, scope: _Scope, items, ctes: FrozenSet[str]) -> list:
        quals: list = []
        stack = list(items)[::-1]
        while stack:
            item = stack.pop()
            if isinstance(item, ast.RangeVar):
                self.add_table(scope, item, ctes, READ)
            elif isinstance(item, ast.JoinExpr):
                if item.quals is not None:
                    quals.append(item.quals)
                stack.extend([item.rarg, item.larg])
            elif isinstance(item, ast.RangeSubselect):
                self.statement(item.subquery, scope, ctes)
                if item.alias is not None:
                    scope.aliases[item.alias.aliasname] = None
            elif getattr(item, "alias", None) is not None:  # functions, ...
                scope.aliases[item.alias.aliasname] = None
        return quals

    # -- WHERE ----------------------------------------------------------------
    def finish(self, scope: _Scope, conditions, kind: str, ctes: FrozenSet[str],
               nested) -> None:
        tested = set()
        for condition in conditions:
            for conjunct in _conjuncts(condition):
                self.equality(conjunct, scope)
                label = "join" if _is_join_condition(conjunct) else "condition"
                for part in _walk(conjunct):
                    if isinstance(part, ast.ColumnRef):
                        node = self.column(part, scope)
                        if node is not None and node[1] == id(scope):
                            tested.add((node[2], f"{node[3]} ({label})", node[3]))
                for part in ([conjunct] if not isinstance(conjunct, ast.BoolExpr)
                             else list(_walk(conjunct))):
                    if isinstance(part, ast.ParamRef) and self.keys.get(
                            part.number, "").startswith("hole:"):
                        if part is conjunct or any(part is a for a in getattr(
                                _parent_bool(conjunct, part), "args", ())):
                            self.condition_hole = True
        for alias, operation in scope.order:
            table = scope.aliases[alias]
            key = None if table in self.system else self.tenant_key_for(table)
            pinned = tuple(sorted({node[3] for node in self.seen if node[1] == id(scope)
                                   and node[2] == alias
                                   and self.pinned(scope, node) is not None}))
            params = self.pinned(scope, n_col(scope, alias, key)) if key else None
            self.uses.append(TableUse(table, operation, kind, key,
                                      key is None or params is not None, pinned,
                                      params or frozenset(), conditions=tuple(sorted(
                                          label for a, label, c in tested if a == alias
                                          and c not in pinned))))
        for expression in nested:
            if expression is not None:
                self.subqueries(expression, scope, ctes)

    def subqueries(self, node, scope: _Scope, ctes: FrozenSet[str]) -> None:
        for select in _selects_in(node):
            self.statement(select, scope, ctes)

    def pinned(self, scope: _Scope, node: tuple) -> Optional[FrozenSet[str]]:
        """The placeholder keys pinning `node`'s class, or None if nothing pins it."""
        root = scope.find(node)
        found: Optional[FrozenSet[str]] = None
        for member in set(scope.union) | {node} | set(scope.values):
            if scope.find(member) == root and member in scope.values:
                found = (found or frozenset()) | scope.values[member]
        return found

    def equality(self, node, scope: _Scope) -> None:
        if isinstance(node, ast.A_Expr):
            name = node.name[0].sval if node.name else None
            if name != "=":
                return
            if node.kind == A_Expr_Kind.AEXPR_OP:
                left, right = self.operand(node.lexpr, scope), self.operand(node.rexpr, scope)
            elif node.kind in (A_Expr_Kind.AEXPR_IN, A_Expr_Kind.AEXPR_OP_ANY):
                left = self.operand(node.lexpr, scope)
                items = node.rexpr if isinstance(node.rexpr, (list, tuple)) else [node.rexpr]
                keys = [self.value_keys(item, scope) for item in items]
                if any(k is None for k in keys):
                    return
                right = self.value_node(scope, frozenset().union(*keys))
            else:
                return
            if left is not None and right is not None:
                scope.unite(left, right)
        elif isinstance(node, ast.SubLink) and node.subLinkType == SubLinkType.ANY_SUBLINK:
            operator = node.operName[0].sval if node.operName else "="
            left = self.operand(node.testexpr, scope) if operator == "=" else None
            if left is not None:  # `col IN (SELECT ...)`: the subquery is judged itself
                scope.unite(left, self.value_node(scope, frozenset()))

    def value_node(self, scope: _Scope, keys: FrozenSet[str]) -> tuple:
        self._ids += 1
        node = ("value", self._ids)
        scope.values[node] = keys
        return node

    def operand(self, node, scope: _Scope) -> Optional[tuple]:
        """A column (as a union-find node) or a value (a fresh value node)."""
        while isinstance(node, ast.TypeCast):
            node = node.arg
        if isinstance(node, ast.ColumnRef):
            resolved = self.column(node, scope)
            if resolved is not None:
                return resolved
        keys = self.value_keys(node, scope)
        return self.value_node(scope, keys) if keys is not None else None

    def column(self, node: ast.ColumnRef, scope: _Scope) -> Optional[tuple]:
        fields = [f.sval for f in node.fields if isinstance(f, ast.String)]
        if len(fields) != len(node.fields) or not fields:
            return None
        column = fields[-1]
        if len(fields) == 1 and column in self.names and not self.known_column(scope, column):
            return None  # a database function's argument, not a column
        if len(fields) >= 2:
            alias = fields[-2]
            current: Optional[_Scope] = scope
            while current is not None:
                if alias in current.aliases:
                    return self.seen_col(current, alias, column)
                current = current.parent
            return None
        current = scope
        while current is not None:
            owner = self.owner(current, column)
            if owner is not None:
                return self.seen_col(current, owner, column)
            current = current.parent
        return None

    def known_column(self, scope: Optional[_Scope], column: str) -> bool:
        """Some table in reach is known to have `column`."""
        while scope is not None:
            for table in scope.aliases.values():
                columns = self.columns_of(table) if table is not None else None
                if columns is not None and column in columns:
                    return True
            scope = scope.parent
        return False

    def owner(self, scope: _Scope, column: str) -> Optional[str]:
        unknown = []
        for alias, table in scope.aliases.items():
            if table is None:
                continue
            columns = self.columns_of(table)
            if columns is None:
                unknown.append(alias)
            elif column in columns:
                return alias
        return unknown[0] if len(unknown) == 1 and len(scope.order) == 1 else (
            unknown[0] if unknown and column == self.tenant_key_for(
                scope.aliases[unknown[0]] or "") else None)

    def value_keys(self, node, scope: Optional[_Scope]) -> Optional[FrozenSet[str]]:
        """The placeholder keys in a value expression, or None when it is not a
        value (it reads a column of the statement)."""
        keys = set()
        for item in _walk(node):
            if isinstance(item, ast.ParamRef):
                keys.add(self.keys.get(item.number, str(item.number - 1)))
            elif isinstance(item, ast.ColumnRef):
                fields = [f.sval for f in item.fields if isinstance(f, ast.String)]
                if len(fields) == 1 and fields[0] in self.names and (
                        scope is None or self.column(item, scope) is None):
                    keys.add(self.names[fields[0]])
                    continue
                if scope is None:
                    return None
                resolved = self.column(item, scope)
                if resolved is None and len(fields) >= 2 and not _alias_in_reach(
                        scope, fields[-2]):
                    continue  # `r.id`: a record variable of a function body, a value
                if resolved is None or self.pinned(scope, resolved) is None:
                    return None
                keys |= self.pinned(scope, resolved) or frozenset()
        return frozenset(keys)


def _alias_in_reach(scope: Optional[_Scope], alias: str) -> bool:
    while scope is not None:
        if alias in scope.aliases:
            return True
        scope = scope.parent
    return False


def n_col(scope: _Scope, alias: str, column: str) -> tuple:
    return ("col", id(scope), alias, column)


def _conjuncts(node) -> Iterator:
    stack = [node]
    while stack:
        item = stack.pop()
        if item is None:
            continue
        if isinstance(item, ast.BoolExpr) and item.boolop == BoolExprType.AND_EXPR:
            stack.extend(item.args)
        else:
            yield item


def _is_join_condition(node) -> bool:
    """`a.x = b.y`: two columns, no value."""
    return isinstance(node, ast.A_Expr) and node.kind == A_Expr_Kind.AEXPR_OP and isinstance(
        node.lexpr, ast.ColumnRef) and isinstance(node.rexpr, ast.ColumnRef)


def _parent_bool(root, target):
    """The BoolExpr directly holding `target` under `root`, if any."""
    for item in _walk(root):
        if isinstance(item, ast.BoolExpr) and any(a is target for a in item.args):
            return item
    return None


def _children(node) -> Iterator:
    if isinstance(node, (list, tuple)):
        yield from node
        return
    if not isinstance(node, ast.Node):
        return
    for name in node:
        value = getattr(node, name)
        if isinstance(value, (ast.Node, list, tuple)):
            yield value


def _walk(node) -> Iterator:
    """Every node of an expression, not descending into subqueries."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.SubLink):
            continue
        if isinstance(item, ast.Node):
            yield item
        stack.extend(_children(item))


def _selects_in(node) -> Iterator:
    """The outermost SELECTs inside an expression (subqueries)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.SelectStmt):
            yield item
            continue
        stack.extend(_children(item))
