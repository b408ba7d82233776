"""Which tables are tenant-owned, and by which column: config and schema combined.

Explicit config always wins (`global-tables`, `tenant-tables`, `table-keys`).
Otherwise, when migrations are known, a table is tenant-owned iff it has one
of the tenant columns (`tenant-key`, then `tenant-columns`; the first present
is its key), and a table without one is not checked. A table the schema does
not know falls back to the config rules and is listed once as unverified.

`TableScope` is plain data: it travels to the worker processes with every file.
"""
from __future__ import annotations

import hashlib
import json
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple

from .analysis.schema import Schema
from .config import Config
from .model import DbCall


class TableScope:
    def __init__(self, config: Config, schema: Optional[Schema]) -> None:
        self.config = config
        self.explicit: FrozenSet[str] = frozenset(
            (*config.global_tables, *config.tenant_tables, *config.table_keys))
        self.candidates: Tuple[str, ...] = tuple(dict.fromkeys(
            (config.tenant_key, *config.tenant_columns)))
        # table -> its tenant column, or None for a table without one
        self.schema_keys: Dict[str, Optional[str]] = {}
        if schema is not None:
            self.schema_keys = {name: schema.tenant_column(name, self.candidates)
                                for name in schema.tables}

    def fingerprint(self) -> str:
        """Digest of what the schema tells the per-file checks (for result caches:
        a migration that adds a tenant column changes every file's verdicts)."""
        blob = json.dumps(sorted(self.schema_keys.items(), key=lambda item: item[0]))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @staticmethod
    def _name(table: str) -> str:
        """Code names tables as PostgREST does: unqualified; the schema model lower-cases."""
        return table.rsplit(".", 1)[-1].lower()

    def in_schema(self, table: str) -> bool:
        return self._name(table) in self.schema_keys

    def is_tenant_table(self, table: str) -> bool:
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
        """The first call on each table that the schema does not know (a typo
        like `audit_logs` for `audit_log` is worth seeing), unless config names it."""
        seen = set()
        found = []
        for call in sorted(calls, key=lambda c: (c.path, c.line)):
            table = call.table
            if table is None or table in seen or table in self.explicit or self.in_schema(table):
                continue
            seen.add(table)
            found.append(DbCall(call.path, call.line, call.symbol, table, call.operation,
                                "unknown", f"table '{table}' is not in the schema "
                                "(migrations): check its name, or list it in config",
                                call.tenant_key))
        return found
