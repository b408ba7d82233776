"""Schema model built from SQL migrations.

Migrations are replayed statement by statement with the real PostgreSQL parser
(pglast) to learn which tables exist, their columns, whether row-level security
is enabled and which policies they carry. Only the statements that shape that
picture are interpreted; everything else (indexes, functions, grants, DO
blocks, ...) is ignored.

A file is split into statements with the PostgreSQL *scanner* before anything is
parsed, so a statement the parser rejects costs that statement only: it becomes
a `SchemaError` and the statements around it still apply.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Iterator, Optional, Sequence

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, ObjectType
from pglast.parser import ParseError, parse_sql, parse_sql_json, scan
from pglast.stream import RawStream
from pglast.visitors import Visitor

DEFAULT_SCHEMA = "public"


@dataclass
class Location:
    path: str
    line: int

    def to_json(self) -> dict:
        return {"path": self.path, "line": self.line}


@dataclass
class Policy:
    name: str
    table: str
    command: str
    using: Optional[str]
    with_check: Optional[str]
    columns: set[str]
    location: Location

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "table": self.table,
            "command": self.command,
            "using": self.using,
            "with_check": self.with_check,
            "columns": sorted(self.columns),
            "location": self.location.to_json(),
        }


@dataclass
class Table:
    name: str
    schema: str
    columns: list[str]
    rls_enabled: bool
    policies: dict[str, Policy]
    location: Location
    rls_location: Optional[Location] = None
    primary_key: list[str] = field(default_factory=list)
    # (column, referenced table, referenced column) from REFERENCES / FOREIGN KEY
    foreign_keys: list[tuple[str, str, str]] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "schema": self.schema,
            "columns": list(self.columns),
            "rls_enabled": self.rls_enabled,
            "policies": {name: p.to_json() for name, p in self.policies.items()},
            "location": self.location.to_json(),
            "rls_location": self.rls_location.to_json() if self.rls_location else None,
        }


@dataclass
class SchemaError:
    path: str
    line: int
    message: str

    def to_json(self) -> dict:
        return {"path": self.path, "line": self.line, "message": self.message}


@dataclass
class Schema:
    tables: dict[str, Table] = field(default_factory=dict)
    # database functions (`CREATE FUNCTION`), by unqualified lower-case name:
    # catalog.SqlFunction (their bodies judge supabase `.rpc()` calls)
    functions: dict = field(default_factory=dict)
    errors: list[SchemaError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def tenant_column(self, table: str, candidates: Sequence[str]) -> Optional[str]:
        """The first of `candidates` that is a column of `table`, if any."""
        found = self.tables.get(table.lower())
        if found is None:
            return None
        for candidate in candidates:
            if candidate in found.columns:
                return candidate
        return None

    def to_json(self) -> dict:
        return {
            "files": list(self.files),
            "tables": {name: t.to_json() for name, t in self.tables.items()},
            "errors": [e.to_json() for e in self.errors],
        }


def load_schema(files: Sequence[tuple[str, str]]) -> Schema:
    """Replay the statements of `files` ((path, SQL text) pairs) in the given order."""
    schema = Schema()
    applier = _Applier(schema)
    for path, text in files:
        schema.files.append(path)
        for stmt, line in _statements(path, text, schema.errors):
            try:
                applier.apply(stmt, Location(path, line))
            except Exception as error:  # an AST shape we did not foresee: lose the statement, not the run
                message = f"cannot interpret {type(stmt).__name__}: {type(error).__name__}: {error}"
                schema.errors.append(SchemaError(path, line, _short(message)))
    return schema


# -- splitting ----------------------------------------------------------------
#
# pglast's own scanner-based `split` balances parentheses and silently drops
# everything after an unbalanced one, so statements are cut here from the
# scanner's tokens: strings, dollar-quoted bodies and comments are single
# tokens, and every ";" token ends a statement.
#
# Only the statements that can change the model are turned into pglast ASTs;
# the others (function bodies, seed data, ...) are only checked to parse, which
# is much cheaper.

_COMMENTS = frozenset({"SQL_COMMENT", "C_COMMENT"})
_MAX_GLUE = 200  # pieces tried when gluing a statement back together
_MAX_NEAR = 60  # characters of the offending text quoted in a message
_VERBS = frozenset({"CREATE", "ALTER", "DROP"})
_OBJECTS = frozenset({"TABLE", "POLICY", "FUNCTION"})
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@dataclass
class _Piece:
    start: int  # character offsets in the file: first and after-last token
    end: int
    depth: int  # "(" minus ")"
    atomic: bool  # holds BEGIN ATOMIC
    head: list[str] = field(default_factory=list)  # names of the first tokens

    @property
    def relevant(self) -> bool:
        """Whether this can be a statement on tables or policies: CREATE
        [GLOBAL TEMP | UNLOGGED ...] TABLE, ALTER POLICY, DROP TABLE, ..."""
        return self.head[0] in _VERBS and not _OBJECTS.isdisjoint(self.head[1:])


class _Lines:
    """1-based line numbers of character offsets in a text."""

    def __init__(self, text: str) -> None:
        self._newlines = [m.start() for m in re.finditer("\n", text)]

    def line(self, offset: int) -> int:
        return bisect.bisect_left(self._newlines, offset) + 1


def _cut(text: str, tokens: Sequence) -> tuple[list[_Piece], bool]:
    """Statements delimited by ";" tokens, and whether the last one is still
    open (not followed by a ";")."""
    pieces: list[_Piece] = []
    current: Optional[_Piece] = None
    previous = None
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        name = token.name
        if name in _COMMENTS:
            continue
        if current is None and name == "ASCII_92":
            # A psql meta-command (\restrict in recent pg_dump output) runs
            # to the end of its line.
            eol = text.find("\n", token.start)
            while i < len(tokens) and (eol < 0 or tokens[i].start < eol):
                i += 1
            continue
        if name == "ASCII_59":
            current = previous = None
            continue
        if current is None:
            current = _Piece(token.start, token.end + 1, 0, False)
            pieces.append(current)
        current.end = token.end + 1  # Token.end is inclusive
        if len(current.head) < 4:
            current.head.append(name)
        if name == "ASCII_40":
            current.depth += 1
        elif name == "ASCII_41":
            current.depth -= 1
        elif name == "ATOMIC" and previous == "BEGIN_P":
            current.atomic = True
        previous = name
    return pieces, current is not None


def _scan(text: str) -> list:
    """pglast's tokens of `text`, with character offsets.

    pglast maps the scanner's byte offsets to characters slowly on non-ASCII
    text, and pglast 5 maps error offsets wrongly there. To the PostgreSQL
    scanner any non-ASCII character is a letter, as is "_": scanning a copy
    with each replaced by "_" gives the same tokens at the same offsets."""
    return scan(text if text.isascii() else _NON_ASCII.sub("_", text))


def _split(text: str) -> tuple[list[_Piece], Optional[tuple[int, str]]]:
    """Statement pieces, plus (offset, message) of a lexical error if the
    scanner stopped on one. An unterminated string or comment swallows the
    rest of the file, as it does in PostgreSQL; the statement it starts in is
    the one reported."""
    try:
        return _cut(text, _scan(text))[0], None
    except ParseError as error:
        message = error.args[0]
        offset = error.args[1] if len(error.args) > 1 else None
    if offset is None:
        return [], (0, message)
    try:
        pieces, open_last = _cut(text, _scan(text[:offset]))
    except ParseError:
        return [], (0, message)
    if open_last:
        return pieces[:-1], (pieces[-1].start, message)
    return pieces, (offset, message)


_NEAR = re.compile(r'(?s)(.* at or near ")(.*)"')


def _short(message: str) -> str:
    """One line of `message`; the scanner quotes the rest of the file after an
    unterminated literal, so keep only the start of the quoted text."""
    near = _NEAR.fullmatch(message)
    if near is not None:
        head, quoted = near.groups()
        first = quoted.split("\n", 1)[0]
        if len(first) > _MAX_NEAR:
            first = first[:_MAX_NEAR]
        if first != quoted:
            first += "…"
        message = f'{head}{first}"'
    return message.split("\n", 1)[0]


def _statements(path: str, text: str, errors: list[SchemaError]) -> Iterator[tuple[ast.Node, int]]:
    """Yield (statement node, 1-based start line) for every statement of `text`
    on tables or policies; append a `SchemaError` for every statement that
    does not parse."""
    lines = _Lines(text)
    pieces, lexical_error = _split(text)
    i = 0
    while i < len(pieces):
        piece = pieces[i]
        i += 1
        parse = parse_sql if piece.relevant else parse_sql_json
        try:
            parsed = parse(text[piece.start : piece.end])
        except ParseError as error:
            parsed = None
            if piece.depth > 0 or piece.atomic:
                # A ";" inside parentheses (CREATE RULE ... DO (a; b)) or in a
                # BEGIN ATOMIC body does not end the statement: glue the
                # following pieces back until the whole parses.
                for j in range(i, min(len(pieces), i + _MAX_GLUE)):
                    try:
                        parsed = parse(text[piece.start : pieces[j].end])
                    except ParseError:
                        continue
                    i = j + 1
                    break
            if parsed is None:
                message = f"cannot parse statement: {_short(error.args[0])}"
                errors.append(SchemaError(path, lines.line(piece.start), message))
                continue
        if not piece.relevant:
            continue
        for raw in parsed:
            yield raw.stmt, lines.line(piece.start)
    if lexical_error is not None:
        offset, message = lexical_error
        errors.append(SchemaError(path, lines.line(offset), f"cannot parse statement: {_short(message)}"))


# -- applying -----------------------------------------------------------------


class _ColumnRefs(Visitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_ColumnRef(self, ancestors, node) -> None:
        last = node.fields[-1]
        if isinstance(last, ast.String):
            self.names.add(last.sval)


def _columns_of(expr: Optional[ast.Node]) -> set[str]:
    refs = _ColumnRefs()
    if expr is not None:
        refs(expr)
    return refs.names


def _deparse(expr: Optional[ast.Node]) -> Optional[str]:
    return None if expr is None else RawStream()(expr)


def _names(nodes) -> list[str]:
    return [n.sval for n in nodes or () if isinstance(n, ast.String)]


def _add_key(table: Table, column: Optional[str], constraint: ast.Constraint) -> None:
    """Record a PRIMARY KEY or FOREIGN KEY constraint (on `column` when it is
    a column constraint, else on the columns it lists)."""
    if constraint.contype == ConstrType.CONSTR_PRIMARY:
        keys = [column] if column else _names(constraint.keys)
        table.primary_key = list(dict.fromkeys(keys))
    elif constraint.contype == ConstrType.CONSTR_FOREIGN and constraint.pktable is not None:
        columns = [column] if column else _names(constraint.fk_attrs)
        targets = _names(constraint.pk_attrs) or ["id"]
        if len(columns) == 1:  # a composite key pins no single parent id
            fk = (columns[0], _key(constraint.pktable).rsplit(".", 1)[-1], targets[0])
            if fk not in table.foreign_keys:
                table.foreign_keys.append(fk)


def _key(relation: ast.RangeVar) -> str:
    return relation.relname.lower()


def _plpgsql_statements(stmt: ast.CreateFunctionStmt) -> tuple:
    """The SQL of a plpgsql body, every statement and expression (IF, LOOP and
    RETURN QUERY included), from pglast's plpgsql parser; () when it refuses
    the body."""
    from pglast import parse_plpgsql
    try:
        tree = parse_plpgsql(RawStream()(stmt))
    except Exception:  # the plpgsql parser validates more than the SQL one
        return ()
    found: list = []
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            expr = item.get("PLpgSQL_expr")
            if isinstance(expr, dict) and isinstance(expr.get("query"), str):
                found.append(expr["query"])
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    statements = []
    for query in found:
        head = query.lstrip().split(None, 1)[0].lower() if query.strip() else ""
        if head in ("select", "insert", "update", "delete", "with"):
            statements.append(query)
        elif ":=" in query:  # `v := (SELECT ...)`
            statements.append("SELECT " + query.split(":=", 1)[1])
        else:  # a condition or value: its subqueries
            statements.append("SELECT " + query)
    return tuple(statements)


class _Applier:
    def __init__(self, schema: Schema) -> None:
        self.tables = schema.tables
        self.functions = schema.functions
        # Columns of each policy's USING and WITH CHECK kept apart, so that an
        # ALTER POLICY naming one clause keeps the other's columns. Keyed by
        # id(); the value holds the policy so that the id stays unique.
        self._clauses: dict[int, tuple[Policy, set[str], set[str]]] = {}

    def apply(self, stmt: ast.Node, location: Location) -> None:
        handler = getattr(self, "_" + type(stmt).__name__, None)
        if handler is not None:
            handler(stmt, location)

    def _CreateFunctionStmt(self, stmt: ast.CreateFunctionStmt, location: Location) -> None:
        from ..catalog import SqlFunction
        name = stmt.funcname[-1].sval.lower()
        params = tuple(p.name or "" for p in stmt.parameters or ()
                       if str(getattr(p.mode, "value", p.mode)) in ("i", "b", "d", "v"))
        body, language, definer = "", "", False
        for option in stmt.options or ():
            if option.defname == "as":
                parts = option.arg if isinstance(option.arg, (list, tuple)) else [option.arg]
                body = parts[0].sval if parts and isinstance(parts[0], ast.String) else ""
            elif option.defname == "language":
                language = option.arg.sval.lower()
            elif option.defname == "security":
                definer = bool(option.arg.boolval)
        if stmt.sql_body is not None:  # BEGIN ATOMIC ... END / RETURN expr
            language = language or "sql"
            try:
                body = body or RawStream()(stmt.sql_body)
            except Exception:  # a body shape the printer does not know: unknown body
                body = ""
        statements = _plpgsql_statements(stmt) if language == "plpgsql" else ()
        self.functions[name] = SqlFunction(name, params, body, language, definer,
                                           location.path, location.line, statements)

    def _CreateStmt(self, stmt: ast.CreateStmt, location: Location) -> None:
        key = _key(stmt.relation)
        if stmt.if_not_exists and key in self.tables:
            return
        columns: list[str] = []
        constraints: list[tuple[Optional[str], ast.Constraint]] = []
        for parent in stmt.inhRelations or ():
            columns.extend(self._columns_of_table(parent))
        for element in stmt.tableElts or ():
            if isinstance(element, ast.ColumnDef):
                columns.append(element.colname)
                constraints.extend((element.colname, c) for c in element.constraints or ())
            elif isinstance(element, ast.TableLikeClause):
                columns.extend(self._columns_of_table(element.relation))
            elif isinstance(element, ast.Constraint):
                constraints.append((None, element))
        table = self.tables[key] = Table(
            name=key,
            schema=stmt.relation.schemaname or DEFAULT_SCHEMA,
            columns=list(dict.fromkeys(columns)),
            rls_enabled=False,
            policies={},
            location=location,
        )
        for column, constraint in constraints:
            _add_key(table, column, constraint)

    def _columns_of_table(self, relation: ast.Node) -> list[str]:
        table = self.tables.get(_key(relation)) if isinstance(relation, ast.RangeVar) else None
        return list(table.columns) if table else []

    def _AlterTableStmt(self, stmt: ast.AlterTableStmt, location: Location) -> None:
        if stmt.objtype != ObjectType.OBJECT_TABLE:
            return
        table = self.tables.get(_key(stmt.relation))
        if table is None:
            return
        for cmd in stmt.cmds or ():
            subtype = cmd.subtype
            if subtype == AlterTableType.AT_AddColumn:
                name = cmd.def_.colname
                if name not in table.columns:
                    table.columns.append(name)
                    table.location = location
                for constraint in cmd.def_.constraints or ():
                    _add_key(table, name, constraint)
            elif subtype == AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
                _add_key(table, None, cmd.def_)
            elif subtype == AlterTableType.AT_DropColumn:
                if cmd.name in table.columns:
                    table.columns.remove(cmd.name)
                    table.location = location
            elif subtype == AlterTableType.AT_EnableRowSecurity:
                table.rls_enabled = True
                table.rls_location = location
            elif subtype == AlterTableType.AT_DisableRowSecurity:
                table.rls_enabled = False
                table.rls_location = location
            # FORCE ROW LEVEL SECURITY only matters once RLS is enabled, so it
            # changes neither flag nor location.

    def _RenameStmt(self, stmt: ast.RenameStmt, location: Location) -> None:
        if stmt.relation is None:
            return
        key = _key(stmt.relation)
        table = self.tables.get(key)
        if table is None:
            return
        kind = stmt.renameType
        if kind == ObjectType.OBJECT_TABLE:
            new = stmt.newname.lower()
            del self.tables[key]
            table.name = new
            table.location = location
            for policy in table.policies.values():
                policy.table = new
            self.tables[new] = table
        elif kind == ObjectType.OBJECT_COLUMN and stmt.relationType == ObjectType.OBJECT_TABLE:
            if stmt.subname in table.columns:
                table.columns[table.columns.index(stmt.subname)] = stmt.newname
                table.location = location
                # PostgreSQL policies follow the column, not its old name.
                for policy in table.policies.values():
                    _, using, check = self._clauses[id(policy)]
                    for names in (using, check):
                        if stmt.subname in names:
                            names.discard(stmt.subname)
                            names.add(stmt.newname)
                    policy.columns = using | check
        elif kind == ObjectType.OBJECT_POLICY:
            policy = table.policies.pop(stmt.subname, None)
            if policy is not None:
                policy.name = stmt.newname
                policy.location = location
                table.policies[stmt.newname] = policy

    def _AlterObjectSchemaStmt(self, stmt: ast.AlterObjectSchemaStmt, location: Location) -> None:
        if stmt.objectType != ObjectType.OBJECT_TABLE or stmt.relation is None:
            return
        table = self.tables.get(_key(stmt.relation))
        if table is not None:
            table.schema = stmt.newschema
            table.location = location

    def _DropStmt(self, stmt: ast.DropStmt, location: Location) -> None:
        if stmt.removeType == ObjectType.OBJECT_TABLE:
            for names in stmt.objects or ():
                self.tables.pop(names[-1].sval.lower(), None)
        elif stmt.removeType in (ObjectType.OBJECT_FUNCTION, ObjectType.OBJECT_PROCEDURE):
            for target in stmt.objects or ():  # ObjectWithArgs
                names = getattr(target, "objname", None) or ()
                if names and isinstance(names[-1], ast.String):
                    self.functions.pop(names[-1].sval.lower(), None)
        elif stmt.removeType == ObjectType.OBJECT_POLICY:
            for names in stmt.objects or ():
                table = self.tables.get(names[-2].sval.lower())
                if table is not None:
                    table.policies.pop(names[-1].sval, None)

    def _CreatePolicyStmt(self, stmt: ast.CreatePolicyStmt, location: Location) -> None:
        table = self.tables.get(_key(stmt.table))
        if table is None:
            return
        using, check = _columns_of(stmt.qual), _columns_of(stmt.with_check)
        policy = Policy(
            name=stmt.policy_name,
            table=table.name,
            command=(stmt.cmd_name or "all").upper(),
            using=_deparse(stmt.qual),
            with_check=_deparse(stmt.with_check),
            columns=using | check,
            location=location,
        )
        table.policies[policy.name] = policy
        self._clauses[id(policy)] = (policy, using, check)

    def _AlterPolicyStmt(self, stmt: ast.AlterPolicyStmt, location: Location) -> None:
        table = self.tables.get(_key(stmt.table))
        policy = table.policies.get(stmt.policy_name) if table else None
        if policy is None:
            return
        # ALTER POLICY replaces only the clauses it names.
        _, using, check = self._clauses[id(policy)]
        if stmt.qual is not None:
            policy.using = _deparse(stmt.qual)
            using = _columns_of(stmt.qual)
        if stmt.with_check is not None:
            policy.with_check = _deparse(stmt.with_check)
            check = _columns_of(stmt.with_check)
        self._clauses[id(policy)] = (policy, using, check)
        policy.columns = using | check
        policy.location = location
