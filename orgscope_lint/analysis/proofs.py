"""Proofs of tenancy: how real code shows that a statement without the tenant
key still touches only the caller's rows.

A value is *verified for table T* when it was proven to be the id of a row of
T that belongs to the caller's tenant:

- load-then-check: a read of T, scoped by the tenant key, pinned its primary
  key to the value, and the read is in `Env.found` at the statement (the flow
  analysis puts it there after a guard that leaves when nothing was found,
  `if not row: raise`, or a call the preset says raises when missing);
- parent rows: the value was read from a row loaded tenant-scoped
  (`agent["outbound_phone_number_id"]`, `row.project_id`): it is verified for
  the table that column references (the catalog's foreign keys, from the
  migrations or models, or the `parent-keys` config), and a row's own `id`
  for its own table;
- scoping helpers: a call of a function named in `scoping-helpers` (or
  `Depends()` on one) returned, which verifies the ids handed to it.

A statement on a tenant table whose filter (or inserted row) lacks the tenant
key is then scoped when it pins the table's primary key to a value verified
for the table, a parent key to a value verified for the parent, or a
principal key (`principal-keys`) to the caller's own identity from the auth
context. The proof, or what is missing, goes into the outcome's detail.

Presets plug in through their sinks alone (`Sink.value` is a `DictVal` of
column -> origins; a read's result flows into the names the guard tests);
their own guard shapes are `ModulePart.leaves_when_missing`.
"""
from __future__ import annotations

from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import libcst as cst

from ..model import Operation, Outcome
from .dbcalls import Classified, Sink
from .flow import SAME_VALUE_CALLS, Env, lookup_call
from .syntax import dotted, string_value
from .routes import annotated_dependencies, param_dependency
from .tenant_values import _Judge
from .values import DictVal, ListVal, Origin

# claims that name the caller (a principal) in an auth context
_IDENTITY_CLAIMS = ("id", "user_id", "sub", "uid")
_ROUTE_WORDS = frozenset({"get", "post", "put", "patch", "delete", "api_route", "route",
                          "websocket"})


class Proof:
    """A proof (or the reason there is none): the text, with `{line}` standing
    for the line of `node` once positions are known."""

    __slots__ = ("text", "node")

    def __init__(self, text: str, node: Optional[cst.CSTNode] = None) -> None:
        self.text = text
        self.node = node


class Prover:
    def __init__(self, config, catalog, sinks: Sequence[Sink],
                 classified: Dict[cst.Call, Classified],
                 envs: Mapping[cst.Call, List[Env]], info=None,
                 compares: Optional[Mapping[cst.Call, List[Tuple]]] = None) -> None:
        self.config = config
        self.info = info  # the module's facts (imports, `Annotated` aliases)
        self.catalog = catalog
        self.sinks = {sink.call: sink for sink in sinks}
        self.classified = classified
        self.envs = envs
        self.helpers = frozenset(h.split(".")[-1] for h in config.scoping_helpers)
        self.principal_keys = frozenset(config.principal_keys)
        self._judges: Dict[Tuple[int, bool], _IdentityJudge] = {}  # by (id(unit), tenant)
        # lookup call -> (column, origins compared with, test, a branch leaves, unit)
        self.compares = compares or {}
        # reads proven by an access check in code: their rows (and ids) are
        # verified only where the check held (`Env.found`)
        # (lookup call -> the comparison that proved it; it is in `found` where it held)
        self.checked_in_code: Dict[cst.Call, cst.CSTNode] = {}

    # -- entry -----------------------------------------------------------------
    def run(self) -> None:
        """Upgrade what can be proven; a lookup proven scoped can prove the next."""
        for _ in range(3):
            changed = False
            for call, sink in self.sinks.items():
                result = self.classified[call]
                if result.outcome != Outcome.UNSCOPED or result.proof is not None:
                    continue
                proven = self.prove(sink, result)
                if proven is not None:
                    self.classified[call] = proven
                    changed = changed or proven.outcome == Outcome.SCOPED
            if not changed:
                break

    def prove(self, sink: Sink, result: Classified) -> Optional[Classified]:
        envs = self.envs.get(sink.call) or []
        if not envs or sink.table is None:
            return None
        if sink.operation == Operation.READ:
            probe = self.existence_probe(sink)
            if probe is not None:
                return _scoped(result, probe)
            check = self.access_check(sink, result)
            if check is not None:
                self.checked_in_code[sink.call] = check.node
                return _scoped(result, check)
        if sink.operation == Operation.INSERT:
            rows = [sink.value] if isinstance(sink.value, DictVal) else (
                list(sink.value.rows) if isinstance(sink.value, ListVal) else [])
            if not rows or isinstance(sink.value, ListVal) and sink.value.opaque:
                return None
            if self._has_tenant_column(sink.table, result):
                # a verified parent id does not fill the row's own tenant
                # column: the new row would belong to no organization
                return None
            proofs = [self.prove_dict(sink, row, envs) for row in rows]
            if all(p is not None and p[0] for p in proofs):
                return _scoped(result, proofs[0][1])
            missing = next((p[1] for p in proofs if p is not None and not p[0]), None)
            return _unproven(result, missing) if missing else None
        if not isinstance(sink.value, DictVal):
            return None
        proof = self.prove_dict(sink, sink.value, envs)
        if proof is None:
            return None
        return _scoped(result, proof[1]) if proof[0] else _unproven(result, proof[1])

    def prove_dict(self, sink: Sink, value: DictVal,
                   envs: List[Env]) -> Optional[Tuple[bool, Proof]]:
        """(True, proof) for the first key that scopes; else (False, why the
        key that should have scoped does not), or None when no key could."""
        table = sink.table
        missing: Optional[Proof] = None
        for key in sorted(value.must, key=lambda k: (k not in self.primary_key(table), k)):
            origins = value.values.get(key) or frozenset()
            if not origins:
                continue
            if key in self.primary_key(table):
                target = table
            else:
                target = self.parent_of(table, key)
            if target is not None:
                proof = self.verified(origins, target, envs, sink)
                if proof is not None:
                    return True, _with_prefix(proof, f"scoped: `{_value_name(origins, key)}` ",
                                              target, table)
                if missing is None and target != table:
                    missing = Proof(f"(`{key}` points at the parent '{target}', but "
                                    f"{self.describe(origins, sink)})")
            if self.is_principal(table, key) and self.caller_identity(origins, sink):
                return True, Proof(f"scoped to the caller: `{key}` is the caller's own id "
                                   "from the auth context")
        return (False, missing) if missing is not None else None

    def existence_probe(self, sink: Sink) -> Optional[Proof]:
        """A read that only tests whether a globally unique value is taken: it
        filters by one key, a slug or a value the code just generated
        (`uuid4()`, `secrets.token_urlsafe()`, `slugify(...)`), selects only that
        key (or the primary key), and its result is used only as a truth value.
        It reads no row of any organization: a global existence check."""
        value = sink.value
        if not isinstance(value, DictVal) or value.opaque or len(value.must) != 1 \
                or value.may - value.must or sink.unit.node is None:
            return None
        (key,) = value.must
        columns = _selected_columns(sink.call)
        if columns is None or not columns <= {key, *self.primary_key(sink.table)}:
            return None
        origins = _base(value.values.get(key) or ())
        slug = key == "slug" or key.endswith("_slug")
        if not slug and not (origins and all(_generated(o) for o in origins)):
            return None
        if not _only_tested(sink.unit.node, sink.call, sink.statement):
            return None
        what = "a slug" if slug else "a generated value"
        return Proof(f"global existence check: tests whether {what} (`{key}`) is taken; "
                     "selects only the key, and the result is used only as a truth value")

    def access_check(self, sink: Sink, result: Classified) -> Optional[Proof]:
        """A read whose row is checked in code before it is used: an `if`
        compares the row's tenant key with a tenant value (or a principal key
        with the caller's own id), and where the comparison does not hold the
        code leaves without the row (`if row["account_id"] != org: raise`,
        `if row.org_id == org: return row` then code that never names the row;
        `FlowAnalyzer.if_` judges it: `==` then raise is no check)."""
        tenant_key = result.tenant_key or self.config.tenant_key_for(sink.table)
        for column, origins, test, leaves, unit in self.compares.get(sink.call, ()):
            if not leaves or unit is not sink.unit or not origins:
                continue
            if column == tenant_key and self._tenant_value(origins, unit):
                return Proof(f"scoped: checked in code: the row's `{column}` is compared with "
                             f"`{_source_of(origins, column)}` at line {{line}}", test)
            if self.is_principal(sink.table, column) and self.is_caller_value(origins, unit):
                return Proof(f"scoped to the caller: checked in code: the row's `{column}` is "
                             "compared with the caller's own id at line {line}", test)
        return None

    def _tenant_value(self, origins: FrozenSet[Origin], unit) -> bool:
        """A value a filter could be scoped by: a parameter of a function that
        is not a route (its callers answer for it), or a value from the auth
        context; not a constant, and not the request's own input."""
        route = _is_route(unit)
        for origin in _base(origins):
            if origin.kind == "param":
                if route and not self.is_caller_value(frozenset({origin}), unit) \
                        and not self._judge(unit).dependencies.get(origin.name or ""):
                    return False
                continue
            if origin.kind != "expr" or origin.node is None \
                    or isinstance(origin.node, (cst.SimpleString, cst.Integer, cst.Name)):
                return False
            if not self.is_caller_value(frozenset({origin}), unit) \
                    and not self._judge(unit, tenant=True).is_caller(origin):
                return False
        return True

    def _judge(self, unit, tenant: bool = False) -> "_IdentityJudge":
        """The auth-context judge asking for the caller's own id (or, with
        `tenant`, for the caller's tenant id)."""
        key = (id(unit), tenant)
        judge = self._judges.get(key)
        if judge is None:
            judge = self._judges[key] = _IdentityJudge(
                self.config, self.info, unit, self.principal_keys, tenant)
        return judge

    # -- caller-verified parameters ------------------------------------------------
    def keyed_params(self, sink: Sink) -> List[Tuple[str, str, bool]]:
        """(parameter, table, principal) for each key of `sink`, not scoped by
        itself, that pins its table's primary key, a parent key or a principal
        key to one parameter of its function: the project stage asks every
        caller for a value verified for `table` (any one key will do), or
        with `principal`, for the caller's own id. An id read from the row of
        an unscoped lookup keyed by a parameter inherits that lookup's keys
        (once its callers verify them, the row is theirs)."""
        unit = sink.unit
        result = self.classified[sink.call]
        if unit.node is None or result.outcome != Outcome.UNSCOPED or sink.table is None:
            return []
        value = sink.value
        if not isinstance(value, DictVal):  # a filter, or the one row of an insert
            return []
        found: List[Tuple[str, str, bool]] = []
        for key in sorted(value.must, key=lambda k: (k not in self.primary_key(sink.table), k)):
            raw = value.values.get(key) or ()
            origins = _base(raw)
            target = sink.table if key in self.primary_key(sink.table) \
                else self.parent_of(sink.table, key)
            names = {o.name for o in origins if o.kind == "param"}
            if len(names) != 1 or len(origins) != 1:
                if target is not None:
                    found.extend(self._inherited(origins, target, unit))
                continue
            (name,) = names
            if name not in unit.param_index:
                continue
            principal = self.is_principal(sink.table, key) or (
                target is not None and any(self.is_principal(target, pk)
                                           for pk in self.primary_key(target)))
            if target is not None or principal:
                found.append((name, target or sink.table, principal))
        return list(dict.fromkeys(found))

    def _inherited(self, origins: FrozenSet[Origin], table: str,
                   unit) -> List[Tuple[str, str, bool]]:
        """The keyed parameters of the unscoped lookup whose row `origins` is
        read from, when the column read is an id of `table`."""
        if len(origins) != 1:
            return []
        read = _column_read(next(iter(origins)))
        if read is None:
            return []
        column, source, defs = read
        call = lookup_call(source, defs)
        lookup = self.sinks.get(call) if call is not None else None
        if lookup is None or lookup.unit is not unit or lookup.operation != Operation.READ \
                or lookup.table is None:
            return []
        if not ((lookup.table == table and column in self.primary_key(table))
                or self.parent_of(lookup.table, column) == table):
            return []
        return self.keyed_params(lookup)

    def is_caller_value(self, origins: FrozenSet[Origin], unit) -> bool:
        """`origins` is the caller's own id from the auth context."""
        if not origins or not all(_may_be_auth(o, unit) for o in origins):
            return False  # (most values: no judge needed)
        judge = self._judge(unit)
        return all(judge.is_caller(o) for o in origins)

    def membership_checked(self, origins: FrozenSet[Origin], envs: Sequence[Env],
                           unit) -> Optional[str]:
        """The configured `scoping-helpers` call (its name) that, on every path
        to here, was handed `origins` (an organization named by the request)
        together with the caller's own id: a membership check, after which
        the organization is the caller's (a trusted tenant value)."""
        wanted = _base(origins)
        if not wanted or not envs or not self.helpers:
            return None
        for call in envs[0].called | envs[0].found:
            if not self._is_helper(call) or not all(
                    call in env.called or call in env.found for env in envs):
                continue
            name = dotted(call.func) or ""
            if name.split(".")[-1] in ("Depends", "Security"):
                continue
            values = [_base(envs[0].defs[arg.value.value]) if isinstance(arg.value, cst.Name)
                      and arg.value.value in envs[0].defs
                      else _base([Origin("expr", node=arg.value, defs=envs[0].defs)])
                      for arg in call.args if not arg.star]
            if wanted in values and any(v != wanted and self.is_caller_value(v, unit)
                                        for v in values):
                return name
        return None

    def argument_helpers(self, origins: FrozenSet[Origin],
                         env: Env) -> List[Tuple[cst.CSTNode, str, bool]]:
        """(call, its argument key, result tested): project calls that
        returned before `env` (or whose result was tested) and were handed
        `origins`: the project stage decides whether they verify it."""
        wanted = _base(origins)
        if not wanted:
            return []
        candidates = [(call, False) for call in env.called]
        candidates += [(call, True) for call in env.found if call not in self.sinks]
        found = []
        for call, tested in sorted(candidates, key=lambda c: (id(c[0]), c[1])):
            key = _argument_key(call, wanted, env)
            if key is not None:
                found.append((call, key, tested))
        return found

    def pinned(self, sink: Sink) -> List[Tuple[FrozenSet[Origin], str]]:
        """(value, table it must be verified for) for each key of an unscoped
        filter or row that is the table's primary key or a parent key."""
        value = sink.value
        if sink.table is None or not isinstance(value, DictVal) \
                or self.classified[sink.call].outcome != Outcome.UNSCOPED:
            return []
        found = []
        for key in sorted(value.must):
            origins = _base(value.values.get(key) or ())
            target = sink.table if key in self.primary_key(sink.table) \
                else self.parent_of(sink.table, key)
            if origins and target is not None:
                found.append((origins, target))
        return found

    def candidate_helpers(self, sink: Sink) -> List[Tuple[cst.CSTNode, str, str, bool]]:
        """(call, argument key or route parameter, table, result tested):
        project calls made before `sink` on every path (or whose result was
        tested, `if not row: raise`), handed an id it pins; the project stage
        decides whether they verify it."""
        envs = self.envs.get(sink.call) or []
        if not envs:
            return []
        found = []
        for origins, table in self.pinned(sink):
            candidates = [(call, False) for call in envs[0].called
                          if all(call in env.called for env in envs)]
            candidates += [(call, True) for call in envs[0].found
                           if call not in self.sinks and all(call in env.found for env in envs)]
            for call, tested in sorted(candidates, key=lambda c: (id(c[0]), c[1])):
                key = _argument_key(call, origins, envs[0])
                if key is not None:
                    found.append((call, key, table, tested))
        return found

    def scoping_helper(self, sink: Sink, exits) -> Optional[Tuple[str, str, str]]:
        """(parameter, table, kind) when `sink` is a tenant-scoped read by the
        primary key pinned to a parameter, and its function returns only once
        the row was found ("raises") or else returns None ("returns")."""
        unit = sink.unit
        value = sink.value
        if unit.node is None or sink.operation != Operation.READ or sink.table is None \
                or not isinstance(value, DictVal) or not exits \
                or self.classified[sink.call].outcome != Outcome.SCOPED:
            return None
        missing = [node for env, node in exits
                   if sink.call not in env.found or not self._held(sink.call, env)]
        if not missing:
            kind = "raises"
        elif all(node is None or (isinstance(node, cst.Name) and node.value == "None")
                 for node in missing) and len(missing) < len(exits):
            kind = "returns"
        else:
            return None
        for key in self.primary_key(sink.table):
            origins = _base(value.values.get(key) or ())
            names = {o.name for o in origins if o.kind == "param"}
            if key in value.must and len(origins) == 1 and len(names) == 1:
                (name,) = names
                if name in unit.param_index:
                    return name, sink.table, kind
        return None

    def verified_tables(self, origins: FrozenSet[Origin], env: Env) -> Tuple[str, ...]:
        """The tables `origins` is verified for at `env` ("*": by a scoping helper)."""
        wanted = _base(origins)
        if not wanted:
            return ()
        tables: Set[str] = set()
        for call in env.found:
            lookup = self.sinks.get(call)
            if lookup is not None:
                if lookup.table is None or not isinstance(lookup.value, DictVal) \
                        or self.classified[call].outcome != Outcome.SCOPED \
                        or not self._held(call, env):
                    continue
                for key in self.primary_key(lookup.table):
                    pinned = lookup.value.values.get(key)
                    if key in lookup.value.must and pinned and _base(pinned) == wanted:
                        tables.add(lookup.table)
            elif self._is_helper(call) and _base_of_args(call, env) & wanted == wanted:
                tables.add("*")
        for origin in origins:
            read = _column_read(origin)
            if read is None:
                break
        else:
            tables |= self._row_tables(origins, env)
        return tuple(sorted(tables))

    def _row_tables(self, origins: FrozenSet[Origin], env: Env) -> Set[str]:
        found: Optional[Set[str]] = None
        for origin in origins:
            column, source, defs = _column_read(origin)
            call = lookup_call(source, defs)
            lookup = self.sinks.get(call) if call is not None else None
            if lookup is None or lookup.operation not in _ROW_SOURCES or lookup.table is None \
                    or self.classified[call].outcome != Outcome.SCOPED \
                    or not self._held(call, env):
                return set()
            here = {lookup.table} if column in self.primary_key(lookup.table) else set()
            parent = self.parent_of(lookup.table, column)
            if parent is not None:
                here.add(parent)
            found = here if found is None else found & here
        return found or set()

    # -- facts of tables -------------------------------------------------------
    def primary_key(self, table: str) -> Tuple[str, ...]:
        fact = self._fact(table)
        return fact.primary_key if fact is not None and fact.primary_key else ("id",)

    def _fact(self, table: str):
        tables = getattr(self.catalog, "tables", None)
        return tables.get(table.rsplit(".", 1)[-1].lower()) if tables else None

    def _has_tenant_column(self, table: str, result: Classified) -> bool:
        """Whether the catalog says `table` itself has its tenant column."""
        fact = self._fact(table)
        tenant_key = result.tenant_key or self.config.tenant_key_for(table)
        return fact is not None and tenant_key in fact.columns

    def parent_of(self, table: str, column: str) -> Optional[str]:
        """The tenant-owned table `table.column` points at, if any."""
        parent: Optional[str] = None
        for entry in self.config.parent_keys.get(table, "").split(","):
            name, _, explicit = (part.strip() for part in entry.partition("->"))
            if name == column:
                parent = explicit or self._fk_target(table, column) or self._named_table(column)
        if parent is None:
            parent = self._fk_target(table, column)
        if parent is None or not self._is_tenant(parent):
            return None
        return parent

    def _fk_target(self, table: str, column: str) -> Optional[str]:
        fact = self._fact(table)
        for fk in (fact.foreign_keys if fact is not None else ()):
            if fk.column == column and fk.target in self.primary_key(fk.table):
                return fk.table
        return None

    def _named_table(self, column: str) -> Optional[str]:
        """`task_id` -> `tasks` (or `task`), when the catalog knows that table."""
        if not column.endswith("_id"):
            return None
        stem = column[:-3]
        for name in (stem + "s", stem + "es", stem[:-1] + "ies", stem):
            if self._fact(name) is not None:
                return name
        return stem + "s"

    def _is_tenant(self, table: str) -> bool:
        check = getattr(self.catalog, "is_tenant_table", None) or self.config.is_tenant_table
        return check(table)

    def is_principal(self, table: str, key: str) -> bool:
        return key in self.principal_keys or f"{table}.{key}" in self.principal_keys

    # -- values ----------------------------------------------------------------
    def verified(self, origins: FrozenSet[Origin], table: str, envs: List[Env],
                 sink: Sink) -> Optional[Proof]:
        """How `origins` is verified for `table` on every path to `sink`, or None."""
        row = self.row_read(origins, table, envs)
        if row is not None:
            return row
        first: Optional[Proof] = None
        for env in envs:
            proof = self.checked(origins, table, env, sink)
            if proof is None:
                return None
            first = first or proof
        return first

    def checked(self, origins: FrozenSet[Origin], table: str, env: Env,
                sink: Sink) -> Optional[Proof]:
        wanted = _base(origins)
        for call in env.found:
            lookup = self.sinks.get(call)
            if lookup is not None:
                if lookup is sink or lookup.table != table \
                        or self.classified[call].outcome != Outcome.SCOPED \
                        or not isinstance(lookup.value, DictVal) or not self._held(call, env):
                    continue
                for key in self.primary_key(table):
                    pinned = lookup.value.values.get(key)
                    if key in lookup.value.must and pinned and _base(pinned) == wanted:
                        return Proof("verified by the lookup at line {line}", call)
            elif self._is_helper(call) and _base_of_args(call, env) & wanted == wanted:
                name = dotted(call.func) or "the scoping helper"
                if name.split(".")[-1] in ("Depends", "Security") and call.args:
                    name = f"{name}({dotted(call.args[0].value)})"
                return Proof(f"verified by `{name}` at line {{line}}", call)
        return None

    def _held(self, call: cst.CSTNode, env: Env) -> bool:
        """A read proven by a check in code counts only where that check held."""
        check = self.checked_in_code.get(call)
        return check is None or check in env.found

    def _is_helper(self, call: cst.CSTNode) -> bool:
        if not isinstance(call, cst.Call) or not self.helpers:
            return False
        name = dotted(call.func)
        if name and name.split(".")[-1] in ("Depends", "Security") and call.args:
            name = dotted(call.args[0].value)
        return bool(name) and name.split(".")[-1] in self.helpers

    def row_read(self, origins: FrozenSet[Origin], table: str,
                 envs: Sequence[Env] = ()) -> Optional[Proof]:
        """Every origin reads a column of a row loaded tenant-scoped, and that
        column is the id of a `table` row (its own `id`, or a key referencing it).
        A row checked in code counts only where the check held (in `found`)."""
        proof: Optional[Proof] = None
        for origin in origins:
            read = _column_read(origin)
            if read is None:
                return None
            column, source, defs = read
            call = lookup_call(source, defs)
            lookup = self.sinks.get(call) if call is not None else None
            if lookup is None or lookup.operation not in _ROW_SOURCES or lookup.table is None \
                    or self.classified[call].outcome != Outcome.SCOPED \
                    or not all(self._held(call, env) for env in envs):
                return None
            if lookup.table == table and column in self.primary_key(table):
                pass
            elif self.parent_of(lookup.table, column) != table:
                return None
            how = "inserted" if lookup.operation == Operation.INSERT else "loaded"
            proof = proof or Proof(f"read from the '{lookup.table}' row {how} with the "
                                   "tenant key at line {line}", call)
        return proof

    def caller_identity(self, origins: FrozenSet[Origin], sink: Sink) -> bool:
        return self.is_caller_value(origins, sink.unit)

    def describe(self, origins: FrozenSet[Origin], sink: Sink) -> str:
        names = {o.name for o in origins if o.kind == "param" and o.name}
        if names and len(names) == len(origins):
            if _is_route(sink.unit):
                return "it comes from the request and was not verified"
            return f"it is a parameter of `{sink.unit.qualname}` and was not verified"
        return "it was not verified"


class ScopingHelpers:
    """Value model for the flow analysis: a call of a `scoping-helpers`
    function that returns has verified what it was handed."""

    def __init__(self, config) -> None:
        self.names = frozenset(h.split(".")[-1] for h in config.scoping_helpers)

    def value_of(self, call, env, analyzer):
        return None

    def mutated(self, call, env, analyzer):
        return None

    def stored(self, current, attribute, origins):
        return None

    def leaves_when_missing(self, call, env, analyzer) -> bool:
        name = dotted(call.func) if self.names else None
        return bool(name) and name.split(".")[-1] in self.names

    def configured(self, dependencies: FrozenSet[cst.CSTNode]) -> FrozenSet[cst.CSTNode]:
        """The `Depends(helper)` calls of configured helpers (verified)."""
        if not self.names:
            return frozenset()
        return frozenset(call for call in dependencies
                         if (dotted(call.args[0].value) or "").split(".")[-1] in self.names)

    def dependencies(self, unit, configured: bool = True) -> FrozenSet[cst.CSTNode]:
        """`Depends(helper)` in a route's parameters, run before the body: the
        configured helpers (verified), or with `configured=False` every
        dependency (candidates for the project stage)."""
        if (configured and not self.names) or unit.node is None:
            return frozenset()
        found = []
        for param in unit.params:
            nodes = [param.default] if param.default is not None else []
            if param.annotation is not None:
                nodes.append(param.annotation.annotation)
            while nodes:
                node = nodes.pop()
                if isinstance(node, cst.Call):
                    name = dotted(node.func) or ""
                    target = dotted(node.args[0].value) if node.args else None
                    if name.split(".")[-1] in ("Depends", "Security") and target \
                            and (not configured or target.split(".")[-1] in self.names):
                        found.append(node)
                elif isinstance(node, cst.Subscript):
                    nodes.extend(e.slice.value for e in node.slice
                                 if isinstance(e.slice, cst.Index))
        return frozenset(found)


class _IdentityJudge(_Judge):
    """The auth-context judge of tenant values, asking for the caller's own id.
    Per file, a dependency counts as authentication when `auth-dependencies`
    names it (the project stage's transitive judgement is not used here)."""

    def __init__(self, config, info, unit, principal_keys: Iterable[str],
                 tenant: bool = False) -> None:
        self.claims: Set[str] = set(_IDENTITY_CLAIMS) | {k.split(".")[-1] for k in principal_keys}
        if tenant:  # the caller's tenant id instead (`user["clerk_org_id"]`)
            self.claims = ({config.tenant_key} | set(config.tenant_columns)
                           | set(config.table_keys.values()))
        aliases = {name for name, value in info.module_assignments.items()
                   if annotated_dependencies(value)}
        self.dependencies: Dict[str, str] = {}
        for param in unit.params:
            dependency = param_dependency(param, aliases, info.imports)
            if dependency:
                self.dependencies[param.name.value] = dependency
        self.tenant_params: Set[str] = set()
        # `tenant-sources` name the tenant, not the caller
        self.sources: Set[str] = set(config.tenant_sources) if tenant else set()
        # flask_login's `current_user` is the authenticated user (a global proxy)
        self.auth_globals = {name for name, (module, attr) in info.imports.items()
                             if module.split(".")[0] == "flask_login" and attr == "current_user"}
        self.auth = {d.split(".")[-1] for d in config.auth_dependencies}

    def is_caller(self, origin: Origin) -> bool:
        if origin.kind == "param":  # `user_id: str = Depends(get_current_user_id)`
            dependency = self.dependencies.get(origin.name or "")
            return dependency is not None and dependency.split(".")[-1] in self.auth
        requires = self.trusted(origin)
        return requires is not None and all(r.split(".")[-1] in self.auth for r in requires)

def _scoped(result: Classified, proof: Proof) -> Classified:
    return Classified(Outcome.SCOPED, result.tenant_key, proof.text, result.tenant_origins,
                      proof)


def _unproven(result: Classified, proof: Proof) -> Classified:
    return Classified(result.outcome, result.tenant_key, f"{result.detail} {proof.text}",
                      result.tenant_origins, proof)


def _with_prefix(proof: Proof, prefix: str, target: str, table: str) -> Proof:
    where = f" for '{target}'" if target != table else ""
    return Proof(prefix + proof.text + where, proof.node)


def _value_name(origins: FrozenSet[Origin], key: str) -> str:
    """The parameter a filter value is (`call_id`), else the column it pins."""
    names = {o.name for o in _base(origins) if o.kind == "param"}
    if len(names) == 1 and len(_base(origins)) == 1:
        return names.pop()
    reads = {read[0] for read in map(_column_read, origins) if read is not None}
    return reads.pop() if len(reads) == 1 else key


# the calls whose result rows are the table's: reads, and inserts (the row just
# written with the tenant key, `res.data[0]["id"]`)
_ROW_SOURCES = (Operation.READ, Operation.INSERT)
_GENERATORS = frozenset({"uuid4", "uuid1", "uuid7", "token_urlsafe", "token_hex",
                         "token_bytes", "slugify", "nanoid", "generate", "ulid", "new_id"})
_TESTS = (cst.If, cst.While)


def _may_be_auth(origin: Origin, unit) -> bool:
    """Cheap test before the judge: a parameter with a default or annotation
    (a dependency), a read from an object (a claim), or a global proxy."""
    if origin.kind == "param":
        param = next((p for p in unit.params if p.name.value == origin.name), None)
        return param is None or param.default is not None or param.annotation is not None
    if origin.kind != "expr" or origin.node is None:
        return False
    return isinstance(origin.node, (cst.Subscript, cst.Attribute, cst.Call, cst.Await,
                                    cst.Name))


def _generated(origin: Origin) -> bool:
    """A value the code generates itself (`str(uuid.uuid4())`, `slugify(name)`)."""
    if origin.kind != "expr" or origin.node is None:
        return False
    node, _ = _unwrap(origin.node, {})
    if isinstance(node, cst.Await):
        node = node.expression
    if isinstance(node, cst.Call):
        name = dotted(node.func) or ""
        return name.split(".")[-1] in _GENERATORS
    return False


def _selected_columns(call: cst.Call) -> Optional[Set[str]]:
    """The columns a query chain selects (`.select("id")`), if it says."""
    node: cst.CSTNode = call
    while isinstance(node, (cst.Call, cst.Attribute, cst.Subscript)):
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "select" and node.args:
                text = string_value(node.args[0].value)
                if text is None or "*" in text or "(" in text:
                    return None
                return {c.strip() for c in text.split(",") if c.strip()}
            node = func
        else:
            node = node.value
    return None


def _only_tested(function: cst.CSTNode, call: cst.Call,
                 statement: Optional[cst.CSTNode]) -> bool:
    """The result of `call` is used only as a truth value: the call sits in
    an `if`/`while` test, or it is assigned to a name that every later use
    tests (`if res.data:`, `if not existing.data`)."""
    target = None
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 \
            and isinstance(statement.body[0], cst.Assign) \
            and len(statement.body[0].targets) == 1 \
            and isinstance(statement.body[0].targets[0].target, cst.Name):
        target = statement.body[0].targets[0].target.value
    uses = tested = 0
    found_call = False
    stack: List[Tuple[cst.CSTNode, bool]] = [(function, False)]
    while stack:
        node, in_test = stack.pop()
        if node is call:
            found_call = found_call or in_test
            continue
        if isinstance(node, cst.Name) and node.value == target:
            uses += 1
            tested += in_test
            continue
        if isinstance(node, cst.Assign) and node is statement.body[0] if target else False:
            stack.append((node.value, in_test))
            continue
        for child in node.children:
            test = in_test or (isinstance(node, _TESTS) and child is node.test) \
                or (isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not))
            stack.append((child, test))
    if target is None:
        return found_call
    return uses > 0 and uses == tested


def _source_of(origins: FrozenSet[Origin], key: str) -> str:
    """The source text of one compared value (`current_user["clerk_org_id"]`),
    else its parameter's name."""
    base = _base(origins)
    if len(base) == 1:
        (origin,) = base
        if origin.kind == "expr" and origin.node is not None:
            text = " ".join(cst.Module([]).code_for_node(origin.node).split())
            if len(text) <= 60:
                return text
    return _value_name(origins, key)


def _unwrap(node: cst.CSTNode, defs) -> Tuple[cst.CSTNode, Mapping]:
    while isinstance(node, cst.Call) and len(node.args) == 1 \
            and dotted(node.func) in SAME_VALUE_CALLS:
        node = node.args[0].value
    return node, defs


def _base(origins: Iterable[Origin]) -> FrozenSet[Origin]:
    """The values behind `str(x)`, `UUID(x)` and names: what two filters compare."""
    found: Set[Origin] = set()
    for origin in origins:
        if origin.kind == "expr" and origin.node is not None:
            node, defs = _unwrap(origin.node, origin.defs or {})
            if node is not origin.node and isinstance(node, cst.Name) and node.value in defs:
                found |= _base(defs[node.value])
                continue
        found.add(origin)
    return frozenset(found)


def _base_of_args(call: cst.Call, env: Env) -> FrozenSet[Origin]:
    """The values handed to a helper (for `Depends(helper)`: the route's own
    parameters, which FastAPI hands to the dependency by name)."""
    name = dotted(call.func) or ""
    if name.split(".")[-1] in ("Depends", "Security"):
        return frozenset(o for origins in env.defs.values() for o in origins
                         if o.kind == "param")
    found: Set[Origin] = set()
    for arg in call.args:
        node = arg.value
        if isinstance(node, cst.Name) and node.value in env.defs:
            found |= _base(env.defs[node.value])
        else:
            found |= _base([Origin("expr", node=node, defs=env.defs)])
    return frozenset(found)


def _argument_key(call: cst.CSTNode, origins: FrozenSet[Origin], env: Env) -> Optional[str]:
    """Where `call` is handed the value `origins`: a position, a keyword, or
    (for `Depends(helper)`) the name of the route parameter it is."""
    if not isinstance(call, cst.Call):
        return None
    name = dotted(call.func) or ""
    if name.split(".")[-1] in ("Depends", "Security"):
        names = {o.name for o in origins if o.kind == "param"}
        return names.pop() if len(names) == 1 and len(origins) == 1 else None
    position = 0
    for arg in call.args:
        if arg.star:
            return None
        key = arg.keyword.value if arg.keyword is not None else str(position)
        if arg.keyword is None:
            position += 1
        node = arg.value
        given = env.defs.get(node.value) if isinstance(node, cst.Name) else None
        if given is None:
            given = frozenset({Origin("expr", node=node, defs=env.defs)})
        if _base(given) == origins:
            return key
    return None


def _column_read(origin: Origin) -> Optional[Tuple[str, cst.CSTNode, Mapping]]:
    """`row["col"]`, `row.get("col")`, `row.col` (inside `str()` and the like):
    (column, the row expression, the definitions it was read under)."""
    if origin.kind != "expr" or origin.node is None:
        return None
    node, defs = _unwrap(origin.node, origin.defs or {})
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 \
            and isinstance(node.slice[0].slice, cst.Index):
        column = string_value(node.slice[0].slice.value)
        return (column, node.value, defs) if column else None
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
            and node.func.attr.value == "get" and node.args:
        column = string_value(node.args[0].value)
        return (column, node.func.value, defs) if column else None
    if isinstance(node, cst.Attribute) and node.attr.value not in ("data",):
        return node.attr.value, node.value, defs
    return None


def _is_route(unit) -> bool:
    node = unit.node
    if not isinstance(node, cst.FunctionDef):
        return False
    for decorator in node.decorators:
        target = decorator.decorator
        if isinstance(target, cst.Call):
            target = target.func
        if isinstance(target, cst.Attribute) and target.attr.value in _ROUTE_WORDS:
            return True
    return False
