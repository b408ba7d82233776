"""The `sqlalchemy` preset: SQLAlchemy ORM and Core statements as DB sinks.

    await session.execute(select(Agent).where(Agent.tenant_id == org, Agent.id == x))
    db.query(Agent).filter_by(id=x, tenant_id=org).first()
    session.get(Agent, x)                      # a read filtered by the primary key only
    session.add(Agent(name=n, tenant_id=org))  # an insert; the row's keys are tracked

The models are the table catalog (`sqlalchemy_models`, a stdlib-`ast`
pre-pass): `Agent` names the table `agents`, whose tenant column decides
whether a statement must pin it. Recognised here, with no session
configuration (a statement is recognised by what it is built from: a known
model, or a `select`/`update`/`delete`/`insert` imported from SQLAlchemy):

- 2.0 statements `select(M)`, `select(M.a, M.b)`, `update(M)`, `delete(M)`,
  `insert(M)`, refined by `.where(...)`, `.filter(...)`, `.filter_by(k=v)`,
  `.values(...)`, `.join(...)`, `.select_from(M)`, and run by a session's
  `execute / scalars / scalar / scalar_one(_or_none) / stream(_scalars)`,
  Flask-SQLAlchemy's `db.paginate / first_or_404 / one_or_404`;
- 1.x queries `session.query(M)...` and `M.query...` ending in `all / first /
  one / one_or_none / scalar / count / get / get_or_404 / first_or_404 /
  paginate` (reads), `.update({...})` and `.delete()` (writes);
- primary-key loads `session.get(M, id)`, `get_one`, `db.get_or_404(M, id)`;
- inserts: `M(...)` is a row whose keys come from the constructor and from
  later `obj.attr = v` stores, made an insert by `session.add / merge /
  add_all`; `insert(M).values(...)` and `session.execute(insert(M), rows)`.
  `session.add(obj)` of an object the tool did not see built (one loaded
  earlier) is an update of a row already read: not a sink;
- conditions: `M.col == x` (either side), `M.col.in_(...)`, `M.col.is_(x)`,
  `and_`/`&`, `or_`/`|` (pins only what every branch pins), `not_`/`~`, and
  `!=`, `<`, `like`, ... which never pin a column but are named in messages;
- joins: `select(Child).join(Parent)` (implicit: through a foreign key) or
  `.join(Parent, Child.parent_id == Parent.id)` with `Parent.tenant_id == x`
  scope the child through its foreign key; a join on anything else does not;
- statements kept in variables and refined across statements, branches and
  loops (a `QueryVal` in the flow analysis), in sync and async code;
- `text("...")` and raw SQL strings are unverified (opaque) sinks.

A statement on `self.model` (a generic repository) has a parameter table: it
is infrastructure, checked where the repository is used.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..lazy import lazy
from ..model import Operation
from .base import Detection, ModulePart, Preset, word_marker

cst = lazy("libcst")
syntax = lazy("orgscope_lint.analysis.syntax")
dbcalls = lazy("orgscope_lint.analysis.dbcalls")
values = lazy("orgscope_lint.analysis.values")

_MODULES = ("sqlalchemy", "sqlmodel", "flask_sqlalchemy")
_MODEL_ATTRIBUTES = frozenset({"model", "model_class", "__model__", "_model", "model_cls"})
_ROOTS = {"select": "select", "update": "update", "delete": "delete", "insert": "insert"}
_STATEMENT_OPERATION = {"select": Operation.READ, "update": Operation.WRITE,
                        "delete": Operation.WRITE, "insert": Operation.INSERT}
# session methods that run a statement given as their first argument
_EXECUTORS = frozenset({"execute", "scalars", "scalar", "scalar_one", "scalar_one_or_none",
                        "stream", "stream_scalars", "paginate", "first_or_404", "one_or_404",
                        "exec"})  # SQLModel's session.exec
# session methods only a database session has (`session.get(url)` may be `requests`)
_SESSION_RUNS = frozenset({"execute", "scalars", "scalar", "scalar_one", "scalar_one_or_none",
                           "stream", "stream_scalars", "exec"})
_PK_LOADERS = frozenset({"get", "get_one", "get_or_404"})
_QUERY_READS = frozenset({"all", "first", "one", "one_or_none", "scalar", "count",
                          "first_or_404", "one_or_404", "paginate", "get", "get_or_404"})
_QUERY_WRITES = frozenset({"update", "delete"})
_MODIFIERS = frozenset({
    "order_by", "limit", "offset", "options", "group_by", "having", "distinct",
    "execution_options", "returning", "with_for_update", "correlate", "prefix_with",
    "suffix_with", "slice", "enable_eagerloads", "populate_existing", "yield_per", "params",
    "with_only_columns", "add_columns", "add_column", "with_entities", "order", "unique",
    "with_hint", "execution_options", "undefer", "autoflush", "set_label_style",
    "on_conflict_do_nothing", "on_conflict_do_update", "inline", "return_defaults",
})
# a builder method that turns the statement into something else (not run as such)
_LEAVE = frozenset({"subquery", "cte", "alias", "scalar_subquery", "exists", "union",
                    "union_all", "label", "as_scalar", "lateral", "compile"})
_REFINEMENTS = frozenset({"where", "filter", "filter_by", "values", "join", "outerjoin",
                          "join_from", "select_from"})
_PINNING = frozenset({"in_", "is_", "any_"})
_NOT_PINNING = frozenset({"like", "ilike", "notlike", "notilike", "not_like", "not_ilike",
                          "notin_", "not_in", "is_not", "isnot", "startswith", "endswith",
                          "contains", "between", "match", "regexp_match", "op", "icontains",
                          "istartswith", "iendswith", "is_distinct_from", "isnot_distinct_from"})
_OPERATOR_WORDS = {"NotEqual": "!=", "LessThan": "<", "GreaterThan": ">", "LessThanEqual": "<=",
                   "GreaterThanEqual": ">=", "Is": "is", "IsNot": "is not", "In": "in",
                   "NotIn": "not in"}
JOIN = "\u22c8"  # filter keys for joined tables: "⋈parents"

# project helpers handed a statement that they run (`await repo.get_one_or_none(stmt)`,
# `self.paginate(stmt, ...)`): the call is the sink, through the helper
_RUNNER = re.compile(r"^_?(get|list|find|fetch|one|first|all|count|paginate|stream|execute|run|"
                     r"scalars?|exists|load|read)(_|$)")
# project helpers that return a statement on the repository's `model`
# (`self.get_base_statement()`, `self.base_query()`, `self.get_readable_statement(user)`)
_STATEMENT_HELPER = re.compile(r"(statement|query|select|stmt)$")

DEFAULT_SESSIONS = ("session", "db", "db.session", "self.session", "self.db", "self._session",
                    "conn", "connection", "async_session", "s", "sess", "tx")


class SqlAlchemyPreset(Preset):
    name = "sqlalchemy"
    settings = {"sessions": "a list of strings"}
    marker = word_marker("select", "update", "delete", "insert", "query", "execute", "scalars",
                         "scalar", "get", "get_one", "get_or_404", "add", "add_all", "merge",
                         "paginate", "first_or_404", "one_or_404", "text", "exec", "stream")

    def configure(self, config, db: Mapping[str, Any], where: str) -> None:
        """`sessions` is read from the config table by each module part (it
        is already type-checked; the result cache keys on the table)."""

    def catalog(self, config, files):
        from .sqlalchemy_models import model_facts
        return model_facts(files)

    def detect(self, tree, text: str) -> Detection:
        """Query shapes in files that import SQLAlchemy (or Flask-SQLAlchemy,
        SQLModel); model declarations count too."""
        import ast
        imported = any(
            (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in _MODULES)
            or (isinstance(node, ast.Import)
                and any(a.name.split(".")[0] in _MODULES for a in node.names))
            for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom)))
        if not imported:
            return Detection()
        words = {"query", "execute", "scalars", "select", "filter_by", "get_or_404",
                 "mapped_column", "Column", "add", "where"}
        count = 0
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else (
                    func.id if isinstance(func, ast.Name) else None)
                count += name in words
        return Detection(max(count, 1))


class SqlAlchemyModule(ModulePart):
    """Flow hook and value model for SQLAlchemy statements, queries and rows."""

    preset = "sqlalchemy"

    def __init__(self, info, config, catalog) -> None:
        super().__init__(info, config, catalog)
        self.sessions = frozenset(config.raw.get("db", {}).get("sessions", DEFAULT_SESSIONS))
        self.explicit = frozenset((*config.tenant_tables, *config.global_tables,
                                   *config.table_keys))
        self.session_params: frozenset = frozenset()
        # sink call -> (the call that takes the tenant key as one more argument,
        # its template: `{key}={value}` or `Agent.{key} == {value}`)
        self.fix_sites: Dict[Any, Tuple[Any, str]] = {}
        self.class_models = self._class_models()
        # calls whose result is a statement a project helper built
        # (`repository.get_readable_statement(user)`): "helper:<index>" sources
        self.helper_roots: List[Any] = []
        self.analyzers: Dict[int, Any] = {}  # id(unit) -> its flow analyzer
        self._any_helper = False  # in an executor: any project call may build the statement

    def _class_models(self) -> Dict[str, str]:
        """Repository classes of this module: class -> the model of its `model = M`
        class attribute (own, or from a base class of the same module)."""
        own: Dict[str, str] = {}
        module_unit = next((u for u in self.info.units if u.node is None), None)
        body = module_unit.body if module_unit is not None else []
        for statement in body:
            if not isinstance(statement, cst.ClassDef):
                continue
            for item in statement.body.body:
                if isinstance(item, cst.SimpleStatementLine):
                    for small in item.body:
                        target = value = None
                        if isinstance(small, cst.Assign) and len(small.targets) == 1:
                            target, value = small.targets[0].target, small.value
                        elif isinstance(small, cst.AnnAssign) and small.value is not None:
                            target, value = small.target, small.value
                        if isinstance(target, cst.Name) and target.value in _MODEL_ATTRIBUTES \
                                and syntax.dotted(value):
                            own[statement.name.value] = syntax.last_part(syntax.dotted(value))
        models = dict(own)
        for name, bases in self.info.classes.items():
            if name not in models:
                inherited = next((own[syntax.last_part(b)] for b in bases
                                  if syntax.last_part(b) in own), None)
                if inherited is not None:
                    models[name] = inherited
        return models

    def start_unit(self, unit) -> None:
        self.unit = unit
        names = set()
        for param in unit.params:
            if param.annotation is not None and any(
                    syntax.last_part(n) in ("Session", "AsyncSession", "Connection",
                                            "AsyncConnection", "scoped_session")
                    for n in syntax.annotation_names(param.annotation.annotation)):
                names.add(param.name.value)
        self.session_params = frozenset(names)

    # -- what names denote ----------------------------------------------------
    def _from_sqlalchemy(self, name: str) -> bool:
        head = name.split(".")[0]
        origin = self.info.imports.get(head)
        return origin is not None and origin[0].split(".")[0] in _MODULES

    def model_of(self, node) -> Optional[Tuple[Optional[str], str]]:
        """(table, source) when `node` names a mapped class or a `Table`
        object; (None, "param") for `self.model` / `cls.model` (a generic repository)."""
        if isinstance(node, cst.Call) and syntax.last_part(syntax.dotted(node.func) or "") \
                == "aliased" and node.args:
            node = node.args[0].value
        name = syntax.dotted(node)
        if name is None:
            return None
        head, _, attribute = name.partition(".")
        if head in ("self", "cls") and attribute in _MODEL_ATTRIBUTES:
            # a repository: its own `model = M` says the table; a generic base
            # class leaves it a parameter (checked where a subclass is used)
            model = self.class_models.get((self.unit.cls or "").split(".")[0]) \
                if self.unit is not None else None
            if model is None:
                return (None, "param")
            name = model
        last = syntax.last_part(name)
        if last in self.explicit:
            return (last, "literal")
        table = self.catalog.table_of_model(last) if self.catalog is not None else None
        if table is None:
            return None
        return (table, "literal")

    def column_ref(self, node) -> Optional[Tuple[Optional[str], str]]:
        """(table, column) for `M.col`, `table_obj.c.col`, `self.model.col`."""
        if not isinstance(node, cst.Attribute):
            return None
        base = node.value
        if isinstance(base, cst.Attribute) and base.attr.value in ("c", "columns"):
            base = base.value
        model = self.model_of(base)
        if model is None:
            return None
        column = node.attr.value
        if model[0] is not None and self.catalog is not None:
            columns = self.catalog.columns_of(model[0]) or ()
            if column not in columns and f"{column}_id" in columns:
                # a many-to-one relationship (`Query.org == org`) compares its
                # foreign key column (`org_id`)
                column = f"{column}_id"
        return (model[0], column)

    def is_session(self, node, env) -> bool:
        name = syntax.dotted(node)
        if name is None:
            return isinstance(node, cst.Call)  # `get_session().execute(...)`
        return (name in self.sessions or name in self.session_params
                or "session" in syntax.last_part(name).lower())

    # -- the value model -------------------------------------------------------
    def value_of(self, call, env, analyzer):
        row = self._row(call, env, analyzer)
        if row is not None:
            return row
        return self.chain_value(call, env, analyzer)

    def stored(self, current, attribute: str, origins):
        if isinstance(current, values.QueryVal) and current.method == "row" \
                and isinstance(current.data, values.DictVal):
            return current.replace(data=current.data.with_key(attribute, origins))
        return None

    def _row(self, call, env, analyzer):
        """`M(a=..., tenant_id=...)`: a row of M's table."""
        if not isinstance(call.func, (cst.Name, cst.Attribute)):
            return None
        model = self.model_of(call.func)
        if model is None or model[1] != "literal" or not self._is_class_name(call.func):
            return None
        data = values.DictVal()
        for arg in call.args:
            if arg.keyword is not None:
                data = data.with_key(arg.keyword.value, analyzer.origins(arg.value, env))
            elif arg.star == "**":
                inner = analyzer.value_of(arg.value, env)
                data = data.merged(inner if isinstance(inner, values.DictVal) else values.OPAQUE)
            else:
                data = data.merged(values.OPAQUE)
        return values.QueryVal(model[0], model[1], "row", data=data)

    @staticmethod
    def _is_class_name(node) -> bool:
        name = syntax.dotted(node)
        return bool(name) and syntax.last_part(name)[:1].isupper()

    def chain_value(self, node, env, analyzer):
        """The statement or query a chain expression evaluates to, or None."""
        links: List[Any] = []
        current = node
        while True:
            if isinstance(current, cst.Await):
                return None
            if isinstance(current, cst.Call):
                func = current.func
                root = self._root(current, env, analyzer)
                if root is None and _refined(links):
                    root = self._permissive_root(current, env, analyzer)
                if root is not None:
                    value = root
                    break
                if isinstance(func, cst.Attribute):
                    links.append(current)
                    current = func.value
                    continue
                return None
            if isinstance(current, cst.Attribute):
                if current.attr.value == "query":  # Flask-SQLAlchemy `M.query`
                    model = self.model_of(current.value)
                    if model is not None:
                        value = values.QueryVal(model[0], model[1], "query")
                        break
                return None
            if isinstance(current, cst.Name):
                value = env.vals.get(current.value)
                if not isinstance(value, values.QueryVal) or value.method == "row":
                    value = self._helper_by_origin(current, env, links)
                    if value is None:
                        return None
                break
            return None
        for link in reversed(links):
            value = self._apply(value, link, env, analyzer)
            if value is None:
                return None
        return value

    def _root(self, call, env, analyzer):
        func = call.func
        name = syntax.dotted(func)
        if name is None and isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call) \
                and syntax.dotted(func.value.func) == "super" and not func.value.args:
            # `super().get_base_statement()` in a repository mixin: the base's statement
            # on the repository's model (its filters, if any, are not seen here)
            return self._helper_statement(call, cst.Attribute(cst.Name("self"), func.attr),
                                          f"self.{func.attr.value}", func.attr.value)
        if name is None:
            return None
        last = syntax.last_part(name)
        first = syntax.argument(call, 0, None)
        if last == "query" and isinstance(func, cst.Attribute) and first is not None:
            # `session.query(M)`, `session.query(M.id, M.name)`
            target = self.model_of(first) or self._column_table(first)
            if target is not None:
                return values.QueryVal(target[0], target[1], "query")
            return None
        if last not in _ROOTS:
            return self._helper_statement(call, func, name, last) or self._project_helper(
                call, func, name, last)
        if isinstance(func, cst.Attribute) and not self._from_sqlalchemy(name):
            owner = self.model_of(func.value)  # `watchers.insert()` on a Table object
            if owner is not None and owner[1] == "literal":
                return values.QueryVal(owner[0], owner[1], _ROOTS[last],
                                       data=values.NONE if last == "insert" else None)
            # `sql.select(M)` through a project module that re-exports SQLAlchemy's
            if first is None or self.model_of(first) is None or last == "delete":
                return None
        if isinstance(func, cst.Name) and not self._from_sqlalchemy(name) and (
                first is None or self.model_of(first) is None):
            return None
        target = None
        if first is not None:
            target = self.model_of(first) or self._column_table(first)
        if target is None:
            for arg in call.args[1:]:  # `select(func.count(), M.id)`
                if arg.keyword is None:
                    target = self.model_of(arg.value) or self._column_table(arg.value)
                    if target is not None:
                        break
        table, source = target if target is not None else (None, "unknown")
        method = _ROOTS[last]
        data = None
        if method == "insert":
            data = values.NONE
        return values.QueryVal(table, source, method, data=data)

    def _helper_statement(self, call, func, name, last):
        """`self.get_base_statement()` in a repository with `model = M`: a
        select on M's table whose filters the tool cannot see when the helper
        is handed anything (`get_readable_statement(auth_subject)`: it may scope)."""
        if not (isinstance(func, cst.Attribute) and syntax.dotted(func.value) in ("self", "cls")
                and _STATEMENT_HELPER.search(last)):
            return None
        model = self.model_of(cst.Attribute(cst.Name("self"), cst.Name("model")))
        if model is None:
            return None
        query = values.QueryVal(model[0], model[1], "select")
        if call.args:
            query = query.replace(filters=values.OPAQUE)
        return query

    def _permissive_root(self, call, env, analyzer):
        """The root of `helper(...).where(...)`: refined as a statement, so any
        project call may have built it."""
        self._any_helper = True
        try:
            return self._root(call, env, analyzer)
        finally:
            self._any_helper = False

    def _helper_by_origin(self, name, env, links):
        """`stmt = customers_of_tenant(t)` then `stmt.where(...)` (or run as it
        is, in an executor): the call that made the local, as a helper root."""
        if not (self._any_helper or _refined(links)):
            return None
        # the one call that made it; other paths' `stmt = stmt.where(...)` refine it
        roots = []
        for origin in env.defs.get(name.value) or ():
            if origin.kind != "expr" or not isinstance(origin.node, cst.Call):
                return None
            base = origin.node
            while isinstance(base, cst.Call) and isinstance(base.func, cst.Attribute) \
                    and isinstance(base.func.value, (cst.Call, cst.Name)):
                base = base.func.value
            if not (isinstance(base, cst.Name) and base.value == name.value):
                roots.append(origin.node)
        if len(roots) != 1:
            return None
        call = roots[0]
        func = call.func
        dotted = syntax.dotted(func)
        if dotted is None:
            return None
        self._any_helper, was = True, self._any_helper
        try:
            return self._project_helper(call, func, dotted, syntax.last_part(dotted))
        finally:
            self._any_helper = was

    def _project_helper(self, call, func, name, last):
        """`repository.get_readable_statement(user)`, `build_query(org)`: a
        statement some project function returns (summarised at project level,
        `statement_helpers.py`); in an executor's argument, any call not of a
        session or of SQLAlchemy may be one."""
        if not (self._any_helper or _STATEMENT_HELPER.search(last)):
            return None
        if last in _MODIFIERS or last in _LEAVE or last in _REFINEMENTS:
            return None  # `stmt.limit(10)` on a statement the tool does not follow
        if self._from_sqlalchemy(name) or name in self.sessions \
                or (isinstance(func, cst.Attribute) and syntax.dotted(func.value) in self.sessions):
            return None
        if call not in self.helper_roots:
            self.helper_roots.append(call)
        return values.QueryVal(None, f"helper:{self.helper_roots.index(call)}", "select")

    def _column_table(self, node):
        ref = self.column_ref(node)
        if ref is None:
            return None
        return (ref[0], "literal" if ref[0] is not None else "param")

    def _apply(self, query, link, env, analyzer):
        method = link.func.attr.value
        if query.method == "row":
            return None
        if method in ("where", "filter"):
            filters = query.filters
            for arg in link.args:
                if arg.star:  # `.where(*conditions)`: conditions the tool cannot see
                    filters = _opaque(filters)
                elif arg.keyword is None:
                    filters = filters.merged(self.condition(arg.value, query, env, analyzer))
            return query.replace(filters=filters)
        if method == "filter_by":
            filters = query.filters
            for arg in link.args:
                if arg.keyword is not None:
                    filters = filters.with_key(arg.keyword.value, analyzer.origins(arg.value, env))
                else:
                    inner = analyzer.value_of(arg.value, env)
                    filters = filters.merged(inner if isinstance(inner, values.DictVal)
                                             else values.OPAQUE)
            return query.replace(filters=filters)
        if method == "values":
            return query.replace(data=self._values(link, env, analyzer))
        if method in ("join", "outerjoin", "join_from"):
            return self._join(query, link, env, analyzer)
        if method == "select_from":
            target = self.model_of(link.args[0].value) if link.args else None
            if target is not None and query.table is None:
                return query.replace(table=target[0], table_source=target[1])
            return query
        if method in _MODIFIERS:
            return query
        if method in _LEAVE or method in _QUERY_READS or method in _QUERY_WRITES:
            return None
        # a method this model does not know may narrow in ways we cannot see
        return query.replace(filters=_opaque(query.filters))

    def _values(self, call, env, analyzer):
        data = values.DictVal()
        for arg in call.args:
            if arg.keyword is not None:
                data = data.with_key(arg.keyword.value, analyzer.origins(arg.value, env))
            else:
                inner = analyzer.value_of(arg.value, env)
                if isinstance(inner, (values.DictVal, values.ListVal)):
                    return inner
                return None
        return data

    def _join(self, query, call, env, analyzer):
        method = call.func.attr.value
        args = [a.value for a in call.args if a.keyword is None and not a.star]
        if method == "join_from" and len(args) >= 2:
            args = args[1:]
        if not args:
            return query
        target = self.model_of(args[0])
        if target is None or target[0] is None:
            return query
        onclause = args[1] if len(args) > 1 else None
        linked = False
        if onclause is None:
            linked = self._foreign_key(query.table, target[0]) is not None
        else:
            joined = self.condition(onclause, query, env, analyzer)
            linked = f"{JOIN}{target[0]}" in joined.must
        if linked:
            return query.replace(filters=query.filters.with_key(f"{JOIN}{target[0]}", frozenset()))
        return query

    def _foreign_key(self, child: Optional[str], parent: str):
        """The foreign key of `child` that references `parent`, if any."""
        if self.catalog is None or child is None:
            return None
        fact = self.catalog.tables.get(child.rsplit(".", 1)[-1].lower())
        if fact is None:
            return None
        return next((fk for fk in fact.foreign_keys if fk.table.lower() == parent.lower()), None)

    # -- conditions --------------------------------------------------------------
    def condition(self, node, query, env, analyzer):
        """The filter keys a condition pins (a `DictVal`)."""
        primary = query.table
        if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
            target = node.comparisons[0]
            left, right = self.column_ref(node.left), self.column_ref(target.comparator)
            operator = type(target.operator).__name__
            if left is not None and right is not None:
                return self._link(left, right, primary)
            ref, other = (left, target.comparator) if left is not None else (right, node.left)
            if ref is None:
                return values.OPAQUE
            key = self._key(ref, primary)
            if operator == "Equal":
                return values.DictVal().with_key(key, analyzer.origins(other, env))
            label = _OPERATOR_WORDS.get(operator, operator)
            return values.DictVal().with_key(f"{key} ({label})", frozenset())
        if isinstance(node, cst.Call):
            name = syntax.dotted(node.func)
            last = syntax.last_part(name) if name else None
            if isinstance(node.func, cst.Attribute):
                ref = self.column_ref(node.func.value)
                if ref is not None and (last in _PINNING or last in _NOT_PINNING):
                    key = self._key(ref, primary)
                    arg = syntax.argument(node, 0, None)
                    if last in _PINNING and arg is not None:
                        return values.DictVal().with_key(key, analyzer.origins(arg, env))
                    return values.DictVal().with_key(f"{key} ({last.rstrip('_')})", frozenset())
            parts = [self.condition(a.value, query, env, analyzer) for a in node.args
                     if a.keyword is None and not a.star]
            if last == "and_" and parts:
                return _all_of(parts)
            if last == "or_" and parts:
                return _any_of(parts)
            if last == "not_" and len(parts) == 1:
                return _negated(parts[0])
            if last in ("true", "literal") and not parts:
                return values.DictVal()
            return values.OPAQUE
        if isinstance(node, cst.BinaryOperation):
            left = self.condition(node.left, query, env, analyzer)
            right = self.condition(node.right, query, env, analyzer)
            if isinstance(node.operator, cst.BitAnd):
                return _all_of([left, right])
            if isinstance(node.operator, cst.BitOr):
                return _any_of([left, right])
            return values.OPAQUE
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.BitInvert):
            return _negated(self.condition(node.expression, query, env, analyzer))
        if isinstance(node, cst.Name) and node.value == "True":
            return values.DictVal()
        ref = self.column_ref(node)
        if ref is not None:  # a boolean column as the condition: `not_(M.approved)`
            return values.DictVal().with_key(f"{self._key(ref, primary)} (is true)", frozenset())
        return values.OPAQUE

    @staticmethod
    def _key(ref, primary) -> str:
        table, column = ref
        return column if table == primary else f"{table}.{column}"

    def _link(self, a, b, primary):
        """`Child.parent_id == Parent.id`: a join condition along a foreign key."""
        for (table_a, column_a), (table_b, column_b) in ((a, b), (b, a)):
            fk = self._foreign_key(table_a, table_b or "") if table_b else None
            if fk is not None and fk.column == column_a and fk.target == column_b:
                other = table_b if table_a == primary else table_a
                return values.DictVal().with_key(f"{JOIN}{other}", frozenset())
        return values.DictVal()

    # -- sinks ------------------------------------------------------------------
    def __call__(self, call, env, analyzer) -> None:
        self.analyzers[id(self.unit)] = analyzer
        func = call.func
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        if method in _EXECUTORS:
            self._executed(call, method, env, analyzer)
        if method in _PK_LOADERS and len(call.args) >= 2:
            self._loaded(call, method, env, analyzer)
        if method in ("add", "merge") and len(call.args) == 1:
            self._added(call, method, env, analyzer)
        if method == "add_all" and len(call.args) == 1:
            self._added_all(call, env, analyzer)
        if method in _QUERY_READS or method in _QUERY_WRITES:
            self._query_end(call, method, env, analyzer)
        if method not in _EXECUTORS and _RUNNER.match(method) and call.args:
            self._run_by_helper(call, method, env, analyzer)

    def _run_by_helper(self, call, method, env, analyzer) -> None:
        """`await self.get_one_or_none(statement)`: a project helper runs it."""
        statement = call.args[0].value
        if call.args[0].keyword is not None or call.args[0].star:
            return
        query = self.chain_value(statement, env, analyzer)
        if not isinstance(query, values.QueryVal) or query.method not in _STATEMENT_OPERATION:
            return
        operation = _STATEMENT_OPERATION[query.method]
        value = query.data if operation == Operation.INSERT else self.filter_value(
            query, read=operation == Operation.READ)
        node, template = (self._values_site(statement) if operation == Operation.INSERT
                          else self._filter_site(statement))
        self._sink(call, method, operation, query, value, node, analyzer, template)

    def _executed(self, call, method, env, analyzer) -> None:
        statement = syntax.argument(call, 0, "statement")
        if statement is None:
            return
        if isinstance(statement, cst.Await):
            return
        query = self.chain_value(statement, env, analyzer)
        if query is None and isinstance(statement, (cst.Call, cst.Name)) \
                and method in _SESSION_RUNS \
                and self.is_session(call.func.value, env):
            self._any_helper = True  # `session.execute(visible_to(user).where(...))`
            try:
                query = self.chain_value(statement, env, analyzer)
            finally:
                self._any_helper = False
        if isinstance(query, values.QueryVal) and query.method in _STATEMENT_OPERATION:
            operation = _STATEMENT_OPERATION[query.method]
            if operation == Operation.INSERT:
                rows = syntax.argument(call, 1, "params")
                value = query.data
                node, template = self._values_site(statement)
                if rows is not None:
                    value = analyzer.value_of(rows, env)
                    node, template = rows, None
                self._sink(call, query.method, operation, query, value, node, analyzer, template)
                return
            value = self.filter_value(query, read=operation == Operation.READ)
            node, template = self._filter_site(statement)
            if node is None and query.built is not None:
                # kept in a variable: the fix goes where the statement is built
                node, template = self._filter_site(query.built[0])
            self._sink(call, query.method, operation, query, value, node, analyzer, template)
            return
        raw = self._raw_sql(statement)
        if raw is not None and (raw[1] or self.is_session(call.func.value, env)):
            self.record(dbcalls.Sink(call, self.unit, method, Operation.OPAQUE, None, "unknown",
                                     None, None, analyzer.statement_node,
                                     f"raw SQL ({raw[0]}): not verified by the sqlalchemy "
                                     "preset"))
        elif raw is None and method in _SESSION_RUNS and self.is_session(call.func.value, env):
            # a statement built where the tool cannot follow it (another module's
            # helper, a parameter): a DB call all the same, unverified
            self.record(dbcalls.Sink(call, self.unit, method, Operation.OPAQUE, None, "unknown",
                                     None, None, analyzer.statement_node,
                                     "a statement built where the tool cannot follow it "
                                     "(a parameter or another module's helper)"))

    def _raw_sql(self, node) -> Optional[Tuple[str, bool]]:
        """(how shown, certain) for `text("...")` or a SQL string."""
        if isinstance(node, cst.Call):
            name = syntax.dotted(node.func)
            if name and syntax.last_part(name) == "text" and node.args:
                return ("text(...)", True)
            return None
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            return ("a SQL string", False)
        return None

    def _loaded(self, call, method, env, analyzer) -> None:
        target = self.model_of(call.args[0].value)
        if target is None:
            return
        query = values.QueryVal(target[0], target[1], "select")
        ident = call.args[1].value
        filters = self.filter_value(query.replace(
            filters=self._by_primary_key(query, ident, env, analyzer)), read=True)
        self._sink(call, method, Operation.READ, query, filters, None, analyzer)

    def _by_primary_key(self, query, ident, env, analyzer):
        given = analyzer.value_of(ident, env)
        if isinstance(given, values.DictVal):  # `session.get(M, {"id": 1, "org_id": o})`
            return query.filters.merged(given)
        key = "id"
        if self.catalog is not None and query.table is not None:
            fact = self.catalog.tables.get(query.table.rsplit(".", 1)[-1].lower())
            if fact is not None and fact.primary_key:
                key = fact.primary_key[0]
        return query.filters.with_key(key, analyzer.origins(ident, env))

    def _added(self, call, method, env, analyzer) -> None:
        node = call.args[0].value
        row = analyzer.value_of(node, env)
        if not isinstance(row, values.QueryVal) or row.method != "row":
            return  # an object loaded earlier: an update of a row already read
        value_node = node if isinstance(node, cst.Call) else self._constructor(node, env)
        self._sink(call, method, Operation.INSERT, row, row.data, value_node, analyzer,
                   "{key}={value}")

    def _constructor(self, node, env):
        if isinstance(node, cst.Name):
            origins = env.defs.get(node.value, frozenset())
            built = [o.node for o in origins if o.kind == "expr" and isinstance(o.node, cst.Call)]
            if len(built) == 1 and len(origins) == 1:
                return built[0]
        return None

    def _added_all(self, call, env, analyzer) -> None:
        node = call.args[0].value
        if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
            # `add_all([Contact(...) for n in names])`: one row shape for them all
            rows = [analyzer.value_of(node.elt, env)]
        elif isinstance(node, (cst.List, cst.Tuple)):
            rows = [analyzer.value_of(e.value, env) for e in node.elements
                    if not isinstance(e, cst.StarredElement)]
        else:
            return
        rows = [r for r in rows if isinstance(r, values.QueryVal) and r.method == "row"]
        if not rows or len({r.table for r in rows}) != 1:
            return
        data = values.ListVal(tuple(r.data if isinstance(r.data, values.DictVal)
                                    else values.OPAQUE for r in rows))
        self._sink(call, "add_all", Operation.INSERT, rows[0], data, None, analyzer)

    def _query_end(self, call, method, env, analyzer) -> None:
        query = self.chain_value(call.func.value, env, analyzer)
        if not isinstance(query, values.QueryVal) or query.method != "query":
            return
        if method in _QUERY_WRITES:
            data = None
            if method == "update":
                rows = syntax.argument(call, 0, "values")
                data = analyzer.value_of(rows, env) if rows is not None else None
            node, template = self._filter_site(call.func.value)
            self._sink(call, method, Operation.WRITE, query.replace(data=data),
                       self.filter_value(query), node, analyzer, template)
            return
        filters = query.filters
        if method in ("get", "get_or_404"):
            ident = syntax.argument(call, 0, "ident")
            if ident is None:
                return
            filters = self._by_primary_key(query, ident, env, analyzer)
        value = self.filter_value(query.replace(filters=filters), read=True)
        node, template = (None, None) if method in ("get", "get_or_404") \
            else self._filter_site(call.func.value)
        self._sink(call, method, Operation.READ, query, value, node, analyzer, template)

    # -- where a fix adds the tenant key -------------------------------------------
    def _links(self, node):
        """The calls of a literal chain, outermost first, and its root."""
        links = []
        while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            links.append(node)
            node = node.func.value
        return links, node

    def _filter_site(self, node):
        """(call, argument template) for the fix of a filter: the outermost
        `.filter_by(...)` gets `key=value`; else the outermost `.where(...)` /
        `.filter(...)` gets `Model.key == value`."""
        links, root = self._links(node)
        for link in links:
            method = link.func.attr.value
            if method == "filter_by":
                return link, "{key}={value}"
            if method in ("where", "filter"):
                chosen = next((l for l in links if l.func.attr.value == "select_from"
                               and l.args), None)
                model = self._model_text(None, chosen.args[0].value) if chosen is not None \
                    else self._model_text(links[-1] if links else None, root)
                if model is None:
                    return None, None
                return link, model + ".{key} == {value}"
        return None, None

    def _model_text(self, innermost, root):
        """The source of the model a chain starts from (`Agent`, `self.model`)."""
        first = None
        if isinstance(root, cst.Name) and root.value in ("self", "cls") \
                and isinstance(innermost, cst.Call) \
                and _STATEMENT_HELPER.search(innermost.func.attr.value):
            # `self.get_base_statement().where(...)` in a repository with `model = M`
            model = self.model_of(cst.Attribute(cst.Name("self"), cst.Name("model")))
            return f"{root.value}.model" if model is not None and model[0] is not None else None
        if self.model_of(root) is not None and not isinstance(root, cst.Call):
            first = root  # `.select_from(M)`
        elif isinstance(root, cst.Attribute) and root.attr.value == "query":  # `M.query`
            first = root.value
        elif isinstance(root, cst.Call) and root.args:  # `select(M)`
            first = root.args[0].value
        elif innermost is not None and innermost.args:  # `session.query(M)`
            first = innermost.args[0].value
        if first is None:
            return None
        if self.model_of(first) is None:
            ref = self.column_ref(first)
            if ref is None or not isinstance(first, cst.Attribute):
                return None
            first = first.value
        name = syntax.dotted(first)
        if not name:
            return None
        head, _, rest = name.partition(".")
        if rest in ("c", "columns") and self.model_of(first.value) is not None:
            return name  # a Table object: `watchers.c.tenant_id == x`
        if head in ("self", "cls") and rest in _MODEL_ATTRIBUTES:
            return name
        return name if "." not in name else None

    def _values_site(self, node):
        """The `.values(...)` of an insert: its dict literal, or the call for keywords."""
        links, _ = self._links(node)
        for link in links:
            if link.func.attr.value == "values":
                if len(link.args) == 1 and isinstance(link.args[0].value, cst.Dict):
                    return link.args[0].value, None
                if all(a.keyword is not None for a in link.args):
                    return link, "{key}={value}"
                return None, None
        return None, None

    def filter_value(self, query, read=False):
        """The filter a sink classifies: joins resolved along foreign keys
        (`Parent.tenant_id == x` on a joined parent pins the child), join
        markers dropped, and for an ORM read the columns a session-wide
        `with_loader_criteria` pins; no key at all is no filter."""
        filters = query.filters
        if read and self.catalog is not None and query.table is not None:
            for column in self.catalog.read_criteria(query.table):
                if column not in filters.must:
                    filters = filters.with_key(column, frozenset())
        joined = [k[len(JOIN):] for k in filters.must if k.startswith(JOIN)]
        if joined and self.catalog is not None and query.table is not None:
            key = self.catalog.tenant_key_for(query.table)
            if key not in filters.must:
                for parent in joined:
                    parent_key = f"{parent}.{self.catalog.tenant_key_for(parent)}"
                    if parent_key in filters.must and self.catalog.is_tenant_table(parent):
                        filters = filters.with_key(key, filters.values.get(parent_key, frozenset()))
                        break
        for k in list(filters.may):
            if k.startswith(JOIN):
                filters = filters.without_key(k)
        if not filters.may and not filters.opaque:
            return values.NONE
        return filters

    def _sink(self, call, method, operation, query, value, node, analyzer,
              template=None) -> None:
        if query.table_source.startswith("helper:"):
            root = self.helper_roots[int(query.table_source[len("helper:"):])]
            pinned = tuple(sorted(k for k in query.filters.must if not k.startswith(JOIN)))
            self.statement_uses[call] = (root, pinned, bool(query.filters.opaque))
            self.record(dbcalls.Sink(
                call, self.unit, method, Operation.OPAQUE, None, "unknown", None, None,
                analyzer.statement_node,
                f"a statement built by `{syntax.dotted(root.func)}`: judged with that "
                "function's summary at project level"))
            return
        if template is not None and isinstance(node, cst.Call):
            self.fix_sites[call] = (node, template)
        self.record(dbcalls.Sink(call, self.unit, method, operation, query.table,
                                 query.table_source, value, node,
                                 statement=analyzer.statement_node,
                                 scoped_by=self._scoped_session_wide(query, operation),
                                 built=query.built))

    def _scoped_session_wide(self, query, operation) -> str:
        """The evidence for a read scoped by a `with_loader_criteria` listener
        rather than by its own filter ("" otherwise)."""
        if operation != Operation.READ or self.catalog is None or query.table is None:
            return ""
        key = self.catalog.tenant_key_for(query.table)
        if key in query.filters.must or key not in self.catalog.read_criteria(query.table):
            return ""
        return (f"scoped session-wide: a `do_orm_execute` listener applies "
                f"`with_loader_criteria` on {key} to every ORM read of this model")

    # -- summaries ----------------------------------------------------------------------
    def statement_helpers(self, ctx, db):
        """Functions whose every return is a select on one model's table
        (`def get_readable_statement(self, user): return select(Invoice).where(...)`):
        (unit, first return, table, its classification as if it were run),
        for the uses other modules make of their result."""
        found = []
        for unit in db.units:
            analyzer = self.analyzers.get(id(unit))
            exits = db.exits.get(id(unit), [])
            if unit.node is None or analyzer is None or not exits \
                    or any(node is None for _, node in exits):
                continue
            judged = []
            self.unit = unit  # `self.model` is the model of this unit's class
            for env, node in exits:
                query = self.chain_value(node, env, analyzer)
                if isinstance(query, values.QueryVal) and query.method == "select" \
                        and query.table_source == "param" and len(exits) == 1:
                    # `return select(self.model)` in a generic base: judged per use
                    filters = query.filters
                    keys = None if filters.opaque else tuple(
                        sorted(k for k in filters.must if not k.startswith(JOIN)))
                    found.append((unit, node, None, (keys,)))
                    break
                if not isinstance(query, values.QueryVal) or query.method != "select" \
                        or query.table is None or query.table_source != "literal":
                    break
                sink = dbcalls.Sink(node, unit, "select", Operation.READ, query.table,
                                    query.table_source, self.filter_value(query, read=True),
                                    None)
                judged.append((node, query.table, dbcalls.classify(
                    sink, ctx.config, ctx.tenant_key_for, ctx.is_tenant_table)))
            else:
                if len({table for _, table, _ in judged}) != 1:
                    continue
                worst = next((j for j in judged if j[2].outcome != "scoped"), judged[0])
                found.append((unit, judged[0][0], worst[1], worst[2]))
        return found

    # -- the fix ----------------------------------------------------------------------
    @staticmethod
    def _no_fix_reason(sink) -> str:
        what = "row" if sink.operation == Operation.INSERT else "filter"
        if sink.method in _PK_LOADERS:
            return (f"`{sink.method}` loads by primary key: there is no filter to add the "
                    "tenant key to (select with a where instead)")
        if sink.operation == Operation.INSERT:
            return "the row is not built in the call (construct it there, or add the key)"
        if sink.value is values.NONE:
            return "the statement has no where/filter_by to add the tenant key to"
        return f"the {what} is not written in the call (the statement is built elsewhere)"

    def tenant_fix(self, ctx, sink, result):
        """`tenant_id=<trusted>` into a `.filter_by(...)` / a constructor / an
        insert's `.values(...)`, `M.tenant_id == <trusted>` into the outermost
        `.where(...)` / `.filter(...)`: when the statement is written in the
        call, one draft per trusted tenant value (the project stage chooses)."""
        site = self.fix_sites.get(sink.call)
        if site is None:
            if isinstance(sink.value_node, cst.Dict):
                return super().tenant_fix(ctx, sink, result)  # `.values({...})`, rows
            return self._no_fix_reason(sink)
        from ..analysis.tenant_values import contains, tenant_choices
        from ..edits import ChoiceDrafts, EditError, FixDraft, NodeEdit, add_argument
        what = "row" if sink.operation == Operation.INSERT else "filter"
        if result.outcome not in (dbcalls.UNSCOPED, dbcalls.EMPTY_FILTER):
            return f"the {what} is not visible to the tool"
        node, template = site
        stored = sink.stored()
        at = stored[0] if stored is not None and contains(stored[0], node) else None
        if at is None and not contains(sink.call, node):
            return f"the {what} is not part of the call"
        choices = []
        for choice in tenant_choices(ctx, sink, at):
            text = template.format(key=result.tenant_key, value=choice.value)
            try:
                fixed = add_argument(node, text)
            except EditError as exc:
                return str(exc)
            draft = FixDraft(f"add `{text}` to the {what}", (NodeEdit(node, fixed),))
            choices.append((choice.names, choice.requires, draft))
        return ChoiceDrafts(tuple(choices))


SqlAlchemyPreset.part = SqlAlchemyModule


def _refined(links) -> bool:
    """The innermost link refines a statement (`x(...).where(...)`, `.limit(...)`)."""
    if not links:
        return False
    method = links[-1].func.attr.value
    return method in _REFINEMENTS or method in _MODIFIERS


def _opaque(filters):
    return values.DictVal(filters.must, filters.may, True, filters.values)


def _all_of(parts):
    result = values.DictVal()
    for part in parts:
        result = result.merged(part)
    return result


def _any_of(parts):
    """`or_(a, b)`: pins what every branch pins, like paths joining (branches
    pinning different columns stay visible as `(a | b)`, which pins nothing)."""
    result = parts[0]
    for part in parts[1:]:
        result = result.join(part)
    return result


def _negated(part):
    """`~(M.tenant_id == x)` pins nothing; its keys stay visible, as labels."""
    result = values.DictVal(opaque=part.opaque)
    for key in sorted(part.may):
        result = result.with_key(f"{key} (not)", frozenset())
    return result
