"""`check --show-settings`: the effective configuration, where it came from,
the project root, the presets and tables, and how many files a run would
check (as ruff's `--show-settings` does), so a surprising run can be
explained without reading the code."""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import List, Sequence

from .config import Config
from .discovery import Skipped, discover


def describe(paths: Sequence[Path], config: Config, options) -> str:
    from .engine import check_rule_codes, effective_config
    from .migrations import load_project_schema
    check_rule_codes(config, options)
    config = effective_config(config, options)
    skipped = Skipped()
    files, problems = discover(paths, config.root, config.exclude, options.force_exclude,
                               skipped=skipped)
    version = config.target_version or sys.version_info[:2]
    source = config.target_version_source or "the running Python"
    lines: List[str] = [
        f"Settings path: {config.path or 'none (built-in defaults)'}",
        f"Project root: {config.root}",
        f"Checked paths: {', '.join(str(p) for p in paths)}",
        f"Discovered files: {len(files)}" + (f" ({len(problems)} not readable)"
                                             if problems else ""),
        f"Skipped: {skipped.describe() or '-'}",
        f"Target version: {version[0]}.{version[1]} (from {source})",
        f"Presets: {', '.join(config.presets)}",
        f"Tenant key: {config.tenant_key}",
        f"Tenant tables: {_items(config.tenant_tables) or 'every table not listed as global'}",
        f"Global tables: {_items(config.global_tables) or '-'}",
        f"Table keys: {_items(f'{t} = {k}' for t, k in sorted(config.table_keys.items())) or '-'}",
    ]
    schema, errors = load_project_schema(config)
    if schema is None:
        lines.append("Schema: no migrations found")
    else:
        tables = schema.schema.to_json()["tables"]
        tenant = sorted(t for t in tables if schema.scope.is_tenant_table(t))
        lines.append(f"Schema: {len(schema.schema.files)} migration files, {len(tables)} "
                     f"tables, tenant-owned: {_items(tenant) or '-'}"
                     + (f" ({len(errors)} problems)" if errors else ""))
    lines.append("")
    lines.append("Settings:")
    settings = dataclasses.asdict(config)
    for key in ("raw", "path", "root", "target_version_source"):
        settings.pop(key, None)
    for key, value in settings.items():
        lines.append(f"  {key.replace('_', '-')} = {_value(value)}")
    return "\n".join(lines) + "\n"


def _items(values) -> str:
    return ", ".join(str(v) for v in values)


def _value(value) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    return repr(value) if isinstance(value, str) else str(value)
