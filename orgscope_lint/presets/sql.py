"""The `sql` preset: raw SQL text run by a driver, judged with pglast.

    await conn.fetch("SELECT * FROM threads WHERE id = $1 AND account_id = $2", tid, uid)
    cur.execute("UPDATE threads SET name = %s WHERE id = %s", (name, tid))
    session.execute(text("DELETE FROM threads WHERE id = :id"), {"id": tid})
    await database.fetch_all(query=sql, values={"uid": uid})
    await execute(sql, {"account_id": uid})          # a project wrapper

A sink is a call of a driver method (asyncpg, psycopg / psycopg2, sqlite3,
SQLAlchemy sessions and connections, `databases`) whose SQL argument is text
the tool can read, or a call of a project function that hands its parameter
to one (found by the `project()` pre-pass, or listed in `db.sql-functions`).
The text is followed through literals, concatenation, f-strings and
`.format` (holes become placeholders), variables assigned on several paths
(each path's text is judged) and module constants; `analysis/sqltext.py`
judges it, and the table the call is reported on is its worst one.
"""
from __future__ import annotations

import re
import string
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..lazy import lazy
from ..model import Operation
from .base import ModulePart, Preset, project_trees, word_marker

cst = lazy("libcst")
syntax = lazy("orgscope_lint.analysis.syntax")
dbcalls = lazy("orgscope_lint.analysis.dbcalls")
values = lazy("orgscope_lint.analysis.values")
sqltext = lazy("orgscope_lint.analysis.sqltext")

# driver methods whose first argument is SQL text
DRIVER_METHODS = frozenset({
    "execute", "executemany", "executescript", "fetch", "fetchrow", "fetchval",
    "fetch_all", "fetch_one", "fetch_val", "iterate", "exec_driver_sql", "scalar",
    "scalars", "copy_from_query", "mogrify",
})
_SQL_KEYWORDS = {"query", "sql", "statement", "operation", "stmt"}
_PARAM_KEYWORDS = ("values", "parameters", "params", "args", "vars")
_TEXT_CALLS = frozenset({"text", "sqlalchemy.text", "sa.text", "sql.text", "dedent",
                         "textwrap.dedent", "SQL", "sql.SQL", "literal_column"})
_STRING_METHODS = frozenset({"strip", "lstrip", "rstrip", "format"})
_LEADING = re.compile(r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*\(?\s*(\w+)", re.S)
_SQL_VERBS = frozenset({"select", "insert", "update", "delete", "with", "merge", "copy",
                        "truncate", "values", "explain"})
# receivers whose unreadable SQL still makes a (unverified) DB call
_DB_RECEIVER = re.compile(r"(conn|cur|cursor|db|session|pool|database|tx|transaction|engine)",
                          re.I)
# a driver (or wrapper) call handed a bare name first: the shape of a wrapper's body
# (the pre-pass parses only files with one; `.execute()` of a query builder is not it)
_WRAPPER_SHAPE = re.compile(
    rb"\.(?:" + b"|".join(m.encode() for m in sorted(DRIVER_METHODS))
    + rb")\(\s*(?:text\(\s*)?[A-Za-z_]\w*\s*[,)]")
_MAX_PATHS = 16
_MAX_DEPTH = 25
_OPERATIONS = {"read": Operation.READ, "write": Operation.WRITE, "insert": Operation.INSERT}
FIX_REASON = ("raw SQL: add the tenant column to the statement's WHERE (or its row) by "
              "hand; the tool does not rewrite SQL text")

# (sql argument index, params argument index or None, params forwarded as *args)
WrapperSpec = Tuple[int, Optional[int], bool]


def _function_facts(function):
    """What `_wrapper_spec` needs of a function, from one walk: its parameters,
    its `*args`, its simple assignments, and its calls handed a name first
    (None when it has no such call: it cannot be a wrapper)."""
    import ast
    params = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
    if params and params[0] in ("self", "cls"):
        params = params[1:]
    star = function.args.vararg.arg if function.args.vararg else None
    if not params:
        return None
    assigns, calls = [], []
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                assigns.append(node)
        elif isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name)):
            first = node.args[0] if node.args else next(
                (k.value for k in node.keywords if k.arg in _SQL_KEYWORDS), None)
            if isinstance(first, ast.Call) and first.args:
                first = first.args[0]
            if isinstance(first, ast.Name):
                calls.append(node)
    return (params, star, assigns, calls) if calls else None


def _wrapper_spec(facts, known: Mapping[str, WrapperSpec]) -> Optional[WrapperSpec]:
    import ast
    params, star, assigns, calls = facts
    aliases: Dict[str, str] = {p: p for p in params}
    if star:
        aliases[star] = star

    def source(node) -> Optional[str]:
        if isinstance(node, ast.Call) and node.args and _ast_name(node.func) in _TEXT_CALLS:
            node = node.args[0]
        if isinstance(node, ast.Name):
            return aliases.get(node.id)
        return None

    for node in assigns:
        if source(node.value) is not None:
            aliases[node.targets[0].id] = source(node.value)  # type: ignore[assignment]
    for node in calls:
        method = _ast_name(node.func).rsplit(".", 1)[-1]
        if isinstance(node.func, ast.Name) and method not in known:
            continue  # a bare `fetch(...)` is a driver method only on an object
        if method not in DRIVER_METHODS and method not in known:
            continue
        sql_node = node.args[0] if node.args else next(
            (k.value for k in node.keywords if k.arg in _SQL_KEYWORDS), None)
        sql_param = source(sql_node) if sql_node is not None else None
        if sql_param is None or sql_param not in params:
            continue
        rest = node.args[1:] + [k.value for k in node.keywords if k.arg in _PARAM_KEYWORDS]
        params_index: Optional[int] = None
        forwarded = False
        for arg in rest:
            inner = arg.value if isinstance(arg, ast.Starred) else arg
            name = source(inner)
            if name == star and star is not None:
                forwarded = True
            elif name in params:
                params_index = params.index(name)
            if isinstance(arg, ast.Starred) and name in params:
                forwarded = True
        return params.index(sql_param), params_index, forwarded
    return None


def _ast_name(node) -> str:
    import ast
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _ast_name(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    return ""


class SqlModule(ModulePart):
    preset = "sql"

    def __init__(self, info, config, catalog) -> None:
        super().__init__(info, config, catalog)
        self.wrappers: Dict[str, WrapperSpec] = dict(self.project or {})
        for name in getattr(config, "sql_functions", ()):
            self.wrappers.setdefault(name.rsplit(".", 1)[-1], (0, 1, False))

    # -- the hook ------------------------------------------------------------
    def __call__(self, call, env, analyzer) -> None:
        func = call.func
        name = syntax.dotted(func) if isinstance(func, (cst.Name, cst.Attribute)) else None
        if name is None:
            return
        method = name.rsplit(".", 1)[-1]
        spec = self.wrappers.get(method)
        if spec is None and method in DRIVER_METHODS and isinstance(func, cst.Attribute):
            spec = (0, 1, method in ("fetch", "fetchrow", "fetchval", "iterate")
                    or _asyncpg_style(call))
        if spec is None:
            return
        sql_index, params_index, star = spec
        sql_node = syntax.argument(call, sql_index, None)
        if sql_node is None:
            sql_node = next((a.value for a in call.args if a.keyword is not None
                             and a.keyword.value in _SQL_KEYWORDS), None)
        if sql_node is None:
            return
        if self._is_param(sql_node):
            return  # a wrapper's own body: its callers are the sinks
        receiver = name.rsplit(".", 1)[0] if "." in name else ""
        self.run_sql(call, method, sql_node, spec, env, analyzer, known=bool(
            method in self.wrappers or _DB_RECEIVER.search(receiver) or _is_text_call(sql_node)))

    def run_sql(self, call, method: str, sql_node, spec: WrapperSpec, env, analyzer,
                known: bool = True) -> None:
        """Judge the SQL text `sql_node` of `call` (`spec`: where its parameters
        are) and record the sink; `known`: the call surely runs SQL (another
        preset's raw-SQL call, `Model.objects.raw(...)`), so unreadable text is
        an unverified DB call and any text is SQL."""
        paths = self.texts(sql_node, env.defs, 0)
        if paths is None:
            if known:
                self.record(dbcalls.Sink(
                    call, self.unit, method, Operation.READ, None, "unknown", None, None,
                    analyzer.statement_node, unverified="the SQL text comes from an "
                    "expression the tool cannot read", fix_reason=FIX_REASON))
            return
        if not known and not any(_looks_like_sql(text) for text, _ in paths):
            return  # a string handed to some other `.execute()`
        self._judge(call, method, paths, spec, env, analyzer)

    def _is_param(self, node) -> bool:
        if isinstance(node, cst.Call) and _is_text_call(node) and node.args:
            node = node.args[0].value
        return isinstance(node, cst.Name) and self.unit is not None and any(
            p.name.value == node.value for p in self.unit.params) and node.value not in \
            self.info.module_assignments

    # -- the SQL text ----------------------------------------------------------
    def texts(self, node, defs, depth: int) -> Optional[List[Tuple[str, tuple]]]:
        """Each path's (text with hole sentinels, holes as (node, defs)), or None."""
        parts = self._parts(node, defs, depth)
        if parts is None:
            return None
        rendered = []
        for path in parts:
            text, holes = [], []
            for part in path:
                if isinstance(part, str):
                    text.append(part.replace(sqltext.HOLE_OPEN, "").replace(sqltext.HOLE_CLOSE, ""))
                else:
                    text.append(f"{sqltext.HOLE_OPEN}{len(holes)}{sqltext.HOLE_CLOSE}")
                    holes.append(part)
            rendered.append(("".join(text), tuple(holes)))
        return rendered

    def _parts(self, node, defs, depth: int) -> Optional[List[tuple]]:
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, cst.SimpleString):
            value = syntax.string_value(node)
            return [(value,)] if value is not None else None
        if isinstance(node, cst.ConcatenatedString):
            return self._product(self._parts(node.left, defs, depth + 1),
                                 self._parts(node.right, defs, depth + 1))
        if isinstance(node, cst.FormattedString):
            path: list = []
            for part in node.parts:
                if isinstance(part, cst.FormattedStringText):
                    path.append(part.value.replace("{{", "{").replace("}}", "}"))
                else:
                    path.append((part.expression, defs))
            return [tuple(path)]
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            return self._product(self._parts(node.left, defs, depth + 1),
                                 self._parts(node.right, defs, depth + 1))
        if isinstance(node, cst.Call):
            func = node.func
            name = syntax.dotted(func) if isinstance(func, (cst.Name, cst.Attribute)) else None
            if name in _TEXT_CALLS and node.args:
                return self._parts(node.args[0].value, defs, depth + 1)
            if isinstance(func, cst.Attribute) and func.attr.value in _STRING_METHODS:
                inner = self._parts(func.value, defs, depth + 1)
                if inner is None or func.attr.value != "format":
                    return inner
                return self._format(inner, node, defs)
            return None
        if isinstance(node, cst.Name):
            if node.value in defs:
                paths: List[tuple] = []
                for origin in defs[node.value]:
                    if origin.kind != "expr" or origin.node is None:
                        return None
                    found = self._parts(origin.node, origin.defs or {}, depth + 1)
                    if found is None:
                        return None
                    paths.extend(p for p in found if p not in paths)
                return paths[:_MAX_PATHS] if paths else None
            if node.value in self.info.module_assignments:
                return self._parts(self.info.module_assignments[node.value], {}, depth + 1)
            return None
        if isinstance(node, cst.IfExp):
            body = self._parts(node.body, defs, depth + 1)
            orelse = self._parts(node.orelse, defs, depth + 1)
            return None if body is None or orelse is None else (body + orelse)[:_MAX_PATHS]
        return None

    @staticmethod
    def _product(left, right):
        if left is None or right is None:
            return None
        return [a + b for a in left for b in right][:_MAX_PATHS]

    def _format(self, paths, call, defs):
        """`"... {} ... {name}".format(a, name=b)`: each field is a hole."""
        positional = [a.value for a in call.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        out = []
        for path in paths:
            if len(path) != 1 or not isinstance(path[0], str):
                return None
            new: list = []
            auto = 0
            try:
                fields = list(string.Formatter().parse(path[0]))
            except ValueError:
                return None
            for literal, field, _spec, _conv in fields:
                new.append(literal)
                if field is None:
                    continue
                if field == "":
                    field = str(auto)
                    auto += 1
                if field.isdigit() and int(field) < len(positional):
                    new.append((positional[int(field)], defs))
                elif field in keywords:
                    new.append((keywords[field], defs))
                else:
                    return None
            out.append(tuple(new))
        return out

    # -- the judgement ---------------------------------------------------------
    def _judge(self, call, method: str, paths, spec: WrapperSpec, env, analyzer) -> None:
        catalog = self.catalog
        judged = []
        for text, holes in paths:
            judgement = judge_text(text, catalog, self.config)
            if judgement.error is not None:
                if judgement.hole_error:
                    reason = f"the statement cannot be checked: {judgement.error}"
                else:
                    reason = f"the SQL text does not parse: {judgement.error}"
                verb = _looks_like_sql(text) or "SQL"
                self.record(dbcalls.Sink(call, self.unit, f"{method}({verb.upper()})",
                                         _verb_operation(verb), None, "unknown", None, None,
                                         analyzer.statement_node, unverified=reason,
                                         fix_reason=FIX_REASON))
                return
            judged.append((judgement, holes))
        arguments = _Arguments(call, spec, env, analyzer)
        sink = self._worst(call, method, judged, arguments, analyzer)
        if sink is not None:
            self.record(sink)

    def _worst(self, call, method, judged, arguments, analyzer):
        return worst_sink(call, self.unit, method, judged, analyzer.statement_node,
                          lambda use, holes: _use_value(use, arguments, holes, analyzer))


class SqlPreset(Preset):
    name = "sql"
    settings = {"sql-functions": "a list of strings"}
    marker = word_marker(*sorted(DRIVER_METHODS))
    part = SqlModule
    project_marker = _WRAPPER_SHAPE

    def configure(self, config, db: Mapping[str, Any], where: str) -> None:
        if "sql-functions" in db:
            config.sql_functions = tuple(db["sql-functions"])

    def project(self, config, files) -> Dict[str, WrapperSpec]:
        """Project functions whose parameter flows into a driver call's SQL
        argument, by name: `def execute(sql, params)` -> (0, 1, False)."""
        import ast
        found: Dict[str, WrapperSpec] = {}
        functions = []
        for _path, tree in project_trees(files, self.project_marker):
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    facts = _function_facts(node)
                    if facts is not None:
                        functions.append((node.name, facts))
        for _round in range(3):  # a wrapper of a wrapper
            before = len(found)
            for name, facts in functions:
                if name not in found:
                    spec = _wrapper_spec(facts, found)
                    if spec is not None:
                        found[name] = spec
            if len(found) == before:
                break
        for name in getattr(config, "sql_functions", ()):
            found[name.rsplit(".", 1)[-1]] = (0, 1, False)
        return found


def worst_sink(call, unit, method: str, judged, statement, value_for, note: str = "",
               fix_reason: str = FIX_REASON):
    """One sink for a call whose SQL (on each path) touches several tables: the
    worst table (unscoped, then only on some paths, then scoped, then global),
    the others' names in the note. `judged` = [(Judgement, holes)] per path;
    `value_for(use, holes)` gives a use's filter or row value."""
    # the n-th use of a table in one path meets the n-th use in the others: paths
    # join (must = on every path); two uses in one text (a self-join, two
    # statements of a function body) stay apart
    tables: Dict[Tuple[str, str, int], list] = {}
    for judgement, holes in judged:
        seen: Dict[Tuple[str, str], int] = {}
        for use in judgement.uses:
            value = value_for(use, holes)
            index = seen[(use.table, use.operation)] = seen.get((use.table, use.operation), -1) + 1
            entry = tables.setdefault((use.table, use.operation, index), [use, None, 0])
            entry[1] = value if entry[1] is None else entry[1].join(value)
            entry[2] += 1
    if not tables:
        return None
    ranked = []
    for (use, value, count) in tables.values():
        if use.key is None:
            rank = 4
        elif use.key in value.must and count == len(judged):
            rank = 3
        elif use.key in value.may:
            rank = 1
        else:
            rank = 0
        ranked.append((rank, len(ranked), use, value))
    ranked.sort(key=lambda r: (r[0], r[1]))
    _, _, use, value = ranked[0]
    others = [r[2].table for r in ranked[1:] if r[0] < 3 and r[2].table != use.table]
    notes = [n for n in (use.why, note) if n]
    if others:
        notes.append(f"also not scoped: {', '.join(dict.fromkeys(others))}")
    return dbcalls.Sink(call, unit, f"{method}({use.statement})", _OPERATIONS[use.operation],
                        use.table, "literal", value, None, statement, note="; ".join(notes),
                        fix_reason=fix_reason)


def judge_text(text: str, catalog, config, names: Mapping[str, str] = {}):
    """`sqltext.judge` with the run's catalog (or config) for tables and keys."""
    def tenant_key_for(table: str) -> Optional[str]:
        if catalog is not None:
            return catalog.tenant_key_for(table) if catalog.is_tenant_table(table) else None
        return config.tenant_key_for(table) if config.is_tenant_table(table) else None

    def columns_of(table: str):
        columns = catalog.columns_of(table) if catalog is not None else None
        return columns

    return sqltext.judge(text, tenant_key_for, columns_of, names)


class _Arguments:
    """The Python argument that fills each placeholder key of one call."""

    def __init__(self, call, spec: WrapperSpec, env, analyzer) -> None:
        sql_index, params_index, star = spec
        self.env = env
        self.analyzer = analyzer
        positional = [a for a in call.args if a.keyword is None]
        self.positional: List[Any] = []
        self.named = None
        if star:
            rest = positional[sql_index + 1:]
            if any(a.star for a in rest):
                self.positional = []  # forwarded from a list we do not follow
                self.opaque = True
            else:
                self.positional = [a.value for a in rest]
            self.opaque = any(a.star for a in rest)
            return
        self.opaque = False
        node = None
        if params_index is not None and params_index < len(positional) \
                and not positional[params_index].star:
            node = positional[params_index].value
        if node is None:
            node = next((a.value for a in call.args if a.keyword is not None
                         and a.keyword.value in _PARAM_KEYWORDS), None)
        if isinstance(node, (cst.Tuple, cst.List)):
            self.positional = [e.value for e in node.elements
                               if not isinstance(e, cst.StarredElement)]
            self.opaque = any(isinstance(e, cst.StarredElement) for e in node.elements)
        elif node is not None:
            value = analyzer.value_of(node, env)
            if isinstance(value, values.DictVal):
                self.named = value
            else:
                self.opaque = True

    def origins(self, key: str):
        if key.startswith(":"):
            if self.named is not None:
                return self.named.values.get(key[1:], frozenset())
            return frozenset()
        if key.isdigit() and int(key) < len(self.positional):
            return self.analyzer.origins(self.positional[int(key)], self.env)
        return frozenset()


def _use_value(use, arguments: _Arguments, holes, analyzer):
    """The use as a filter (or row) DictVal: its pinned columns as keys, the
    tenant column's origins from the Python arguments filling its placeholders."""
    value = values.DictVal()
    for column in use.pinned:
        if column == use.key and not use.scoped:
            continue
        value = value.with_key(column, frozenset())
    for label in use.conditions:  # tested, not pinned: shown, never scoping
        value = value.with_key(label, frozenset())
    if use.key is not None and use.scoped:
        origins = frozenset()
        for key in use.params:
            if key.startswith("hole:"):
                node, defs = holes[int(key[5:])]
                if isinstance(node, cst.Name) and node.value in defs:
                    origins |= defs[node.value]
                else:
                    origins |= {values.Origin("expr", node=node, defs=defs)}
            else:
                origins |= arguments.origins(key)
        value = value.with_key(use.key, origins)
    return value


def _asyncpg_style(call) -> bool:
    """`conn.execute(sql, a, b)`: more than one argument after the SQL, none a
    tuple, list or dict (DB-API drivers take one sequence or mapping)."""
    rest = [a for a in call.args[1:] if a.keyword is None]
    if len(rest) != 1:
        return len(rest) > 1
    return not isinstance(rest[0].value, (cst.Tuple, cst.List, cst.Dict, cst.Name, cst.Call))


def _is_text_call(node) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, (cst.Name, cst.Attribute)) \
        and syntax.dotted(node.func) in _TEXT_CALLS


def _looks_like_sql(text: str) -> Optional[str]:
    match = _LEADING.match(text)
    if match is None:
        return None
    word = match.group(1).lower()
    return word if word in _SQL_VERBS else None


def _verb_operation(verb: str) -> Operation:
    return {"insert": Operation.INSERT, "update": Operation.WRITE, "delete": Operation.WRITE,
            "merge": Operation.WRITE, "truncate": Operation.WRITE}.get(verb, Operation.READ)
