"""The table catalog: which tables exist, which are tenant-owned and by which
column, combined from config, the migrations and the presets' project
pre-passes (ORM models), in one picklable object handed to every worker.

Explicit config always wins (`global-tables`, `tenant-tables`, `table-keys`).
Otherwise, for a table some source knows, the table is tenant-owned iff it
has one of the tenant columns (`tenant-key`, then `tenant-columns`; the first
present is its key), and a table without one is not checked. A table no
source knows falls back to the config rules and is listed once as unverified
(when there is a source to compare with).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from .config import Config
from .model import DbCall, Outcome

if TYPE_CHECKING:  # pragma: no cover - pglast only where there are migrations
    from .analysis.schema import Schema


# schemas the platform owns (Supabase's auth users, storage objects, the catalogs):
# `auth.users` is never the application's tenant table `users`
SYSTEM_SCHEMAS = frozenset({"auth", "storage", "extensions", "pg_catalog", "information_schema",
                            "cron", "vault", "net", "realtime", "supabase_functions"})


@dataclass(frozen=True)
class ForeignKey:
    column: str
    table: str  # the referenced table
    target: str = "id"  # the referenced column


@dataclass(frozen=True)
class TableFact:
    """What one source says of one table (plain data)."""

    name: str
    columns: Tuple[str, ...]
    source: str  # "migrations", or the preset and file that declared it
    primary_key: Tuple[str, ...] = ()
    foreign_keys: Tuple[ForeignKey, ...] = ()
    model: Optional[str] = None  # ORM class name, when a model declared it
    # columns every ORM read of it is filtered by, session-wide (SQLAlchemy's
    # `with_loader_criteria` in a `do_orm_execute` listener)
    read_criteria: Tuple[str, ...] = ()
    # the key a preset derived for the table (an ORM foreign key to a
    # tenant-owned parent), when it is not one of the configured tenant columns
    tenant_key: Optional[str] = None


@dataclass(frozen=True)
class SqlFunction:
    """A database function the migrations create (`CREATE FUNCTION`)."""

    name: str
    params: Tuple[str, ...]  # argument names, in order ("" for an unnamed one)
    body: str
    language: str  # sql | plpgsql | ...
    security_definer: bool
    path: str
    line: int
    # a plpgsql body's SQL, statement by statement, from pglast's plpgsql parser
    # (empty: not parsed; the body is then split on ";")
    statements: Tuple[str, ...] = ()


class TableCatalog:
    def __init__(self, config: Config, facts: Iterable[TableFact] = ()) -> None:
        self.config = config
        self.explicit: FrozenSet[str] = frozenset(
            (*config.global_tables, *config.tenant_tables, *config.table_keys))
        self.candidates: Tuple[str, ...] = tuple(dict.fromkeys(
            (config.tenant_key, *config.tenant_columns)))
        self.tables: Dict[str, TableFact] = {}
        self.models: Dict[str, str] = {}  # model class name -> table
        # table -> its tenant column, or None for a table without one
        self.schema_keys: Dict[str, Optional[str]] = {}
        # preset name -> its `project()` pre-pass facts (plain data)
        self.project_facts: Dict[str, Any] = {}
        # database functions from the migrations (supabase `.rpc()` bodies)
        self.functions: Dict[str, "SqlFunction"] = {}
        for fact in facts:
            self.add(fact)

    @classmethod
    def from_schema(cls, config: Config, schema: Optional["Schema"],
                    facts: Iterable[TableFact] = ()) -> "TableCatalog":
        found: List[TableFact] = []
        if schema is not None:
            found = [TableFact(name, tuple(table.columns), "migrations",
                               tuple(table.primary_key),
                               tuple(ForeignKey(*fk) for fk in table.foreign_keys))
                     for name, table in schema.tables.items()]
        catalog = cls(config, [*found, *facts])
        if schema is not None:
            catalog.functions = dict(getattr(schema, "functions", {}))
        return catalog

    def add(self, fact: TableFact) -> None:
        name = self._name(fact.name)
        if fact.model:  # several models may share one table (single-table inheritance)
            self.models[fact.model] = name
        known = self.tables.get(name)
        if known is not None:  # migrations and models both know it: one table
            fact = TableFact(
                known.name, tuple(dict.fromkeys((*known.columns, *fact.columns))),
                known.source if fact.source == known.source else f"{known.source}, {fact.source}",
                known.primary_key or fact.primary_key,
                tuple(dict.fromkeys((*known.foreign_keys, *fact.foreign_keys))),
                known.model or fact.model,
                tuple(dict.fromkeys((*known.read_criteria, *fact.read_criteria))),
                known.tenant_key or fact.tenant_key)
        self.tables[name] = fact
        self.schema_keys[name] = fact.tenant_key or next(
            (c for c in self.candidates if c in fact.columns), None)

    def fingerprint(self) -> str:
        """Digest of what the catalog tells the per-file checks (for result
        caches: a migration that adds a tenant column changes every file's verdicts)."""
        blob = json.dumps(sorted(
            (name, key, sorted(self.tables[name].primary_key),
             sorted((f.column, f.table, f.target) for f in self.tables[name].foreign_keys),
             self.tables[name].model, sorted(self.tables[name].read_criteria))
            for name, key in self.schema_keys.items()))
        blob += json.dumps(self.project_facts, sort_keys=True, default=repr)
        blob += json.dumps(sorted((f.name, f.params, f.body, f.language, f.security_definer)
                                  for f in self.functions.values()))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @staticmethod
    def _name(table: str) -> str:
        """Code names tables as PostgREST does: unqualified; the schema model lower-cases."""
        return table.rsplit(".", 1)[-1].lower()

    def columns_of(self, table: str) -> Optional[Tuple[str, ...]]:
        fact = self.tables.get(self._name(table))
        return fact.columns if fact is not None else None

    def in_schema(self, table: str) -> bool:
        return self._name(table) in self.schema_keys

    def table_of_model(self, model: str) -> Optional[str]:
        return self.models.get(model)

    def read_criteria(self, table: str) -> Tuple[str, ...]:
        fact = self.tables.get(self._name(table))
        return fact.read_criteria if fact is not None else ()

    def is_tenant_table(self, table: str) -> bool:
        if table.partition(".")[0] in SYSTEM_SCHEMAS and "." in table:
            return False
        if table in self.config.global_tables:
            return False
        if table in self.config.tenant_tables or table in self.config.table_keys:
            return True
        name = self._name(table)
        if name in self.schema_keys:
            return self.schema_keys[name] is not None
        return self.config.is_tenant_table(table)

    def tenant_key_for(self, table: str) -> str:
        if table in self.config.table_keys:
            return self.config.table_keys[table]
        return self.schema_keys.get(self._name(table)) or self.config.tenant_key

    def unverified_tables(self, calls: Iterable[DbCall]) -> List[DbCall]:
        """The first call on each table that the catalog does not know (a typo
        like `audit_logs` for `audit_log` is worth seeing), unless config names it."""
        seen = set()
        found = []
        for call in sorted(calls, key=lambda c: (c.path, c.line)):
            table = call.table
            if table is None or table in seen or table in self.explicit or self.in_schema(table):
                continue
            seen.add(table)
            found.append(DbCall(call.path, call.line, call.symbol, table, call.operation,
                                Outcome.UNKNOWN, f"table '{table}' is not in the schema "
                                "(migrations): check its name, or list it in config",
                                call.tenant_key, preset=call.preset))
        return found


def build_catalog(config: Config, schema: Optional["Schema"],
                  files: Sequence[Tuple[str, Optional[str], Optional[bytes]]],
                  cache_root=None) -> TableCatalog:
    """The run's catalog: config, the replayed migrations, and what each active
    preset's project pre-passes contribute (run once, before any file is
    checked; `project()` facts come from the result cache under `cache_root`
    while the files they read are unchanged)."""
    from . import presets
    contributed: List[TableFact] = []
    project: Dict[str, Any] = {}
    active = presets.active(config)
    read: Dict[str, bytes] = {}
    from .presets import base
    base._SHARE[0] = sum(1 for p in active if type(p).project is not presets.Preset.project
                         or type(p).catalog is not presets.Preset.catalog) > 1
    try:
        for preset in active:
            contributed.extend(preset.catalog(config, files))
            if type(preset).project is presets.Preset.project:
                continue  # no pre-pass
            selected = _project_files(preset, files, read)
            from .cache import project_facts
            facts = project_facts(cache_root, config, preset.name, selected,
                                  lambda: preset.project(config, selected))
            if facts is not None:
                project[preset.name] = facts
                contributed.extend(preset.project_tables(config, facts))
    finally:
        base._TREES.clear()
        base._SHARE[0] = True
    catalog = TableCatalog.from_schema(config, schema, contributed)
    catalog.project_facts = project
    return catalog


def _project_files(preset, files, read: Dict[str, bytes]):
    """The files a preset's `project()` reads, with their bytes (each file read
    once per run, whichever presets ask)."""
    chosen = []
    for path, absolute, data in files:
        if not path.endswith(".py"):
            continue
        if data is None:
            data = read.get(path)
            if data is None:
                try:
                    with open(absolute or path, "rb") as handle:
                        data = read[path] = handle.read()
                except OSError:
                    continue
        if preset.project_marker is not None and preset.project_marker.search(data) is None:
            continue
        if preset.project_also is not None and preset.project_also.search(data) is None:
            continue
        chosen.append((path, absolute, data))
    return chosen
