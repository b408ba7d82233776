"""The `supabase` preset: supabase-py (postgrest) query chains as DB sinks.

    client.table("agents").select("*").eq("clerk_org_id", org).execute()

A chain starts at a client (`db.clients` in config, a call of a client
factory, a variable or attribute assigned one, a parameter annotated with
supabase's `Client`), picks a table with `.table(t)` / `.from_(t)`, an
operation (`select`, `insert`, `upsert`, `update`, `delete`), then filters,
and runs at `.execute()`: that call is the sink, classified like a dbservice
call (ORG101-ORG105).

A query builder kept in a variable is a `QueryVal` in the flow analysis, so
`query = query.eq(...)` under an `if`, and in-place `query.eq(...)` (postgrest
filters return the builder itself), are followed across statements and joined
at branches. `.rpc(...)` calls run SQL the tool cannot see: they are sinks
with an opaque operation, always unverified, never flagged.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, List, Mapping, Optional, Tuple

from ..lazy import lazy
from ..model import Operation
from .base import Detection, ModulePart, Preset, project_trees, word_marker

if TYPE_CHECKING:  # pragma: no cover
    from ..analysis.flow import Env, FlowAnalyzer

cst = lazy("libcst")
syntax = lazy("orgscope_lint.analysis.syntax")
dbcalls = lazy("orgscope_lint.analysis.dbcalls")
values = lazy("orgscope_lint.analysis.values")
sqltext = lazy("orgscope_lint.analysis.sqltext")

OPERATIONS = {"select": "read", "update": "write", "delete": "write",
              "insert": "insert", "upsert": "insert"}
# Filters that restrict a column to given values: they scope by that column.
_EQUALITY_FILTERS = frozenset({"eq", "in_"})
_FILTER_OPERATORS = {"eq": "eq", "in": "in_"}  # `.filter(col, op, value)` spellings
# Filters that narrow a query without pinning a column to a value: recorded
# (for the message) but never scoping.
_OTHER_FILTERS = frozenset({
    "neq", "gt", "gte", "lt", "lte", "like", "ilike", "is_", "contains", "contained_by",
    "cs", "cd", "ov", "overlaps", "range_gt", "range_gte", "range_lt", "range_lte",
    "range_adjacent", "sl", "sr", "nxl", "nxr", "adj", "text_search", "fts", "plfts",
    "phfts", "wfts", "like_all_of", "like_any_of", "ilike_all_of", "ilike_any_of", "or_",
})
# Methods that change how results come back, not which rows are touched.
_MODIFIERS = frozenset({
    "order", "limit", "offset", "range", "single", "maybe_single", "csv", "explain",
    "returning", "on_conflict", "count", "head", "options", "schema", "geojson",
})
_SUPABASE_CLIENT_CLASSES = frozenset({"Client", "AsyncClient", "SyncClient"})
# supabase-py's own ways to build a client
CONSTRUCTORS = frozenset({"create_client", "acreate_client", "create_async_client",
                          "AsyncClient", "SyncClient"})
_BUILDER_METHODS = (frozenset(OPERATIONS) | _EQUALITY_FILTERS | _OTHER_FILTERS | _MODIFIERS
                    | {"match", "filter", "execute"})


DEFAULT_CLIENTS = ("supabase", "client", "self.client", "self.supabase",
                   "get_supabase_client", "get_db", "get_supabase",
                   "get_supabase_admin_client", "create_client")


class SupabaseModule(ModulePart):
    """Flow hook and value model for supabase-py query chains."""

    preset = "supabase"

    def __init__(self, info, config, catalog) -> None:
        super().__init__(info, config, catalog)
        self.client_names: FrozenSet[str] = frozenset()
        # `get_db()`, `deps.get_db()`: plain names in `db.clients` are also factories
        self.factories = frozenset(name for name in config.clients if "." not in name) \
            | CONSTRUCTORS
        providers = self.project or {}
        self.factories |= frozenset(providers.get("functions", ()))
        # `x.client`, `await db.client`, `self._client`: attributes that hold a client
        self.client_attributes = frozenset(providers.get("properties", ())) | frozenset(
            providers.get("attributes", ()))
        self.module_clients = frozenset(
            name for name, value in info.module_assignments.items() if self._is_factory_call(value))

    # -- clients -----------------------------------------------------------
    def start_unit(self, unit) -> None:
        self.unit = unit
        names = set(self.config.clients) | self.module_clients
        if unit.cls is not None:
            for attr, value in self.info.self_assignments.get(unit.cls, {}).items():
                if self._is_factory_call(value):
                    names.add(attr)
        for param in unit.params:
            if param.annotation is not None and self._is_client_annotation(
                    param.annotation.annotation):
                names.add(param.name.value)
        self.client_names = frozenset(names)

    def _is_factory_call(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Await):
            node = node.expression
        if isinstance(node, cst.Attribute) and node.attr.value in self.client_attributes:
            return True  # a provider property or an attribute assigned a client
        if not isinstance(node, cst.Call):
            return False
        name = syntax.dotted(node.func)
        return bool(name) and (name in self.config.clients
                               or name.split(".")[-1] in self.factories)

    def _is_client_annotation(self, annotation) -> bool:
        """`Client` / `AsyncClient` imported from supabase (possibly Optional[...])."""
        for name in syntax.annotation_names(annotation):
            head, _, last = name.rpartition(".")
            if last not in _SUPABASE_CLIENT_CLASSES:
                continue
            origin = self.info.imports.get(head or last)
            if origin is not None and origin[0].split(".")[0] in ("supabase", "postgrest"):
                return True
        return False

    def is_client(self, node: cst.CSTNode, env: Env) -> bool:
        # `client.schema("private")` and `client.postgrest` query through the same client
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and node.func.attr.value == "schema":
            return self.is_client(node.func.value, env)
        if isinstance(node, cst.Attribute) and node.attr.value == "postgrest":
            return self.is_client(node.value, env)
        if isinstance(node, cst.Await):
            return self._is_factory_call(node)
        if isinstance(node, cst.Attribute) and node.attr.value in self.client_attributes:
            return True
        name = syntax.dotted(node)
        if name is not None:
            if isinstance(node, cst.Name) and name in env.defs:
                # a local assignment decides: a client only if every assigned
                # value reaching here is one (params and imports keep the name rule)
                assigned = [o.node for o in env.defs[name] if o.kind == "expr"]
                if assigned:
                    return all(n is not None and self._is_client_expr(n) for n in assigned)
            return name in self.client_names
        return self._is_factory_call(node)

    def _is_client_expr(self, node: cst.CSTNode) -> bool:
        # `client or create_client(...)`, `admin if system else client`
        if isinstance(node, cst.BooleanOperation):
            return self._is_client_expr(node.left) and self._is_client_expr(node.right)
        if isinstance(node, cst.IfExp):
            return self._is_client_expr(node.body) and self._is_client_expr(node.orelse)
        if isinstance(node, cst.Attribute) and node.attr.value in self.client_attributes:
            return True
        name = syntax.dotted(node)
        return name in self.client_names if name is not None else self._is_factory_call(node)

    # -- the value model -----------------------------------------------------
    def value_of(self, call: cst.Call, env: Env, analyzer: FlowAnalyzer) -> Optional[values.Value]:
        return self.chain_value(call, env, analyzer)

    def _handed(self, call: cst.Call, env: Env, analyzer: FlowAnalyzer) -> Optional[values.QueryVal]:
        """`apply_filters(query, filters)`: a helper handed a builder returns it
        narrowed in ways we cannot see (filters only ever narrow a query)."""
        handed = [q for q in (self.chain_value(a.value, env, analyzer, helpers=False)
                              for a in call.args if not a.star) if q is not None]
        if len(handed) == 1 and handed[0].method is not None:
            return handed[0].replace(filters=_opaque(handed[0].filters))
        return None

    def mutated(self, call: cst.Call, env: Env,
                analyzer: FlowAnalyzer) -> Optional[Tuple[str, values.Value]]:
        """`query.eq(...)` as a statement narrows `query` itself (postgrest
        filter methods return the builder they were called on)."""
        func = call.func
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        if method not in _EQUALITY_FILTERS and method not in _OTHER_FILTERS \
                and method not in ("match", "filter", "not_"):
            return None
        base = func.value
        while isinstance(base, cst.Attribute) and base.attr.value == "not_":
            base = base.value
        if not isinstance(base, cst.Name) or not isinstance(env.vals.get(base.value), values.QueryVal):
            return None
        value = self.chain_value(call, env, analyzer)
        return (base.value, value) if value is not None else None

    def chain_value(self, node: cst.CSTNode, env: Env, analyzer: FlowAnalyzer,
                    helpers: bool = True) -> Optional[values.QueryVal]:
        """The builder a chain expression evaluates to, or None if it is not one.
        Walks down to the chain's root first (chains can be long; no recursion);
        with `helpers`, a root may be a helper call handed a builder (one level:
        nested calls must not recurse)."""
        links: List[cst.CSTNode] = []
        current = node
        while True:
            if isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute):
                method = current.func.attr.value
                if method in ("table", "from_") and self.is_client(current.func.value, env):
                    value = self._start(current)
                    break
                if helpers and method not in _BUILDER_METHODS and current.args:
                    handed = self._handed(current, env, analyzer)
                    if handed is not None:
                        value = handed
                        break
                links.append(current)
                current = current.func.value
            elif isinstance(current, cst.Call) and helpers:
                handed = self._handed(current, env, analyzer)
                if handed is None:
                    return None
                value = handed
                break
            elif isinstance(current, cst.Attribute) and current.attr.value == "not_":
                links.append(current)
                current = current.value
            elif isinstance(current, cst.Name):
                value = env.vals.get(current.value)
                if not isinstance(value, values.QueryVal):
                    return None
                break
            else:
                return None
        for link in reversed(links):
            value = self._apply(value, link, env, analyzer)
            if value is None:
                return None
        return value

    def _start(self, call: cst.Call) -> values.QueryVal:
        table, source = dbcalls.table_argument(syntax.argument(call, 0, "table_name"),
                                               self.info, self.unit)
        return values.QueryVal(table, source)

    def _apply(self, query: values.QueryVal, link: cst.CSTNode, env: Env,
               analyzer: FlowAnalyzer) -> Optional[values.QueryVal]:
        if isinstance(link, cst.Attribute):  # `.not_`
            return query.replace(negated=True)
        assert isinstance(link, cst.Call) and isinstance(link.func, cst.Attribute)
        method = link.func.attr.value
        if query.method is None:
            if method not in OPERATIONS:
                return None  # not a query (or one this preset does not model)
            data: Optional[values.Value] = None
            if OPERATIONS[method] in ("insert", "write"):
                row = syntax.argument(link, 0, "json")
                data = values.NONE if row is None else analyzer.value_of(row, env)
            return query.replace(method=method, data=data)
        if method == "execute":
            return None  # the response, not a builder
        if method in _MODIFIERS or method == "select":
            return query  # e.g. `.update(...).select()` asks for the rows back
        if method in ("eq", "in_", "match", "filter") or method in _OTHER_FILTERS:
            filters = self._filtered(query, method, link, env, analyzer)
            return query.replace(filters=filters, negated=False)
        # a method this model does not know may filter in ways we cannot see
        return query.replace(filters=_opaque(query.filters))

    def _filtered(self, query: values.QueryVal, method: str, call: cst.Call, env: Env,
                  analyzer: FlowAnalyzer) -> values.DictVal:
        filters = query.filters
        if method == "match" and not query.negated:
            value = analyzer.value_of(syntax.argument(call, 0, "query") or cst.Name("None"), env)
            return filters.merged(value if isinstance(value, values.DictVal) else _opaque(values.DictVal()))
        if method == "filter":
            operator_node = syntax.argument(call, 1, "operator")
            operator = syntax.string_value(operator_node) if operator_node is not None else None
            if operator is None:
                return _opaque(filters)
            method = _FILTER_OPERATORS.get(operator, operator)
        if method == "or_":  # a disjunction pins no column
            return filters.with_key("or_(...)", frozenset())
        column_node = syntax.argument(call, 0, "column")
        column = analyzer.key_of(column_node) if column_node is not None else None
        if column is None:
            return _opaque(filters)
        if method in _EQUALITY_FILTERS and not query.negated:
            value_node = syntax.argument(call, 1, "value")
            origins = analyzer.origins(value_node, env) if value_node is not None \
                else frozenset()
            return filters.with_key(column, origins)
        # a negated or non-equality filter never pins the column: keep it visible
        # in messages ("filters by clerk_org_id (neq) only") without scoping
        label = f"{column} ({'not ' if query.negated else ''}{method.rstrip('_')})"
        return filters.with_key(label, frozenset())

    def leaves_when_missing(self, call, env, analyzer) -> bool:
        """`....single().execute()` raises (PGRST116) when no row matches."""
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "execute":
            return False
        node = func.value
        while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value == "single":
                return True
            node = node.func.value
        return False

    # -- the hook ------------------------------------------------------------
    def __call__(self, call: cst.Call, env: Env, analyzer: FlowAnalyzer) -> None:
        func = call.func
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        if method == "rpc":
            if self.is_client(func.value, env):
                self._rpc(call, env, analyzer)
            return
        if method != "execute":
            return
        query = self.chain_value(func.value, env, analyzer)
        if query is None or query.method is None:
            return
        operation = OPERATIONS[query.method]
        if operation == Operation.INSERT:
            value = query.data
            operation_call = _operation_call(func.value, query.method)
            if operation_call is None and query.built is not None:
                # kept in a variable: the row is where the query is built
                operation_call = _operation_call(query.built[0], query.method)
            value_node = syntax.argument(operation_call or call, 0, "json")
        else:
            filters = self._through_embedded(query, func.value)
            value = values.NONE if not filters.may and not filters.opaque else filters
            value_node = None
        self.record(dbcalls.Sink(call, self.unit, query.method, operation, query.table,
                                 query.table_source, value, value_node,
                                 statement=analyzer.statement_node, built=query.built))


    def _through_embedded(self, query: values.QueryVal, chain: cst.CSTNode) -> values.DictVal:
        """`.select("*, threads!inner(account_id)").eq("threads.account_id", uid)`:
        an inner-joined resource pinned to its tenant column keeps only the parent
        rows that join it, so the parent is scoped through it."""
        filters = query.filters
        if query.method != "select" or query.table is None:
            return filters
        select = _operation_call(chain, "select")
        columns = syntax.string_value(syntax.argument(select, 0, None)) if select else None
        if not columns or "!inner" not in columns:
            return filters
        inner = {alias or table: table for alias, table in _INNER.findall(columns)}
        key = self.catalog.tenant_key_for(query.table) if self.catalog is not None \
            else self.config.tenant_key_for(query.table)
        if key in filters.must:
            return filters
        for column in sorted(filters.must):
            resource, _, name = column.partition(".")
            if resource in inner and name:
                table = inner[resource]
                resource_key = self.catalog.tenant_key_for(table) if self.catalog is not None \
                    else self.config.tenant_key_for(table)
                if name == resource_key:
                    return filters.with_key(key, filters.values.get(column, frozenset()))
        return filters

    # -- database functions ------------------------------------------------------
    def _rpc(self, call: cst.Call, env: Env, analyzer: FlowAnalyzer) -> None:
        """`.rpc("fn", {...})`: judged from the function's body in the migrations;
        else by `db.rpc-tenant-params`; else unverified."""
        name_node = syntax.argument(call, 0, "fn")
        name = syntax.string_value(name_node) if name_node is not None else None
        params_node = syntax.argument(call, 1, "params")
        passed = analyzer.value_of(params_node, env) if params_node is not None else values.NONE
        passed = passed if isinstance(passed, values.DictVal) else (
            values.DictVal() if isinstance(passed, values.NoneVal) else values.OPAQUE)
        function = self.catalog.functions.get(name.lower()) if name and self.catalog is not None \
            and hasattr(self.catalog, "functions") else None
        statement = analyzer.statement_node
        if function is not None and function.body and function.language in ("sql", "plpgsql"):
            sink = self._rpc_from_body(call, name, function, passed, statement)
            if sink is not None:
                self.record(sink)
                return
        detail = _describe_rpc(call)
        value = None
        tenant_params = [p for p in self.config.rpc_tenant_params if p in passed.must]
        if tenant_params:
            value = values.DictVal().with_key(self.config.tenant_key,
                                              passed.values.get(tenant_params[0], frozenset()))
            detail = (f"{detail.split(':')[0]}: passes the tenant parameter "
                      f"{tenant_params[0]!r} (db.rpc-tenant-params)")
        elif self.config.rpc_tenant_params:
            detail += (" (it passes none of db.rpc-tenant-params: "
                       f"{', '.join(self.config.rpc_tenant_params)})")
        self.record(dbcalls.Sink(call, self.unit, "rpc", Operation.OPAQUE, None, "unknown",
                                 value, None, statement, detail))

    def _rpc_from_body(self, call, name: str, function, passed, statement):
        from . import sql
        names = {param: ":" + param for param in function.params if param}
        judged = []
        statements = getattr(function, "statements", ()) or _body_statements(
            function.body, function.language)
        for text in statements:
            judgement = sql.judge_text(text, self.catalog, self.config, names)
            if judgement.error is None:
                judged.append((judgement, ()))
        if not judged:
            return None
        merged = sqltext.Judgement([u for j, _ in judged for u in j.uses])
        if not merged.uses:
            return None

        def value_for(use, holes):
            value = values.DictVal()
            for column in use.pinned:
                if column != use.key:
                    value = value.with_key(column, frozenset())
            if use.key is None or not use.scoped:
                return value
            keys = [_param_name(k, function.params) for k in use.params]
            if any(k is None for k in keys) or not keys:
                return value.with_key(use.key, frozenset())  # pinned inside the body
            if all(k in passed.must for k in keys):
                return value.with_key(use.key, frozenset().union(
                    *(passed.values.get(k, frozenset()) for k in keys)))
            if any(k in passed.may for k in keys):
                return values.DictVal(value.must, value.may | {use.key}, value.opaque,
                                      value.values)
            if passed.opaque:
                return values.DictVal(value.must, value.may, True, value.values)
            return value

        note = f"database function {name}() at {function.path}:{function.line}"
        if function.security_definer:
            note += ", SECURITY DEFINER: it bypasses row-level security"
        return sql.worst_sink(call, self.unit, f"rpc:{name}", [(merged, ())], statement,
                              value_for, note, fix_reason=(
                                  f"the statement is in the database function {name}(): pin "
                                  "the tenant column there, to a parameter the call passes"))


class SupabasePreset(Preset):
    name = "supabase"
    settings = {"clients": "a list of strings", "rpc-tenant-params": "a list of strings"}
    # every chain runs through one of these methods
    marker = word_marker("execute", "rpc")
    # files that can build or hand out a client
    # files that can build, declare or hand out a client (`return await self.db.client`):
    # the pre-pass parses only these (a provider of another shape: `db.clients`)
    project_marker = re.compile(
        rb"\b(?:a?create_client|create_async_client)\b"
        rb"|->\s*[\"']?(?:Optional\[)?(?:supabase\.)?(?:Async)?Client\b"
        rb"|self\.\w+\s*:\s*(?:Optional\[)?(?:Async)?Client\b"
        rb"|\breturn\s+(?:await\s+)?[\w.]*client\b")
    part = SupabaseModule

    def configure(self, config, db: Mapping[str, Any], where: str) -> None:
        if "clients" in db:
            config.clients = tuple(db["clients"])
        if "rpc-tenant-params" in db:
            config.rpc_tenant_params = tuple(db["rpc-tenant-params"])

    def project(self, config, files) -> Dict[str, List[str]]:
        """Client providers across the project: functions (`get_client()`),
        properties (`await db.client`) and attributes (`self._client`) whose
        value is a client: built by a constructor or factory, annotated
        `Client` / `AsyncClient`, or returned from another provider."""
        import ast
        factories = set(CONSTRUCTORS) | {n.rsplit(".", 1)[-1] for n in config.clients
                                         if "(" not in n}
        functions: List[Any] = []
        assignments: List[Any] = []
        for _path, tree in project_trees(files, self.project_marker, self.project_also):
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    # one walk per function: its returns and its local assignments
                    kind = "properties" if any(_ast_last(d) in ("property", "cached_property")
                                               for d in node.decorator_list) else "functions"
                    returns, local = [], []
                    for inner in ast.walk(node):
                        if isinstance(inner, ast.Return) and inner.value is not None:
                            returns.append(inner.value)
                        elif isinstance(inner, ast.Assign) and any(
                                isinstance(t, ast.Name) for t in inner.targets):
                            local.append(inner)
                    annotated = node.returns is not None and _ast_client_annotation(node.returns)
                    functions.append((node.name, kind, annotated, returns, local))
                elif isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
                        isinstance(t, ast.Attribute) for t in
                        (node.targets if isinstance(node, ast.Assign) else [node.target])):
                    assignments.append(node)
        found: Dict[str, set] = {"functions": set(), "properties": set(), "attributes": set()}

        def is_client(node) -> bool:
            if isinstance(node, ast.Await):
                node = node.value
            if isinstance(node, ast.Call):
                name = _ast_last(node.func)
                return name in factories or name in found["functions"]
            if isinstance(node, ast.Attribute):
                return node.attr in found["attributes"] or node.attr in found["properties"]
            if isinstance(node, ast.BoolOp):
                return all(is_client(v) for v in node.values)
            return False

        for _round in range(4):
            before = sum(len(v) for v in found.values())
            for node in assignments:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                annotated = isinstance(node, ast.AnnAssign) and _ast_client_annotation(
                    node.annotation)
                if annotated or (node.value is not None and is_client(node.value)):
                    for target in targets:
                        if isinstance(target, ast.Attribute):
                            found["attributes"].add(target.attr)
            for name, kind, annotated, returns, local in functions:
                if name in found[kind]:
                    continue
                if not annotated and not returns:
                    continue
                names = {t.id for n in local if is_client(n.value)
                         for t in n.targets if isinstance(t, ast.Name)}
                if annotated or all(is_client(r) or (isinstance(r, ast.Name) and r.id in names)
                                    for r in returns):
                    found[kind].add(name)
            if sum(len(v) for v in found.values()) == before:
                break
        return {kind: sorted(names) for kind, names in found.items()}

    def detect(self, tree, text: str) -> Detection:
        """Filter calls (`.eq(...)`) outside DB wrapper classes (a wrapper's
        own query-builder calls are not the project's style)."""
        import ast

        from .dbservice import DBSERVICE_METHODS, _method_names
        inside = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and len(
                    _method_names(node) & set(DBSERVICE_METHODS)) >= 3:
                inside.update(id(inner) for inner in ast.walk(node))
        count = sum(1 for node in ast.walk(tree) if isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute) and node.func.attr == "eq"
                    and id(node) not in inside)
        return Detection(count)


# `threads!inner(...)`, `t:threads!inner(...)`, `threads!fk_name!inner(...)`
_INNER = re.compile(r"(?:(\w+)\s*:\s*)?(\w+)(?:!\w+)*!inner\s*\(")


def _param_name(key: str, params) -> Optional[str]:
    """A placeholder key of a function body -> the argument's name."""
    if key.startswith(":"):
        return key[1:]
    if key.isdigit() and int(key) < len(params) and params[int(key)]:
        return params[int(key)]
    return None


_PLPGSQL_SKIP = re.compile(r"^\s*(?:(?:begin|declare|end|return\s+query|perform)\b\s*)+", re.I)


def _body_statements(body: str, language: str) -> List[str]:
    """The SQL statements of a function body: all of a `LANGUAGE sql` body;
    the SELECT / INSERT / UPDATE / DELETE statements of a plpgsql block."""
    if language == "sql":
        return [body]
    found = []
    for piece in body.split(";"):
        text = _PLPGSQL_SKIP.sub("", piece.strip())
        if re.match(r"^\s*(select|insert|update|delete|with)\b", text, re.I):
            found.append(text)
        elif re.match(r"^\s*perform\b", piece.strip(), re.I):
            found.append("SELECT " + text)
    return found


def _ast_last(node) -> str:
    import ast
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _ast_last(node.func)
    return ""


def _ast_client_annotation(node) -> bool:
    import ast
    for item in ast.walk(node):
        if isinstance(item, (ast.Name, ast.Attribute)) and _ast_last(item) in ("Client", "AsyncClient"):
            return True
        if isinstance(item, ast.Constant) and isinstance(item.value, str) and \
                item.value.split(".")[-1].strip() in ("Client", "AsyncClient"):
            return True
    return False


def _opaque(filters: values.DictVal) -> values.DictVal:
    return values.DictVal(filters.must, filters.may, True, filters.values)


def _operation_call(node: cst.CSTNode, method: str) -> Optional[cst.Call]:
    """The `.insert(...)` / `.upsert(...)` call inside a literal chain."""
    while isinstance(node, (cst.Call, cst.Attribute)):
        if isinstance(node, cst.Call):
            if isinstance(node.func, cst.Attribute) and node.func.attr.value == method:
                return node
            node = node.func
        else:
            node = node.value
    return None


def _describe_rpc(call: cst.Call) -> str:
    name_node = syntax.argument(call, 0, "fn")
    name = syntax.string_value(name_node) if name_node is not None else None
    module = cst.Module([])
    args = ", ".join(module.code_for_node(a.value) for a in call.args[1:])
    shown = repr(name) if name is not None else (
        module.code_for_node(name_node) if name_node is not None else "?")
    text = f"rpc({shown}{', ' + args if args else ''})"
    if len(text) > 200:
        text = text[:197] + "..."
    return (f"{text}: a database function; the tool cannot see whether it filters by "
            "the tenant key")
