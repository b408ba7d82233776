"""Code that runs without a user JWT (system contexts), and routes that are
public on purpose, each with the evidence that it is one.

Evidence, never a name alone: a background-task decorator from a task queue
(Celery `@shared_task` / `@app.task`, rq `@job`, dramatiq `@actor`, huey,
APScheduler jobs, arq `WorkerSettings`), a CLI command (click, typer, Flask
CLI, Django management commands), a script (`scripts/`, `if __name__ ==
"__main__":`), an admin or back-office package, an internal service module,
webhook handlers, and signature-verified webhook or health-check routes.
Nothing under `tests/` is ever proposed.
"""
from __future__ import annotations

import ast
import fnmatch
import posixpath
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .auth import KNOWN_DECORATORS
from .source import ProjectSource, PyFile, called_name, last

LIMIT = 20  # suggestions written; the rest are counted
_QUEUES = ("celery", "rq", "dramatiq", "huey", "arq", "apscheduler", "taskiq", "procrastinate")
_TASK_DECORATORS = {"task", "shared_task", "job", "actor", "periodic_task", "db_task",
                    "scheduled_job", "cron", "periodic"}
_CLI_MODULES = ("click", "typer", "flask.cli", "django.core.management")
_SCRIPT_DIRS = {"scripts", "script", "bin", "management", "commands", "cron", "crons"}
# directories whose modules all run outside requests group into one `dir/*.py`
_GROUPED_DIRS = _SCRIPT_DIRS | {"tasks", "jobs", "workers", "worker", "cronjobs", "maintenance"}
_MIGRATIONS = {"migrations", "alembic", "versions"}
_SERVERS = {"uvicorn", "socketio", "hypercorn", "waitress", "gunicorn", "web", "app"}
_BACK_OFFICE = re.compile(r"^(backoffice|back_office|back-office|superadmin|super_admin|"
                          r"staff|ops|internal|internal_api)(\.py)?$")
_SUPERUSER = re.compile(r"is_superuser|is_staff|superadmin|super_admin|platform_admin|"
                        r"service_role|internal_token|django\.contrib\.admin|admin\.site\.register|"
                        r"@admin\.register")
_SIGNATURE = re.compile(r"compare_digest|construct_event|verify_signature|verify_webhook|svix|"
                        r"hub-signature|-signature['\"]|hmac\.new", re.I)
_HEALTH = re.compile(r"^/?(health|healthz|healthcheck|ping|ready|readyz|live|livez)"
                     r"(/(ready|readiness|live|liveness|db|deep))?/?$")
# sign-in and sign-up pages are public by design (there is no user yet)
_AUTH_PAGE = re.compile(r"^/?(auth/|api/auth/)?(login|signin|sign-in|signup|sign-up|"
                        r"register|forgot-password|reset-password|verify-email|"
                        r"resend-verification|token|refresh)(/|$)")
_JOB_WORDS = re.compile(r"nightly|hourly|daily|weekly|cron|scheduled|retention|purge|"
                        r"cleanup|clean_up|housekeeping|maintenance|backfill|sweep", re.I)
_OWN_SESSION = re.compile(r"^(SessionLocal|Session|AsyncSessionLocal|async_session|"
                          r"sessionmaker|session_scope|get_session_context|create_client|"
                          r"connect|create_engine|create_async_engine)$")
# the steps of a single sign-on or passkey sign-in (there is no session yet):
# `saml/<id>/acs`, `oidc/<id>/callback`, `passkeys/authenticate/verify`,
# `auth/social/complete/<backend>/`, `auth/token-refresh/`
_SIGN_IN_STEP = re.compile(r"(^|/)(saml|oidc|sso|oauth2?|social|passkeys?)/(.*/)?"
                           r"(login|acs|callback|complete|authenticate)(/|$)|"
                           r"(^|/)token-refresh/?$")


def _sign_in(path: str) -> bool:
    return bool(_AUTH_PAGE.match(path) or _SIGN_IN_STEP.search(path))


_ROUTE_METHODS = {"get", "post", "put", "patch", "delete", "route", "api_route"}


@dataclass
class Suggestion:
    paths: List[str]
    reason: str
    evidence: str
    functions: List[str] = field(default_factory=list)
    script: bool = False  # a whole module run as a script or worker (directories group)


@dataclass
class SystemGuess:
    contexts: List[Suggestion] = field(default_factory=list)
    more: int = 0  # suggestions beyond LIMIT
    public_routes: List[Tuple[str, str]] = field(default_factory=list)  # (pattern, evidence)


def _decorated(file: PyFile, test) -> List[str]:
    """Functions with a matching decorator, by the qualname of their outermost
    function (`register_commands` for commands declared inside it)."""
    found = []
    for qualname, node in file.functions():
        if any(isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)) and
               any(test(called_name(d) or "") for d in inner.decorator_list)
               for inner in ast.walk(node)):
            found.append(qualname)
    return found


def _from_queue(file: PyFile, decorator: str) -> bool:
    """`@shared_task` imported from celery, `@app.task` on a `Celery(...)` app."""
    if last(decorator) not in _TASK_DECORATORS:
        return False
    origin = file.imported_from(decorator) or ""
    if origin.split(".")[0] in _QUEUES:
        return True
    head = decorator.split(".")[0]
    return any(mod.split(".")[0] in _QUEUES for mod in file.imports.values()) and head != decorator


def _cli_commands(file: PyFile) -> List[str]:
    if not any(mod.startswith(_CLI_MODULES) or mod.split(".")[0] in ("click", "typer")
               for mod in file.imports.values()):
        return []
    return _decorated(file, lambda d: last(d) in ("command", "group") or d.endswith("cli.command"))


def _has_main_guard(file: PyFile) -> bool:
    """`if __name__ == "__main__":` that runs a job, not the server (`app.run()`,
    `uvicorn.run(...)`: the entry point of the application itself)."""
    for node in file.tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and \
                isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__":
            calls = [called_name(c) or "" for c in ast.walk(node) if isinstance(c, ast.Call)]
            return not any(last(c) in ("run", "serve", "run_app") and (
                "app" in c.lower() or c.split(".")[0] in _SERVERS) for c in calls)
    return False


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _route_paths(file: PyFile) -> List[Tuple[str, str, str]]:
    """(METHOD, path as written, handler) of the routes a module declares."""
    found = []
    for qualname, node in file.functions():
        for decorator in node.decorator_list:
            name = called_name(decorator) or ""
            if not isinstance(decorator, ast.Call) or last(name) not in _ROUTE_METHODS \
                    or "." not in name or not decorator.args or \
                    not isinstance(decorator.args[0], ast.Constant):
                continue
            method = last(name).upper()
            if method in ("ROUTE", "API_ROUTE"):
                methods = next((k.value for k in decorator.keywords if k.arg == "methods"), None)
                words = [e.value for e in getattr(methods, "elts", [])
                         if isinstance(e, ast.Constant)]
                method = ",".join(w.upper() for w in words) if words else "*"
            found.append((method, str(decorator.args[0].value), qualname))
    return found


def _serves_routes(file: PyFile) -> bool:
    """Route decorators on its functions or classes (`@bp.get(...)`,
    Flask-RESTX `@ns.route("/x")` on a Resource)."""
    for node in ast.walk(file.tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for decorator in node.decorator_list:
                name = called_name(decorator) or ""
                if isinstance(decorator, ast.Call) and "." in name and \
                        last(name) in _ROUTE_METHODS:
                    return True
    return False


def _pattern(method: str, path: str) -> str:
    glob = "*" + path if path.startswith("/") else "*/" + path
    return glob if method == "*" else f"{method} {glob}"


def _module_name(rel: str) -> str:
    name = rel[:-3] if rel.endswith(".py") else rel
    name = name[:-len("/__init__")] if name.endswith("/__init__") else name
    return name.replace("/", ".")


def _imported_modules(files: List[PyFile]) -> set:
    """Every project module some other module imports (by dotted suffix)."""
    names = set()
    for file in files:
        for node in ast.walk(file.tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
    return names


def _is_imported(rel: str, imported: set) -> bool:
    module = _module_name(rel)
    parts = module.split(".")
    return any(".".join(parts[i:]) in imported for i in range(len(parts)))


def _kind(file: PyFile, imported: set) -> Optional[Suggestion]:
    rel, text = file.rel, file.text
    parts = rel.split("/")
    if _MIGRATIONS & set(parts[:-1]):
        return None  # proposed once per directory (`_migrations`)
    tasks = _decorated(file, lambda d: _from_queue(file, d))
    if tasks:
        queue = next((m.split(".")[0] for m in file.imports.values()
                      if m.split(".")[0] in _QUEUES), "a task queue")
        return Suggestion([rel], "background tasks: no user JWT; say which organization each "
                                 "task acts for", _count(len(tasks), f"{queue} task"), tasks)
    if "WorkerSettings" in text and "arq" in " ".join(file.imports.values()):
        return Suggestion([rel], "arq worker functions: no user JWT", "arq `WorkerSettings`")
    if "add_job(" in text and any(m.startswith("apscheduler") for m in file.imports.values()):
        return Suggestion([rel], "scheduled jobs: no user JWT", "APScheduler `add_job`")
    if "management/commands/" in rel and "BaseCommand" in text:
        return Suggestion([rel], "Django management command: run by an operator",
                          "a `BaseCommand` under management/commands")
    if any(p in _SCRIPT_DIRS for p in parts[:-1]) and parts[-1] != "__init__.py":
        return Suggestion([rel], "operator script: no user JWT",
                          f"a script under `{next(p for p in parts[:-1] if p in _SCRIPT_DIRS)}/`",
                          script=True)
    commands = _cli_commands(file)
    if commands:
        return Suggestion([rel], "CLI commands: run by an operator, no user JWT",
                          _count(len(commands), "CLI command"), commands)
    if _has_main_guard(file) and not _is_imported(rel, imported) and parts[-1] not in ("__main__.py", "main.py", "manage.py",
                                                   "app.py", "wsgi.py", "asgi.py"):
        return Suggestion([rel], "run as a script (`python -m ...`): no user JWT",
                          "an `if __name__ == \"__main__\":` entry point", script=True)
    job = _scheduled_job(file, imported)
    if job:
        return Suggestion([rel], "scheduled job: runs as the service, no user JWT", job)
    for part in parts:
        # a back-office-named module that serves routes is judged by its routes'
        # auth, unless it shows superuser or service evidence (`internal_token`)
        if _BACK_OFFICE.match(part) and (not _serves_routes(file) or _SUPERUSER.search(text)):
            return Suggestion([rel], "back-office / internal code: say who calls it and why",
                              f"named `{part}`" + (" (" + _SUPERUSER.search(text).group(0) + ")"
                                                   if _SUPERUSER.search(text) else ""))
    if any(p in ("admin", "admin.py") for p in parts) and _SUPERUSER.search(text):
        return Suggestion([rel], "admin / back office: staff act across organizations",
                          f"admin code using `{_SUPERUSER.search(text).group(0)}`")
    if "webhook" in rel.lower() and not _route_paths(file) and parts[-1] != "__init__.py":
        return Suggestion([rel], "webhook event handlers: no user JWT; rows are found by the "
                                 "provider's ids", "webhook handlers (no routes)")
    return None


def _scheduled_job(file: PyFile, imported: set) -> Optional[str]:
    """A module nothing in the project imports, with no routes, that opens its
    own DB session (`SessionLocal()`, not a request's) and whose name or
    docstring says it runs on a schedule (`maintenance.py`, "Nightly
    retention"): a scheduler or cron runs it. The evidence, or None."""
    if _is_imported(file.rel, imported) or _route_paths(file) or \
            file.rel.endswith("__init__.py"):
        return None
    named = _JOB_WORDS.search(posixpath.basename(file.rel)[:-3])
    word = named or _JOB_WORDS.search(ast.get_docstring(file.tree) or "")
    if not word:
        return None
    opened = next((called_name(c) for c in ast.walk(file.tree) if isinstance(c, ast.Call)
                   and _OWN_SESSION.search(last(called_name(c)) or "")), None)
    if not opened:
        return None
    return (f"nothing imports it, it opens its own session (`{last(opened)}()`) and "
            f"{'its name' if named else 'its docstring'} says `{word.group(0)}`")


def _group_directories(suggestions: List[Suggestion], source: ProjectSource) -> List[Suggestion]:
    """Every module of a directory is a script: one `dir/*.py` entry (a new
    script there is one too; a back-office module is proposed alone)."""
    by_dir: Dict[str, List[Suggestion]] = {}
    for suggestion in suggestions:
        if suggestion.script:
            by_dir.setdefault(posixpath.dirname(suggestion.paths[0]), []).append(suggestion)
    modules: Dict[str, int] = {}
    for file in source.code:
        if not file.rel.endswith("/__init__.py"):
            modules[posixpath.dirname(file.rel)] = modules.get(posixpath.dirname(file.rel), 0) + 1
    grouped = []
    for suggestion in suggestions:
        directory = posixpath.dirname(suggestion.paths[0])
        members = by_dir.get(directory, [])
        if not suggestion.script or posixpath.basename(directory) not in _GROUPED_DIRS \
                or len(members) != modules.get(directory):
            grouped.append(suggestion)
        elif members[0] is suggestion:
            grouped.append(Suggestion([f"{directory}/*.py"], suggestion.reason,
                                      f"{len(members)} modules: {suggestion.evidence}"
                                      if len(members) > 1 else suggestion.evidence, script=True))
    return grouped


def _verifies_signature(file: PyFile, handler: str) -> bool:
    """The handler checks the provider's signature itself or through a function
    of its module (`_verify(secret, body, signature)`)."""
    functions = dict(file.functions())
    node = functions.get(handler)
    if node is None:
        return False
    text = ast.get_source_segment(file.text, node) or ""
    if _SIGNATURE.search(text):
        return True
    called = {last(called_name(c)) for c in ast.walk(node) if isinstance(c, ast.Call)}
    return any(_SIGNATURE.search(ast.get_source_segment(file.text, functions[name]) or "")
               for name in called if name in functions and name != handler)


def _behind_login(file: PyFile, handler: str) -> bool:
    node = dict(file.functions()).get(handler)
    return node is not None and any(last(called_name(d)) in KNOWN_DECORATORS
                                    for d in node.decorator_list)


def _anonymous_only(file: PyFile, handler: str) -> bool:
    node = dict(file.functions()).get(handler)
    return node is not None and any(re.search(r"anonymous|guest", called_name(d) or "")
                                    for d in node.decorator_list)


def _django_paths(file: PyFile) -> List[Tuple[str, str]]:
    """(path as written, view) of a urls.py's `path("health/", views.health)`
    entries (not `include(...)`): Django routes have no method of their own."""
    if "urlpatterns" not in file.text:
        return []
    found = []
    for call in ast.walk(file.tree):
        if isinstance(call, ast.Call) and last(called_name(call)) in ("path", "re_path") \
                and len(call.args) >= 2 and isinstance(call.args[0], ast.Constant) \
                and isinstance(call.args[0].value, str):
            view = call.args[1]
            if isinstance(view, ast.Call) and last(called_name(view)) == "include":
                continue
            name = called_name(view.func if isinstance(view, ast.Call) else view) or "?"
            # re_path groups and path converters (`<str:connection_id>`) match any segment
            path = re.sub(r"\(\?P<\w+>[^)]*\)|<[^>]+>", "*", call.args[0].value)
            found.append((path.lstrip("^").rstrip("$"), name))
    return found


def _public_routes(files: List[PyFile]) -> List[Tuple[str, str]]:
    found: Dict[str, List[str]] = {}
    for file in files:
        for path, view in _django_paths(file):
            if _HEALTH.match(path):
                what = f"health check `{view}` ({file.rel})"
            elif _sign_in(path):
                what = f"sign-in / sign-up page `{view}` ({file.rel})"
            else:
                continue
            found.setdefault(_pattern("*", path), []).append(what)
        for method, path, handler in _route_paths(file):
            if _verifies_signature(file, handler):
                what = f"signature-verified webhook `{handler}` ({file.rel})"
            elif _HEALTH.match(path):
                what = f"health check `{handler}` ({file.rel})"
            elif (_sign_in(path) or _anonymous_only(file, handler)) and \
                    not _behind_login(file, handler):
                what = f"sign-in / sign-up page `{handler}` ({file.rel})"
            else:
                continue
            found.setdefault(_pattern(method, path), []).append(what)
    return [(pattern, whats[0] + (f" and {len(whats) - 1} more" if len(whats) > 1 else ""))
            for pattern, whats in sorted(found.items())]


def _covered(rel: str, suggestions: List[Suggestion]) -> bool:
    return any(not s.functions and any(fnmatch.fnmatchcase(rel, p) for p in s.paths)
               for s in suggestions)


def _called_only_from_system(source: ProjectSource, suggestions: List[Suggestion]
                             ) -> List[Suggestion]:
    """A function (defined once in the project) whose every caller is system code:
    `TelephonyService.sync_all_numbers`, called by a nightly script and an
    internal endpoint only, runs as the service too."""
    callers: Dict[str, set] = {}
    defined: Dict[str, List[Tuple[PyFile, str]]] = {}
    for file in source.code:
        for node in ast.walk(file.tree):
            if isinstance(node, ast.Call):
                callers.setdefault(last(called_name(node.func)), set()).add(file.rel)
        for qualname, node in file.functions():
            if not node.decorator_list:  # route handlers and tasks are called by a framework
                defined.setdefault(last(qualname), []).append((file, qualname))
    found = []
    for name, places in sorted(defined.items()):
        if len(places) != 1 or name.startswith("_") or len(name) < 6:
            continue
        file, qualname = places[0]
        calling = callers.get(name, set())
        if not calling or file.rel in calling or _covered(file.rel, suggestions):
            continue
        if all(_covered(rel, suggestions) for rel in calling):
            found.append(Suggestion([file.rel], "called only from system contexts: runs as the "
                                                "service", "called only from "
                                    + ", ".join(sorted(calling)[:3]), [qualname]))
    return found


def _migrations(source: ProjectSource) -> List[Suggestion]:
    """Schema and data migrations (Alembic, Django): an operator runs them over
    every organization's rows."""
    found: Dict[str, int] = {}
    for file in source.code:
        parts = file.rel.split("/")
        for index, part in enumerate(parts[:-1]):
            if part in ("migrations", "alembic"):
                top = "/".join(parts[:index + 1])
                found[top] = found.get(top, 0) + 1
                break
    if not found:
        return []
    return [Suggestion([f"{d}/**" for d in sorted(found)], "migrations: run by an operator "
                       "over every organization's rows",
                       _count(sum(found.values()), "migration module"), script=True)]


def guess_system_contexts(source: ProjectSource) -> SystemGuess:
    imported = _imported_modules(source.code)  # a module others import is no script
    suggestions = [s for s in (_kind(f, imported) for f in sorted(source.code,
                                                                   key=lambda f: f.rel)) if s]
    suggestions += _migrations(source)
    suggestions = _group_directories(suggestions, source)
    suggestions += _called_only_from_system(source, suggestions)
    guess = SystemGuess(suggestions[:LIMIT], max(0, len(suggestions) - LIMIT),
                        _public_routes(source.code))
    return guess
