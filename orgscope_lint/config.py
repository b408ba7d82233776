"""Load and validate `[tool.orgscope-lint]` configuration.

Every key is declared once in `_SCHEMA`; validation, did-you-mean hints and the
defaults all come from that table, so a new key is one line.
"""
from __future__ import annotations

import difflib
import fnmatch
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

SECTION = "tool.orgscope-lint"
DOTFILE = ".orgscope-lint.toml"


class ConfigError(Exception):
    """A config problem a user can fix; the message names the file and key."""


# --- schema ---------------------------------------------------------------

STR, BOOL, INT, STRLIST, STRMAP, STRLISTMAP, TABLE, TABLELIST = (
    "a string", "a boolean", "a non-negative integer", "a list of strings",
    "a table of strings", "a table of string lists", "a table", "an array of tables",
)

_SYSTEM_CONTEXT_KEYS = {"paths": STRLIST, "functions": STRLIST, "reason": STR}
_SECTION_KEYS = {"title": STR, "paths": STRLIST}

_SCHEMA: Dict[str, Any] = {
    "tenant-key": STR,
    "table-keys": STRMAP,
    "tenant-tables": STRLIST,
    "global-tables": STRLIST,
    "tenant-columns": STRLIST,
    "schema": STRLIST,
    "exclude": STRLIST,
    "system-contexts": (TABLELIST, _SYSTEM_CONTEXT_KEYS),
    "db": (TABLE, {  # and each preset's own settings (`_with_presets`)
        "presets": STRLIST,
    }),
    "select": STRLIST,
    "ignore": STRLIST,
    "per-file-ignores": STRLISTMAP,
    "severity": STRMAP,
    "fail-on": STR,
    "strict": BOOL,
    "auth-dependencies": STRLIST,
    "auth-decorators": STRLIST,
    "public-routes": STRLIST,
    "privileged-clients": STRLIST,
    "tenant-headers": STRLIST,
    "tenant-sources": STRLIST,
    "parent-keys": STRMAP,
    "principal-keys": STRLIST,
    "scoping-helpers": STRLIST,
    "require-suppression-reason": BOOL,
    "max-file-size": INT,
    "target-version": STR,
    "report": (TABLE, {
        "title": STR,
        "sections": (TABLELIST, _SECTION_KEYS),
        "checklist": STRLIST,
    }),
}

@dataclass(frozen=True)
class SystemContext:
    paths: Tuple[str, ...]
    functions: Tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class ReportSection:
    title: str
    paths: Tuple[str, ...]


@dataclass
class Config:
    path: Optional[Path] = None
    root: Path = field(default_factory=Path.cwd)
    tenant_key: str = "clerk_org_id"
    table_keys: Dict[str, str] = field(default_factory=dict)
    tenant_tables: Tuple[str, ...] = ()
    global_tables: Tuple[str, ...] = ()
    tenant_columns: Tuple[str, ...] = ("clerk_org_id", "organization_id", "tenant_id")
    schema: Optional[Tuple[str, ...]] = None
    exclude: Tuple[str, ...] = ()
    system_contexts: Tuple[SystemContext, ...] = ()
    presets: Tuple[str, ...] = ("dbservice",)
    db_methods: Dict[str, Any] = field(default_factory=dict)  # dbservice: name -> DbMethod
    receiver_names: Tuple[str, ...] = ("db", "self.db", "admin_db", "self.admin_db")
    receiver_classes: Tuple[str, ...] = ("DatabaseService", "DatabaseAdminService")
    clients: Tuple[str, ...] = ("supabase", "client", "self.client", "self.supabase",
                                "get_supabase_client", "get_db", "get_supabase",
                                "get_supabase_admin_client", "create_client")
    sql_functions: Tuple[str, ...] = ()  # sql preset: functions run SQL handed to them
    rpc_tenant_params: Tuple[str, ...] = ()  # supabase: rpc parameters carrying the tenant
    select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()
    per_file_ignores: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    severity: Dict[str, str] = field(default_factory=dict)
    fail_on: str = "warning"
    strict: bool = False
    auth_dependencies: Tuple[str, ...] = ("get_current_user",)
    auth_decorators: Tuple[str, ...] = ("login_required", "auth_required", "jwt_required",
                                        "requires_auth")
    public_routes: Tuple[str, ...] = ()
    privileged_clients: Tuple[str, ...] = ("DatabaseAdminService", "get_supabase_admin_client",
                                           "get_admin_db")
    tenant_headers: Tuple[str, ...] = ("x-client-id", "x-org-id", "x-tenant-id",
                                       "x-organization-id", "x-workspace-id")
    # expressions (`current_user.active_org_id`) or functions (`get_current_tenant`)
    # whose value is the caller's tenant id: trusted like a claim of the auth context
    tenant_sources: Tuple[str, ...] = ()
    # proofs of tenancy (analysis/proofs.py): child table -> column pointing at its
    # tenant-owned parent ("task_id", or "task_id -> tasks"); columns that pin a
    # per-user row to the caller; project functions that verify their id arguments
    parent_keys: Dict[str, str] = field(default_factory=dict)
    principal_keys: Tuple[str, ...] = ()
    scoping_helpers: Tuple[str, ...] = ()
    require_suppression_reason: bool = False
    # files larger than this many bytes are not parsed (0: no limit)
    max_file_size: int = 1_000_000
    # the Python version the checked code targets (syntax, annotation
    # semantics); None: the running interpreter's
    target_version: Optional[Tuple[int, int]] = None
    target_version_source: str = ""
    report_title: Optional[str] = None
    report_sections: Tuple[ReportSection, ...] = ()
    report_checklist: Tuple[str, ...] = ()
    raw: Dict[str, Any] = field(default_factory=dict)

    # --- derived questions the analysis asks ---------------------------------

    def tenant_key_for(self, table: str) -> str:
        return self.table_keys.get(table, self.tenant_key)

    def is_tenant_table(self, table: str) -> bool:
        if table in self.global_tables:
            return False
        if self.tenant_tables:
            return table in self.tenant_tables or table in self.table_keys
        return True

    def system_context_for(self, path: str, symbol: Optional[str]) -> Optional[SystemContext]:
        for context in self.system_contexts:
            if context.paths and not any(_glob_match(path, p) for p in context.paths):
                continue
            if context.functions:
                if symbol is None or not any(_symbol_match(symbol, f) for f in context.functions):
                    continue
            return context
        return None

    def rule_enabled(self, code: str, path: str) -> bool:
        if self.select and not _code_listed(code, self.select):
            return False
        if _code_listed(code, self.ignore):
            return False
        for pattern, codes in self.per_file_ignores.items():
            if _glob_match(path, pattern) and _code_listed(code, codes):
                return False
        return True

    def defers_annotations(self) -> bool:
        """PEP 649/749: from Python 3.14 annotations are evaluated lazily."""
        version = self.target_version or sys.version_info[:2]
        return tuple(version) >= (3, 14)

    def codes_in_use(self) -> List[Tuple[str, str, bool]]:
        """(code, where it comes from, whether it must be a whole code rather
        than a prefix) for every rule code the config names, so that the
        caller can reject unknown ones."""
        where = str(self.path) if self.path else "<defaults>"
        found = [(code, f"{where}: `{SECTION}.select`", False) for code in self.select]
        found += [(code, f"{where}: `{SECTION}.ignore`", False) for code in self.ignore]
        for pattern, codes in self.per_file_ignores.items():
            found += [(code, f"{where}: `{SECTION}.per-file-ignores.\"{pattern}\"`", False)
                      for code in codes]
        found += [(code, f"{where}: `{SECTION}.severity`", True) for code in self.severity]
        return found

    def fingerprint(self) -> str:
        """Stable digest of everything that can change analysis results."""
        blob = json.dumps(self.raw, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _code_listed(code: str, codes: Sequence[str]) -> bool:
    """`ORG102` matches itself; a prefix such as `ORG1` selects a whole family."""
    return any(code.startswith(c) for c in codes if c)


def _glob_match(path: str, pattern: str) -> bool:
    """Match a root-relative posix path against a glob; `**` crosses directories."""
    pattern = pattern.strip("/")
    if fnmatch.fnmatchcase(path, pattern):
        return True
    if pattern.endswith("/**") or "/" not in pattern:
        # a directory prefix (`app/tasks/**`) or a bare name (`tasks`) matches inside it
        prefix = pattern[:-3] if pattern.endswith("/**") else pattern
        parts = path.split("/")
        return any(fnmatch.fnmatchcase("/".join(parts[: i + 1]), prefix)
                   for i in range(len(parts)))
    return False


def _symbol_match(symbol: str, pattern: str) -> bool:
    """`ultravox_webhook` matches that function and anything nested in it;
    `TelephonyService.sync` matches that method; globs are allowed."""
    return (fnmatch.fnmatchcase(symbol, pattern)
            or symbol.startswith(pattern + ".")
            or symbol.endswith("." + pattern))


# --- locating -------------------------------------------------------------

def _has_section(pyproject: Path) -> bool:
    try:
        with pyproject.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return "orgscope-lint" in data.get("tool", {})


def find_config(start: Path) -> Optional[Path]:
    """The nearest `.orgscope-lint.toml` or `pyproject.toml` with our section."""
    here = start.resolve()
    if here.is_file() or not here.exists():
        here = here.parent
    for directory in (here, *here.parents):
        dotfile = directory / DOTFILE
        if dotfile.is_file():
            return dotfile
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and _has_section(pyproject):
            return pyproject
    return None


def _start_dir(start: Optional[Path]) -> Path:
    here = (start or Path.cwd()).resolve()
    return here.parent if here.is_file() else here


def _repository_root(directory: Path) -> Optional[Path]:
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def project_root(config_path: Optional[Path], start: Optional[Path]) -> Path:
    """The directory finding paths, excludes and globs are relative to: the
    config file's directory when it lies at or above the checked path, else
    the repository root above the checked path, else the checked directory."""
    here = _start_dir(start)
    if config_path is not None:
        directory = config_path.resolve().parent
        if directory == here or directory in here.parents:
            return directory
    return _repository_root(here) or here


def load_config(config_file: Optional[Path] = None, start: Optional[Path] = None,
                root: Optional[Path] = None) -> Config:
    """Find (unless given), read and validate the configuration. `root`
    (`--root`) overrides the project root that `project_root` works out."""
    path = config_file or find_config(start or Path.cwd())
    if root is not None:
        root = root.resolve()
        if not root.is_dir():
            raise ConfigError(f"--root {root}: not a directory")
    if path is None:
        config = _build({}, None, root or _start_dir(start))
        _read_target_version(config, None)
        return config
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        section = data.get("tool", {}).get("orgscope-lint", {})
        prefix = SECTION
    else:
        section = data.get("tool", {}).get("orgscope-lint", data)
        prefix = SECTION if "tool" in data else ""
    _validate(section, _with_presets(_SCHEMA), str(path), prefix)
    resolved = path.resolve()
    config = _build(section, resolved, root or project_root(resolved, start))
    _read_target_version(config, data if path.name == "pyproject.toml" else None)
    return config


_VERSION = re.compile(r"^(?:py)?3\.?(\d{1,2})$")
_REQUIRES = re.compile(r"(>=|~=|==|>)\s*3\.(\d{1,2})")


def parse_target_version(text: str) -> Optional[Tuple[int, int]]:
    """`py311`, `3.11` -> (3, 11); None when it is neither."""
    match = _VERSION.match(text.strip())
    return (3, int(match.group(1))) if match else None


def _lower_bound(requires: str) -> Optional[Tuple[int, int]]:
    """The oldest Python 3 a `requires-python` specifier admits (`>=3.10,<4`: 3.10)."""
    bounds = [(3, int(minor) + (1 if op == ">" else 0)) for op, minor in _REQUIRES.findall(requires)]
    return min(bounds) if bounds else None


def _read_target_version(config: Config, pyproject: Optional[Mapping[str, Any]]) -> None:
    """`target-version` wins; else `requires-python` of the project's
    pyproject.toml (the config file's, or the one at the root)."""
    if config.target_version is not None:
        return
    pyproject_path = config.path if pyproject is not None else config.root / "pyproject.toml"
    if pyproject is None:
        try:
            with open(pyproject_path, "rb") as handle:
                pyproject = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError):
            return
    requires = pyproject.get("project", {}).get("requires-python") \
        if isinstance(pyproject.get("project"), Mapping) else None
    if isinstance(requires, str):
        version = _lower_bound(requires)
        if version is not None:
            config.target_version = version
            config.target_version_source = f"{pyproject_path}: `project.requires-python`"


def config_from_table(table: Mapping[str, Any], root: Path, where: str = "<table>") -> Config:
    """Validate and build a config from an in-memory `[tool.orgscope-lint]` table."""
    _validate(table, _with_presets(_SCHEMA), where, SECTION)
    return _build(table, None, root)


# --- validation -------------------------------------------------------------

def _with_presets(schema: Mapping[str, Any]) -> Dict[str, Any]:
    """The schema with every registered preset's settings in the `db` table."""
    from .presets import REGISTRY  # the presets read Config; config reads their settings
    kind, db_keys = schema["db"]
    merged = dict(db_keys)
    for preset in REGISTRY.values():
        merged.update(preset.settings)
    return {**schema, "db": (kind, merged)}


def _validate(data: Mapping[str, Any], schema: Mapping[str, Any], file: str, prefix: str) -> None:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{file}: `{prefix}` must be a table")
    for key, value in data.items():
        where = f"{prefix}.{key}" if prefix else key
        if key not in schema:
            hint = difflib.get_close_matches(key, list(schema), n=1)
            suggestion = f" (did you mean `{hint[0]}`?)" if hint else ""
            known = ", ".join(sorted(schema))
            raise ConfigError(f"{file}: unknown key `{where}`{suggestion}; known keys: {known}")
        _check_type(value, schema[key], file, where)


def _check_type(value: Any, kind: Any, file: str, where: str) -> None:
    if kind is None:  # position (int) or keyword (str)
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConfigError(f"{file}: `{where}` must be an argument position or keyword name")
        return
    if isinstance(kind, tuple):
        kind, nested = kind
        if kind == TABLE:
            _validate(value, nested, file, where)
            return
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise ConfigError(f"{file}: `{where}` must be {kind}, got {_type_name(value)}")
        for index, item in enumerate(value):
            _validate(item, nested, file, f"{where}[{index}]")
        return
    ok = {
        STR: lambda v: isinstance(v, str),
        BOOL: lambda v: isinstance(v, bool),
        INT: lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        STRLIST: lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
        STRMAP: lambda v: isinstance(v, Mapping) and all(isinstance(i, str) for i in v.values()),
        STRLISTMAP: lambda v: isinstance(v, Mapping) and all(
            isinstance(i, list) and all(isinstance(s, str) for s in i) for i in v.values()),
    }[kind](value)
    if not ok:
        raise ConfigError(f"{file}: `{where}` must be {kind}, got {_type_name(value)}")


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)


def _build(section: Mapping[str, Any], path: Optional[Path], root: Path) -> Config:
    where = str(path) if path else "<defaults>"
    config = Config(path=path, root=root, raw=dict(section))
    simple = {
        "tenant-key": "tenant_key", "tenant-tables": "tenant_tables",
        "global-tables": "global_tables", "tenant-columns": "tenant_columns",
        "exclude": "exclude", "select": "select", "ignore": "ignore", "fail-on": "fail_on",
        "strict": "strict", "auth-dependencies": "auth_dependencies",
        "auth-decorators": "auth_decorators", "public-routes": "public_routes",
        "privileged-clients": "privileged_clients", "tenant-headers": "tenant_headers",
        "tenant-sources": "tenant_sources",
        "principal-keys": "principal_keys", "scoping-helpers": "scoping_helpers",
        "require-suppression-reason": "require_suppression_reason",
        "max-file-size": "max_file_size",
    }
    for key, attr in simple.items():
        if key in section:
            value = section[key]
            setattr(config, attr, tuple(value) if isinstance(value, list) else value)
    if "schema" in section:
        config.schema = tuple(section["schema"])
    if "target-version" in section:
        value = section["target-version"]
        config.target_version = parse_target_version(value)
        if config.target_version is None:
            raise ConfigError(f"{where}: `{SECTION}.target-version` must look like \"py311\" "
                              f"or \"3.11\"; got {value!r}")
        config.target_version_source = f"{where}: `{SECTION}.target-version`"
    config.table_keys = dict(section.get("table-keys", {}))
    config.parent_keys = dict(section.get("parent-keys", {}))
    config.per_file_ignores = {k: tuple(v) for k, v in section.get("per-file-ignores", {}).items()}
    config.severity = dict(section.get("severity", {}))
    for code, level in config.severity.items():
        if level not in ("error", "warning", "info", "off"):
            raise ConfigError(f"{where}: `{SECTION}.severity.{code}` must be one of "
                              f"error, warning, info, off; got {level!r}")
    if config.fail_on not in ("error", "warning", "info"):
        raise ConfigError(f"{where}: `{SECTION}.fail-on` must be error, warning or info")
    config.system_contexts = tuple(
        SystemContext(tuple(c.get("paths", ())), tuple(c.get("functions", ())),
                      c.get("reason", "system context (no user JWT)"))
        for c in section.get("system-contexts", []))
    for index, context in enumerate(config.system_contexts):
        if not context.paths and not context.functions:
            raise ConfigError(f"{where}: `{SECTION}.system-contexts[{index}]` needs `paths` "
                              "or `functions`")
    db = section.get("db", {})
    config.presets = tuple(db.get("presets", config.presets))
    from .presets import REGISTRY
    for preset in config.presets:
        if preset not in REGISTRY:
            hint = difflib.get_close_matches(preset, list(REGISTRY), n=1)
            raise ConfigError(f"{where}: `{SECTION}.db.presets`: unknown preset {preset!r}"
                              + (f" (did you mean {hint[0]!r}?)" if hint else "")
                              + f"; known presets: {', '.join(sorted(REGISTRY))}")
    for preset in REGISTRY.values():
        try:
            preset.configure(config, db, where)
        except ValueError as exc:
            raise ConfigError(f"{where}: {_qualified(str(exc))}") from None
    report = section.get("report", {})
    config.report_title = report.get("title")
    config.report_sections = tuple(ReportSection(s.get("title", ""), tuple(s.get("paths", ())))
                                   for s in report.get("sections", []))
    config.report_checklist = tuple(report.get("checklist", ()))
    for index, pattern in enumerate(config.public_routes):
        _check_public_route(pattern, f"{where}: `{SECTION}.public-routes[{index}]`")
    return config


HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE",
                "WEBSOCKET", "*")


def _check_public_route(pattern: str, where: str) -> None:
    """`"GET /health"`, `"GET,HEAD /health"` or a bare path glob `"/webhooks/*"`."""
    words = pattern.split()
    if len(words) == 2 and all(m in HTTP_METHODS for m in words[0].upper().split(",")) \
            and words[1].startswith(("/", "*")):
        return
    if len(words) == 1 and words[0].startswith(("/", "*")):
        return
    raise ConfigError(f"{where}: {pattern!r} is not \"[METHOD[,METHOD]] /path-glob\" "
                      "(e.g. \"GET /health\" or \"/webhooks/*\")")


def _qualified(message: str) -> str:
    """A preset's message names its key relative to `db`: `db.methods[0].name`."""
    return message.replace("`db.", f"`{SECTION}.db.", 1)
