"""`orgscope-lint init`: inspect a project and write a starting configuration.

Every guess comes with its evidence, written next to it as a comment (see
`guesses/`): the tenant key, the auth dependencies (optional-auth ones
commented with the reason), the data-access presets (`detect_presets`), the
schema globs, system contexts and public routes (commented: the user confirms
them), scoping helpers (a comment) and a manual checklist for the report.

The section is appended to `pyproject.toml` (the rest of the file is left
byte for byte as it was) or written to a new `.orgscope-lint.toml`; an
existing configuration is never overwritten. `dry_run` only renders it.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .config import DOTFILE, _has_section
from .guesses.auth import AuthGuess, guess_auth
from .guesses.helpers import Helper, default_checklist, guess_scoping_helpers
from .guesses.source import ProjectSource, read_project
from .guesses.system import LIMIT, SystemGuess, guess_system_contexts
from .guesses.tenant import TenantGuess, guess_tenant_key
from .presets import REGISTRY
from .presets.base import Detection

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_MIGRATION_DIRS = ("migrations", "migration", "sql", "schema", "alembic")
# the default tenant columns the schema may use (config.Config.tenant_columns)
_DEFAULT_TENANT_COLUMNS = ("clerk_org_id", "organization_id", "tenant_id")


class InitError(Exception):
    """Why no configuration was written (the message names the file)."""


@dataclass
class PresetGuess:
    name: str
    evidence: int  # how many of its call shapes the preset's `detect()` saw
    settings: Dict[str, List[str]] = field(default_factory=dict)  # `receiver-classes`, ...


@dataclass
class Proposal:
    source: ProjectSource
    tenant: TenantGuess
    auth: AuthGuess
    presets: List[PresetGuess]
    schema_globs: List[str]
    system: SystemGuess
    helpers: List[Helper]
    checklist: List[str]
    notes: List[str] = field(default_factory=list)
    # the models the sqlalchemy preset's pre-pass judged tenant-owned (the tenant key)
    tenant_models: List[str] = field(default_factory=list)


def detect_presets(source: ProjectSource) -> List[PresetGuess]:
    """The data-access presets the project uses: every registered preset's
    `detect()` over every file, added up; those that saw something."""
    found: Dict[str, Detection] = {}
    for file in source.code:
        for name, preset in REGISTRY.items():
            found.setdefault(name, Detection()).add(preset.detect(file.tree, file.text))
    return [PresetGuess(name, seen.evidence, {k: sorted(v) for k, v in seen.settings.items()})
            for name, seen in found.items() if seen.evidence > 0]


def _schema_globs(source: ProjectSource) -> List[str]:
    globs = set()
    for rel, _ in source.sql:
        directory = rel.rpartition("/")[0]
        if any(p.lower() in _MIGRATION_DIRS for p in directory.split("/")):
            globs.add(f"{directory}/*.sql" if directory else "*.sql")
    return sorted(globs)


def inspect_project(root: Path) -> Proposal:
    source = read_project(root)
    auth = guess_auth(source)
    tenant = guess_tenant_key(source, auth)
    schema = _schema_globs(source)
    presets = detect_presets(source)
    return Proposal(source, tenant, auth, presets, schema,
                    guess_system_contexts(source), guess_scoping_helpers(source, tenant.key, auth),
                    default_checklist(source, tenant.key, auth, schema),
                    tenant_models=_sqlalchemy_tenant_models(source, presets, tenant.key))


def _sqlalchemy_tenant_models(source: ProjectSource, presets: List[PresetGuess],
                              key: Optional[str]) -> List[str]:
    """The sqlalchemy preset's model pre-pass: the models with the tenant key
    (or a default tenant column), directly or inherited from a mixin or base."""
    if key is None or not any(p.name == "sqlalchemy" for p in presets):
        return []
    from .presets.sqlalchemy_models import model_facts
    facts = model_facts([(f.rel, None, f.text.encode("utf-8")) for f in source.code])
    columns = {key, *_DEFAULT_TENANT_COLUMNS}
    return sorted({f.model for f in facts if f.model and columns & set(f.columns)})


# --- rendering -----------------------------------------------------------------

def _toml_list(items) -> str:
    return "[" + ", ".join(_toml_string(i) for i in items) + "]"


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _comment(text: str) -> str:
    return " ".join(str(text).split())


def render_config(proposal: Proposal, prefix: str) -> str:
    """The starting configuration; `prefix` is `tool.orgscope-lint` for
    pyproject.toml and empty for `.orgscope-lint.toml`."""
    def table(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    source, tenant, auth = proposal.source, proposal.tenant, proposal.auth
    lines: List[str] = []
    add = lines.append
    if prefix:
        add(f"[{prefix}]")
    add(f"# Written by `orgscope-lint init` from {source.read} Python files"
        + (f" ({len(source.unreadable)} could not be read)" if source.unreadable else "")
        + ": review it, then commit it.")
    if source.skipped:
        add(f"# Not read: {_comment(source.skipped.describe())}")
    if tenant.key:
        add(f"tenant-key = {_toml_string(tenant.key)}  # {_comment(tenant.evidence)}")
        # a candidate on no table and barely used is a local variable's name
        # (`requested_tenant_id`), not a key: not worth listing
        others = [(k, t, u) for k, t, u in tenant.candidates
                  if k != tenant.key and (t or u >= 3)][:3]
        if others:
            add("# other candidates: " + ", ".join(
                f"{k} ({t} {'table' if t == 1 else 'tables'}, {u} uses)"
                for k, t, u in others)[:200])
        # the defaults hold when every column the tables need is one of them;
        # a list written replaces them, so it names each needed column
        needed = [k for k in tenant.others_needed if k != tenant.key]
        if any(k not in _DEFAULT_TENANT_COLUMNS for k in needed):
            add(f"tenant-columns = {_toml_list([tenant.key] + needed)}  "
                "# tables without the tenant key carry these")
    else:
        add('tenant-key = "clerk_org_id"  # no tenant key seen in the schema, models or code: '
            "set yours")
    if proposal.schema_globs:
        add(f"schema = {_toml_list(proposal.schema_globs)}  # SQL migrations")
    tests = sorted({f.rel.split("/")[0] + "/" for f in source.files if f.is_test
                    and "/" in f.rel and f.rel.split("/")[0] in ("tests", "test")})
    if tests:
        add(f"exclude = {_toml_list(tests)}  # test code: it does not serve requests")
    if tenant.global_tables:
        add("# Tables that look shared by every organization (uncomment if they are):")
        add(f"# global-tables = {_toml_list([t for t, _ in tenant.global_tables])}  # "
            + _comment("; ".join(f"{t}: {why}" for t, why in tenant.global_tables)))
    else:
        add("# global-tables = []  # tables shared by every organization")
    if proposal.tenant_models:
        shown = proposal.tenant_models[:30]
        add("# tenant-owned models (with the tenant column; the sqlalchemy preset): "
            + ", ".join(shown) + (", ..." if len(proposal.tenant_models) > 30 else ""))
    _auth_lines(lines, auth)
    _public_lines(lines, proposal.system)
    if proposal.helpers:
        add("# Scoping helpers: ids (and URL kwargs) that went through them are verified for the")
        add("# caller's organization (uncomment the ones that are):")
        shown = proposal.helpers[:LIMIT]
        add(f"# scoping-helpers = {_toml_list(dict.fromkeys(h.name for h in shown))}")
        for helper in shown:
            add(f"#   {helper.name} ({helper.where}): {_comment(helper.evidence)}")
    add("")
    add(f"[{table('db')}]")
    presets = proposal.presets
    add(f"presets = {_toml_list([p.name for p in presets] or ['dbservice'])}  # "
        + (", ".join(f"{p.name}: {p.evidence} {'match' if p.evidence == 1 else 'matches'}"
                     for p in presets) if presets
           else "no known data-access style seen: set yours"))
    for preset in presets:
        for key, values in sorted(preset.settings.items()):
            if ":" in key:  # for the preset's own lines (below)
                continue
            add(f"{key} = {_toml_list(values)}  # found by the {preset.name} preset")
        if preset.name == "django":
            from .presets.django_init import db_lines, top_lines
            lines[:] = top_lines(lines, preset.settings)
            lines.extend(db_lines(preset.settings))
    _system_lines(lines, proposal.system, table)
    add("")
    add(f"[{table('report')}]")
    add("# What no static check can see: confirm by hand before signing the report off.")
    add("checklist = [")
    for item in proposal.checklist:
        add(f"  {_toml_string(item)},")
    add("]")
    return "\n".join(lines) + "\n"


def _auth_lines(lines: List[str], auth: AuthGuess) -> None:
    """`auth-dependencies`: the FastAPI dependencies that refuse a request, the
    DRF permission classes and the Flask `before_request` hooks that do (the
    route rules honour hooks and permission classes listed there)."""
    add = lines.append
    listed = auth.all_auth + auth.permission_classes + auth.hooks
    if listed:
        add(f"auth-dependencies = {_toml_list(dict.fromkeys(j.name for j in listed))}")
        for judged in auth.all_auth:
            add(f"#   {judged.name} ({judged.where}): {_comment(judged.why)}")
        for judged in auth.permission_classes:
            add(f"#   {judged.name} ({judged.where}): {_comment(judged.why)}")
        for judged in auth.hooks:
            add(f"#   {judged.name} ({judged.where}): before_request hook: {_comment(judged.why)}")
    else:
        add("# auth-dependencies = []  # no FastAPI dependency that refuses a request was found")
    for judged in auth.optional:
        add(f"# optional auth, not listed: {judged.name} ({judged.where}): {_comment(judged.why)}")
    for judged in auth.not_auth[:8]:
        add(f"# not auth: {judged.name} ({judged.where}): {_comment(judged.why)}")
    if auth.decorators:
        add(f"auth-decorators = {_toml_list([j.name for j in auth.decorators])}")
        for judged in auth.decorators:
            add(f"#   {judged.name} ({judged.where}): {_comment(judged.why)}")


def _public_lines(lines: List[str], system: SystemGuess) -> None:
    if not system.public_routes:
        return
    lines.append("# Routes that look public on purpose (uncomment the ones that are):")
    lines.append("# public-routes = [")
    for pattern, evidence in system.public_routes[:LIMIT]:
        lines.append(f"#   {_toml_string(pattern)},  # {_comment(evidence)}")
    lines.append("# ]")


def _system_lines(lines: List[str], system: SystemGuess, table) -> None:
    if not system.contexts:
        return
    add = lines.append
    add("")
    add("# Likely system contexts (code that runs without a user JWT, so cross-organization")
    add("# access may be intended). Uncomment the ones that are, with the real reason.")
    for suggestion in system.contexts:
        add(f"# [[{table('system-contexts')}]]  # {_comment(suggestion.evidence)}")
        add(f"# paths = {_toml_list(suggestion.paths)}")
        if suggestion.functions:
            add(f"# functions = {_toml_list(suggestion.functions)}")
        add(f"# reason = {_toml_string(suggestion.reason)}")
    if system.more:
        add(f"# ... and {system.more} more like these (not written: review the ones above "
            "first)")


# --- writing ---------------------------------------------------------------------

def _target(directory: Path, prefer_dotfile: bool) -> Tuple[Path, Optional[str]]:
    """(file to write, table prefix); raises when a configuration exists."""
    dotfile = directory / DOTFILE
    pyproject = directory / "pyproject.toml"
    if dotfile.exists():
        raise InitError(f"{dotfile}: a configuration already exists; not overwriting it")
    if pyproject.is_file():
        try:
            tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InitError(f"{pyproject}: invalid TOML ({exc}); fix it first") from None
        if _has_section(pyproject):
            raise InitError(f"{pyproject}: `[tool.orgscope-lint]` already exists; "
                            "not overwriting it")
        if not prefer_dotfile:
            return pyproject, "tool.orgscope-lint"
    return dotfile, None


def propose(directory: Path, prefer_dotfile: bool = False
            ) -> Tuple[Path, str, Proposal]:
    """(file it would go to, the configuration text, the proposal)."""
    directory = directory.resolve()
    target, prefix = _target(directory, prefer_dotfile)
    proposal = inspect_project(directory)
    return target, render_config(proposal, prefix or ""), proposal


def write_proposal(target: Path, text: str) -> None:
    """Append to pyproject.toml (keeping every byte of it) or write the dotfile."""
    if target.name == "pyproject.toml":
        existing = target.read_bytes()
        separator = b"" if existing.endswith(b"\n") or not existing else b"\n"
        with target.open("ab") as handle:
            handle.write(separator + b"\n" + text.encode("utf-8"))
    else:
        target.write_text(text, encoding="utf-8")


def write_initial_config(directory: Path, prefer_dotfile: bool = False) -> Path:
    """Write the configuration and return the file written to."""
    target, text, _ = propose(directory, prefer_dotfile)
    write_proposal(target, text)
    return target
