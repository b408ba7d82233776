"""Which project callables authenticate a request.

- FastAPI dependencies (whatever `Depends(...)` / `Security(...)` names, and
  the dependencies of those): one that raises 401/403 or calls a token
  verifier authenticates, *unless* it may return `None` (optional auth: the
  route works without a user, so it is written commented with that reason). A
  dependency that only yields or returns a DB session or client is never auth.
  A dependency that depends on (or calls) an auth dependency is one too; all
  are proposed, the ones found through another with that evidence.
- Dependency classes with `__call__` are judged by `__call__`.
- Flask: decorators on route handlers whose wrapper aborts with 401/403 or
  checks the login (plus the well-known `login_required`, `jwt_required`, ...);
  `before_request` hooks that do the same (noted: they guard a whole blueprint).
- Django REST framework permission classes (noted for the django preset).
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

from .hook_cover import covers_every_request
from .source import FunctionNode, ProjectSource, PyFile, called_name, last

_DENY_CODES = {401, 403}
_DENY_NAMES = re.compile(r"HTTP_40[13]_|UNAUTHORIZED|FORBIDDEN")
_DENY_EXCEPTIONS = re.compile(r"Unauthori[sz]ed|Unauthenticated|NotAuthenticated|Forbidden|"
                              r"PermissionDenied|AuthenticationFailed|AuthError|"
                              r"AuthenticationError|InvalidToken|CredentialsException", re.I)
_VERIFIERS = re.compile(r"(^|_)(verify|decode|authenticate|validate_token|check_token|"
                        r"verify_id_token|get_user|introspect)", re.I)
_SESSION_NAMES = re.compile(r"(^|_)(db|session|database|supabase|client|conn|connection|"
                            r"engine|repo|repository|uow|cache|redis|settings|config)(_|$)", re.I)
KNOWN_DECORATORS = {"login_required": "Flask-Login", "jwt_required": "Flask-JWT-Extended",
                     "fresh_jwt_required": "Flask-JWT-Extended",
                     "auth_required": "Flask-Security", "token_required": "a token check",
                     "permission_required": "a permission check"}
_VIEW_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "list", "create",
                 "retrieve", "update", "partial_update", "destroy", "dispatch"}
_ROUTE_DECORATORS = {"route", "get", "post", "put", "patch", "delete", "api_route", "websocket"}


@dataclass
class Judged:
    name: str
    where: str  # file:line
    verdict: str  # auth | optional | session | none
    why: str
    depends_on: Tuple[str, ...] = ()


@dataclass
class AuthGuess:
    dependencies: List[Judged] = field(default_factory=list)  # authenticate by themselves
    through: List[Judged] = field(default_factory=list)  # depend on one of those
    optional: List[Judged] = field(default_factory=list)
    not_auth: List[Judged] = field(default_factory=list)  # DB sessions, clients
    decorators: List[Judged] = field(default_factory=list)
    hooks: List[Judged] = field(default_factory=list)
    permission_classes: List[Judged] = field(default_factory=list)

    @property
    def all_auth(self) -> List[Judged]:
        return self.dependencies + self.through


def _status_code(call: ast.Call) -> Optional[int]:
    values = list(call.args[:1]) + [k.value for k in call.keywords if k.arg == "status_code"]
    for value in values:
        if isinstance(value, ast.Constant) and isinstance(value.value, int):
            return value.value
        name = called_name(value)
        if name and _DENY_NAMES.search(last(name)):
            return 401 if "401" in name or "UNAUTHORIZED" in name else 403
    return None


def _denies(expression: Optional[ast.AST], denying_names: Set[str]) -> Optional[str]:
    """Why raising `expression` refuses the request (None: it does not)."""
    if expression is None:
        return None
    if isinstance(expression, ast.Name) and expression.id in denying_names:
        return f"raises `{expression.id}` (401/403)"
    name = called_name(expression)
    if isinstance(expression, ast.Call):
        code = _status_code(expression)
        if code in _DENY_CODES:
            return f"raises {code}"
    if name and _DENY_EXCEPTIONS.search(last(name)):
        return f"raises `{last(name)}`"
    return None


def _refusing_response(call: ast.Call) -> Optional[str]:
    """`return HttpResponseForbidden()`, `return Response(status=403)`,
    `return jsonify(...), 401` is not seen (a tuple)."""
    name = last(called_name(call))
    if name in ("HttpResponseForbidden", "HttpResponseUnauthorized"):
        return f"returns `{name}`"
    for keyword in call.keywords:
        if keyword.arg in ("status", "status_code"):
            value = keyword.value
            if isinstance(value, ast.Constant) and value.value in _DENY_CODES:
                return f"returns {value.value}"
            if _DENY_NAMES.search(last(called_name(value)) or ""):
                return "returns 401/403"
    return None


def _returns_none(node: FunctionNode) -> bool:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Return) and (
                inner.value is None or (isinstance(inner.value, ast.Constant)
                                        and inner.value.value is None)):
            return True
    return False


def _may_return_none(node: Optional[FunctionNode]) -> bool:
    """`return None` on one path and a value on another, or a name that says
    optional (the route rules' `analysis/optional_auth.py` judges the same)."""
    if node is None:
        return False
    values = [n.value for n in ast.walk(node) if isinstance(n, ast.Return)]
    nones = [v for v in values if v is None or (isinstance(v, ast.Constant) and v.value is None)]
    return "optional" in node.name.lower() or (bool(nones) and len(nones) < len(values))


def _is_generator(node: FunctionNode) -> bool:
    return any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(node))


def _depends_of(node: FunctionNode) -> List[str]:
    """The dependencies a function's own parameters declare."""
    found = []
    defaults = list(node.args.defaults) + [d for d in node.args.kw_defaults if d is not None]
    annotations = [a.annotation for a in node.args.args + node.args.kwonlyargs if a.annotation]
    for value in defaults + annotations:
        for call in ast.walk(value):
            if isinstance(call, ast.Call) and last(called_name(call)) in ("Depends", "Security") \
                    and call.args:
                target = called_name(call.args[0])
                if target:
                    found.append(last(target))
    return found


def judge_function(node: FunctionNode) -> Tuple[str, str]:
    """(verdict, why) for one dependency: auth | optional | session | none."""
    denying = set()
    for inner in ast.walk(node):  # `credentials_exception = HTTPException(401, ...)`
        if isinstance(inner, ast.Assign) and isinstance(inner.value, ast.Call) \
                and _denies(inner.value, set()):
            denying |= {t.id for t in inner.targets if isinstance(t, ast.Name)}
    reasons = []
    for inner in ast.walk(node):
        if isinstance(inner, ast.Raise):
            why = _denies(inner.exc, denying)
            if why and why not in reasons:
                reasons.append(why)
        elif isinstance(inner, ast.Call) and inner.func is not None:
            if isinstance(inner.func, (ast.Name, ast.Attribute)) and \
                    last(called_name(inner.func)) in ("abort",) and inner.args and \
                    isinstance(inner.args[0], ast.Constant) and inner.args[0].value in _DENY_CODES:
                if f"aborts with {inner.args[0].value}" not in reasons:
                    reasons.append(f"aborts with {inner.args[0].value}")
        elif isinstance(inner, ast.Return) and isinstance(inner.value, ast.Call):
            why = _refusing_response(inner.value)
            if why and why not in reasons:
                reasons.append(why)
    verifiers = sorted({last(called_name(c)) for c in ast.walk(node) if isinstance(c, ast.Call)
                        and _VERIFIERS.search(last(called_name(c)) or "")})
    if verifiers:
        reasons.append("calls " + ", ".join(f"`{v}`" for v in verifiers[:2]))
    optional = _returns_none(node) or "optional" in node.name.lower()
    if reasons and optional:
        return "optional", ("may return None, so it works with or without authentication ("
                            + "; ".join(reasons) + ")")
    if reasons:
        return "auth", "; ".join(reasons)
    if _is_generator(node) or _SESSION_NAMES.search(node.name):
        return "session", ("yields a resource (a DB session or client), not a user"
                           if _is_generator(node) else "returns a DB session or client, not a user")
    return "none", "neither refuses a request nor verifies a token"


def _dependency_names(files: List[PyFile]) -> Set[str]:
    names: Set[str] = set()
    for file in files:
        for node in ast.walk(file.tree):
            if isinstance(node, ast.Call) and last(called_name(node)) in ("Depends", "Security") \
                    and node.args:
                target = called_name(node.args[0])
                if target:
                    names.add(last(target))
    return names


def _definitions(files: List[PyFile]) -> Dict[str, Tuple[PyFile, ast.AST]]:
    """Top-level functions, classes (by `__call__`) and instances of those classes."""
    found: Dict[str, Tuple[PyFile, ast.AST]] = {}
    classes: Dict[str, Tuple[PyFile, ast.ClassDef]] = {}
    for file in files:
        for node in file.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.setdefault(node.name, (file, node))
            elif isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, (file, node))
                found.setdefault(node.name, (file, node))
    for file in files:  # `require_admin = RoleChecker(["admin"])`
        for node in file.tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                    and last(called_name(node.value)) in classes:
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found.setdefault(target.id, classes[last(called_name(node.value))])
    return found


def _call_method(node: ast.ClassDef) -> Optional[FunctionNode]:
    return next((item for item in node.body if isinstance(item, (ast.FunctionDef,
                                                                  ast.AsyncFunctionDef))
                 and item.name == "__call__"), None)


def _judge_dependencies(files: List[PyFile], guess: AuthGuess) -> None:
    definitions = _definitions(files)
    pending = sorted(_dependency_names(files))
    judged: Dict[str, Judged] = {}
    while pending:
        name = pending.pop()
        if name in judged or name not in definitions:
            continue
        file, node = definitions[name]
        function = _call_method(node) if isinstance(node, ast.ClassDef) else node
        if function is None:
            continue
        verdict, why = judge_function(function)
        if isinstance(node, ast.ClassDef):
            why += " (its `__call__`)"
        depends = tuple(_depends_of(function))
        judged[name] = Judged(name, f"{file.rel}:{node.lineno}", verdict, why, depends)
        pending.extend(d for d in depends if d not in judged)
    auth = {n for n, j in judged.items() if j.verdict == "auth"}
    changed = True
    while changed:  # `def _client(request): return get_supabase_client(request)`
        changed = False
        for name, item in judged.items():
            if item.verdict == "auth":
                continue
            _, node = definitions[name]
            function = _call_method(node) if isinstance(node, ast.ClassDef) else node
            called = sorted({last(called_name(c)) for c in ast.walk(function)
                             if isinstance(c, ast.Call)} & auth)
            if called and item.verdict != "optional" and _may_return_none(function):
                # `if credentials is None: return None; return await get_current_user(...)`
                item.verdict, item.why = "optional", (
                    "may return None, so it works with or without authentication (calls "
                    + ", ".join(f"`{c}`" for c in called) + " only when a token is sent)")
            elif called and item.verdict != "optional":
                item.verdict, item.why = "auth", "calls " + ", ".join(f"`{c}`" for c in called)
                auth.add(name)
                changed = True

    def reaches_auth(name: str, seen: frozenset) -> bool:
        item = judged.get(name)
        if item is None or name in seen:
            return False
        return any(d in auth or reaches_auth(d, seen | {name}) for d in item.depends_on)

    for name in sorted(judged):
        item = judged[name]
        if item.verdict == "auth":
            (guess.through if reaches_auth(name, frozenset()) else guess.dependencies).append(item)
        elif item.verdict != "optional" and _may_return_none(
                _call_method(definitions[name][1]) if isinstance(definitions[name][1],
                                                                  ast.ClassDef)
                else definitions[name][1]) and reaches_auth(name, frozenset()):
            item.verdict, item.why = "optional", (
                "may return None, so it works with or without authentication (depends on "
                + ", ".join(f"`{d}`" for d in item.depends_on if d in auth
                            or reaches_auth(d, frozenset())) + ")")
            guess.optional.append(item)
        elif reaches_auth(name, frozenset()):
            item.why = "depends on " + ", ".join(f"`{d}`" for d in item.depends_on if d in auth
                                                 or reaches_auth(d, frozenset()))
            guess.through.append(item)
        elif item.verdict == "optional":
            guess.optional.append(item)
        elif item.verdict == "session":
            guess.not_auth.append(item)


def _route_decorators(files: List[PyFile]) -> Dict[str, List[str]]:
    """Decorator name -> the route handlers (file:line) it is stacked on."""
    used: Dict[str, List[str]] = {}
    for file in files:
        django = "django" in file.text or "rest_framework" in file.text
        for _, node in file.functions():
            names = [called_name(d) for d in node.decorator_list]
            if not any(last(n) in _ROUTE_DECORATORS for n in names if n) and not (
                    django and _django_view(node, names)):
                continue
            for name in names:
                if name and last(name) not in _ROUTE_DECORATORS:
                    used.setdefault(last(name), []).append(f"{file.rel}:{node.lineno}")
    return used


def _django_view(node: FunctionNode, decorators: List[Optional[str]]) -> bool:
    """A Django function view: `@api_view`, or a module function whose first
    parameter is `request` (urls.py names it)."""
    if any(last(d) == "api_view" for d in decorators if d):
        return True
    params = [a.arg for a in node.args.args]
    # a function view `def export(request, slug)`, or a class view's method
    # `def get(self, request)` (its method decorators guard it)
    return params[:1] == ["request"] or (params[:2] == ["self", "request"]
                                         and node.name in _VIEW_METHODS)


def _wrapper_verdict(node: FunctionNode) -> Optional[str]:
    """A decorator whose inner wrapper refuses the request or checks the login."""
    for inner in ast.walk(node):
        if inner is not node and isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)):
            verdict, why = judge_function(inner)
            if verdict == "auth":
                return why
            if _refuses_anonymous(inner):
                return "turns away a caller who is not logged in"
    return None


def _refuses_anonymous(node: ast.AST) -> bool:
    """`if not current_user.is_authenticated: ...` (not its opposite, an
    `anonymous_required` that sends logged-in users away), or a JWT check."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.If) and isinstance(inner.test, ast.UnaryOp) and \
                isinstance(inner.test.op, ast.Not) and \
                last(called_name(inner.test.operand)) == "is_authenticated":
            return True
        if isinstance(inner, ast.Call) and last(called_name(inner)) == "verify_jwt_in_request":
            return True
    return False


def _handlers(count: int) -> str:
    return f"{count} route handler{'' if count == 1 else 's'}"


def _judge_flask(files: List[PyFile], guess: AuthGuess) -> None:
    definitions = _definitions(files)
    for name, handlers in sorted(_route_decorators(files).items()):
        if name in definitions and isinstance(definitions[name][1], (ast.FunctionDef,
                                                                      ast.AsyncFunctionDef)):
            file, node = definitions[name]
            why = _wrapper_verdict(node)
            if why:
                guess.decorators.append(Judged(name, f"{file.rel}:{node.lineno}", "auth",
                                               f"{why}; on {_handlers(len(handlers))}"))
        elif name in KNOWN_DECORATORS:
            origin = next((o for f in files for o in [f.imported_from(name)] if o), "")
            what = "Django" if origin.startswith("django") else KNOWN_DECORATORS[name]
            guess.decorators.append(Judged(name, handlers[0], "auth",
                                           f"{what}; on {_handlers(len(handlers))}"))
    # `bp.before_request(fn)` registrations (the function may live in another module)
    registered: Dict[str, str] = {}
    for file in files:
        for node in ast.walk(file.tree):
            if isinstance(node, ast.Call) and last(called_name(node)) == "before_request" \
                    and node.args and called_name(node.args[0]):
                registered.setdefault(last(called_name(node.args[0])),
                                      called_name(node.func) or "before_request")
    for file in files:
        for qualname, node in file.functions():
            decorator = next((d for d in node.decorator_list
                              if last(called_name(d)) == "before_request"), None)
            owner = called_name(decorator) if decorator is not None else registered.get(qualname)
            if owner is None:
                continue
            verdict, why = judge_function(node)
            if (verdict == "auth" or _refuses_anonymous(node)) and \
                    covers_every_request(node, _refusal(node)):
                if verdict != "auth":
                    why = "turns away a caller who is not logged in"
                guess.hooks.append(Judged(qualname, f"{file.rel}:{node.lineno}", "auth",
                                          f"`{owner}` runs it before every request: {why}"))


def _refusal(node: FunctionNode):
    """What in a hook refuses the request, as `judge_function` sees it (raise /
    abort / a refusing response, a token verifier's call), plus `return ..., 401`
    and `return login_manager.unauthorized()`."""
    denying = {t.id for inner in ast.walk(node) if isinstance(inner, ast.Assign)
               and isinstance(inner.value, ast.Call) and _denies(inner.value, set())
               for t in inner.targets if isinstance(t, ast.Name)}

    def refuses(inner: ast.AST) -> bool:
        if isinstance(inner, ast.Raise):
            return _denies(inner.exc, denying) is not None
        if isinstance(inner, ast.Call):
            name = last(called_name(inner))
            if name == "abort":
                return bool(inner.args) and isinstance(inner.args[0], ast.Constant) and \
                    inner.args[0].value in _DENY_CODES
            return bool(_VERIFIERS.search(name or "")) or name == "verify_jwt_in_request"
        if isinstance(inner, ast.Return) and isinstance(inner.value, ast.Call):
            return _refusing_response(inner.value) is not None or \
                last(called_name(inner.value)) == "unauthorized"
        if isinstance(inner, ast.Return) and isinstance(inner.value, ast.Tuple):
            return any(isinstance(e, ast.Constant) and e.value in _DENY_CODES
                       for e in inner.value.elts[1:])
        return False
    return refuses


def _access_policy(node: ast.ClassDef) -> Optional[str]:
    """A drf-access-policy `AccessPolicy` whose statements admit only signed-in
    principals (`Principal.group(...)`, `Principal.Authenticated`): why it is
    auth, or None when a statement lets anyone in (`Principal.Anonymous`, `Any`)."""
    principals = []
    for inner in ast.walk(node):
        if isinstance(inner, ast.keyword) and inner.arg == "principal":
            principals.append(ast.unparse(inner.value))
        elif isinstance(inner, ast.Dict):
            for key, value in zip(inner.keys, inner.values):
                if isinstance(key, ast.Constant) and key.value == "principal":
                    principals.append(ast.unparse(value))
    if not principals or any(re.search(r"[Aa]nonymous|\bAny\b|\*", p) for p in principals):
        return None
    return "drf-access-policy statements for " + ", ".join(f"`{p}`" for p in principals[:2])


def _judge_drf(files: List[PyFile], guess: AuthGuess) -> None:
    for file in files:
        for node in file.tree.body:
            if isinstance(node, ast.ClassDef) and any(
                    last(called_name(b)) == "AccessPolicy" for b in node.bases):
                why = _access_policy(node)
                if why:
                    guess.permission_classes.append(Judged(
                        node.name, f"{file.rel}:{node.lineno}", "auth", why))
                continue
            if isinstance(node, ast.ClassDef) and any(
                    last(called_name(b)) in ("BasePermission", "IsAuthenticated")
                    for b in node.bases):
                methods = {i.name for i in node.body if isinstance(i, (ast.FunctionDef,
                                                                        ast.AsyncFunctionDef))}
                if methods & {"has_permission", "has_object_permission"}:
                    guess.permission_classes.append(Judged(
                        node.name, f"{file.rel}:{node.lineno}", "auth",
                        "DRF permission class (" + ", ".join(sorted(
                            methods & {"has_permission", "has_object_permission"})) + ")"))


def guess_auth(source: ProjectSource) -> AuthGuess:
    guess = AuthGuess()
    files = source.code
    _judge_dependencies(files, guess)
    _judge_flask(files, guess)
    _judge_drf(files, guess)
    return guess
