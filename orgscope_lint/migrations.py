"""The schema stage: find the SQL migrations, replay them once before any file
is checked, and describe the result for the run (errors, the JSON `schema`
object, tables the code uses that the schema does not know).

Migrations come from the `schema` globs (root-relative), or, when the key is
absent, from the usual folders (`database/migrations`, `supabase/migrations`).
They apply in file-name order, as migration tools run them.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from .config import SECTION, Config
from .discovery import relative
from .interrupt import deferred_interrupts
from .model import FileError, RunResult
from .source import SourceError, read_source

if TYPE_CHECKING:  # pragma: no cover - pglast is imported only when there are migrations
    from .analysis.schema import Schema
    from .catalog import TableCatalog

DEFAULT_GLOBS = ("database/migrations/*.sql", "supabase/migrations/*.sql")


@dataclass
class ProjectSchema:
    """The replayed migrations."""

    schema: Schema
    errors: List[FileError] = field(default_factory=list)

    def describe(self, result: RunResult, catalog: "TableCatalog") -> None:
        """Put the schema facts into the run result (after the DB calls are in)."""
        result.schema = schema_document(self.schema, catalog)
        result.unverified.extend(catalog.unverified_tables(result.db_calls))


def load_project_schema(config: Config, sources: Mapping[str, str] = {}
                        ) -> Tuple[Optional[ProjectSchema], List[FileError]]:
    """(the project schema, or None when there are no migrations; problems)."""
    files, problems = _migration_files(config, sources)
    if not files:
        return None, problems
    try:
        from .analysis.schema import load_schema
        # Ctrl-C inside pglast's C parser can abort the process: wait for it
        with deferred_interrupts():
            schema = load_schema(files)
    except Exception as exc:  # a parser failure must not take the code checks down
        problems.append(FileError(files[0][0], f"cannot read the migrations: "
                                               f"{type(exc).__name__}: {exc}"))
        return None, problems
    problems.extend(FileError(e.path, _rejected(e.message, e.line), e.line)
                    for e in schema.errors)
    return ProjectSchema(schema, problems), problems


_PARSER_PREFIX = "cannot parse statement: "


def _rejected(message: str, line: Optional[int]) -> str:
    """What happened to a migration statement, and that the file still counts."""
    where = f"statement at line {line}" if line else "a statement"
    if message.startswith(_PARSER_PREFIX):
        what = f"{where} rejected by the PostgreSQL parser: {message[len(_PARSER_PREFIX):]}"
    else:
        what = f"{where} not applied: {message}"
    return f"{what}; the rest of the file was applied"


def _migration_files(config: Config, sources: Mapping[str, str]
                     ) -> Tuple[List[Tuple[str, str]], List[FileError]]:
    configured = config.schema is not None
    globs = config.schema if configured else DEFAULT_GLOBS
    where = relative(config.path, config.root) if config.path else "<config>"
    problems: List[FileError] = []
    found: Dict[str, Optional[str]] = {}  # root-relative path -> in-memory text
    for pattern in globs:
        before = len(problems)
        if sources:
            matches = [p for p in sources if fnmatch.fnmatchcase(p, pattern)]
            found.update((p, sources[p]) for p in matches)
        else:
            matches = _glob(config.root, pattern, where, problems)
            found.update((p, None) for p in matches)
        if configured and not matches and len(problems) == before:
            problems.append(FileError(where, f"`{SECTION}.schema`: no file matches "
                                             f"{pattern!r} (relative to {config.root})"))
    texts: List[Tuple[str, str]] = []
    for path in sorted(found, key=lambda p: (PurePosixPath(p).name, p)):
        text = found[path]
        if text is None:
            try:
                text = read_source(config.root / path).text
            except SourceError as exc:
                problems.append(FileError(path, str(exc)))
                continue
        texts.append((path, text))
    return texts, problems


def _glob(root: Path, pattern: str, where: str, problems: List[FileError]) -> List[str]:
    if PurePosixPath(pattern).is_absolute():
        problems.append(FileError(where, f"`{SECTION}.schema`: {pattern!r} must be relative "
                                         "to the project root"))
        return []
    try:
        return sorted(relative(p, root) for p in root.glob(pattern) if p.is_file())
    except (ValueError, OSError) as exc:
        problems.append(FileError(where, f"`{SECTION}.schema`: bad pattern {pattern!r}: {exc}"))
        return []


def schema_document(schema: Schema, scope: "TableCatalog") -> Dict[str, Any]:
    """`schema.to_json()` plus what the checks concluded: each table's tenant
    column (None when it is not tenant-owned) and, per policy, whether it
    references that column."""
    doc = schema.to_json()
    for name, table in doc["tables"].items():
        tenant = scope.is_tenant_table(name)
        column = scope.tenant_key_for(name) if tenant else None
        table["tenant_table"] = tenant
        table["tenant_column"] = column
        for policy in table["policies"].values():
            policy["references_tenant_column"] = (column in policy["columns"]
                                                  if column else None)
    return doc
