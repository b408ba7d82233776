"""Flask `before_request` hooks that authenticate a whole blueprint (or app).

    bp = Blueprint("admin", __name__)

    @bp.before_request                    # or bp.before_request(require_login)
    def require_login():
        if not current_user.is_authenticated:
            abort(401)

    @app.before_request / @bp.before_app_request  # every route of the app

A hook registration becomes a `HookFact` (the router as written, the hook
function, whether it is app-wide, the functions it calls). Separately, every
module-level function (and function of an app factory) whose body *leaves
with 401/403* gets a guard verdict with its evidence (`ModuleRoutes.guards`):
`abort(401)` / `abort(403)`, `raise Unauthorized(...)` (or Forbidden,
NotAuthenticated, PermissionDenied ...), `return ..., 401` / a response built
with status 401/403, `return login_manager.unauthorized()`, or
`if not current_user.is_authenticated:` (or `is_anonymous`) followed by a
return, raise or abort. A hook that only logs, only loads `g.user` or returns
None has none.

The project stage (routing.py) decides: a hook is auth when its name is in
`auth-dependencies`, when its function is a guard, or when it calls a
configured auth dependency or a project guard function (one level).
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

import libcst as cst

from ..principal_words import (CREDENTIAL_KEY as _CREDENTIAL_KEY, CREDENTIAL_SOURCES,
                               LOGIN_ATTRIBUTES, NOT_PRINCIPAL as _NOT_PRINCIPAL,
                               PRINCIPAL_CALL as _PRINCIPAL_CALL, PRINCIPAL_CONTAINERS,
                               PRINCIPAL_GETTERS, PRINCIPAL_NAME as _PRINCIPAL_NAME)
from ..route_facts import HookFact
from .syntax import argument, dotted, iter_children, string_value

_KINDS = ("before_request", "before_app_request")
_DENIED = (401, 403)
_STATUS_NAMES = {"UNAUTHORIZED", "FORBIDDEN", "HTTP_401_UNAUTHORIZED", "HTTP_403_FORBIDDEN"}
_EXCEPTION = re.compile(r"(Unauthori[sz]ed|Unauthenticated|NotAuthenticated|Forbidden|"
                        r"AuthenticationFailed|PermissionDenied|AuthError|LoginRequired)")
# files without one of these have no guard function
GUARD_TEXT = re.compile(rb"abort\(|Unauthori|Unauthenticated|NotAuthenticated|Forbidden|"
                        rb"AuthenticationFailed|PermissionDenied|AuthError|LoginRequired|401|403|"
                        rb"UNAUTHORIZED|FORBIDDEN|is_authenticated|is_anonymous|unauthorized\(")


def _last(name: Optional[str]) -> str:
    return name.rsplit(".", 1)[-1] if name else ""


def collect(declarations, statements: List[cst.CSTNode], local: Dict[str, str],
            functions: Dict[str, Tuple[str, cst.FunctionDef]]) -> None:
    """Hook registrations among `statements` (a module's, or an app factory's
    with its `local` routers) into `declarations.scan.hooks`."""
    scan = declarations.scan
    for stmt in statements:
        if isinstance(stmt, cst.FunctionDef):
            for decorator in stmt.decorators:
                registration = _registration(decorator.decorator)
                if registration is not None:
                    router, kind = registration
                    qualname = functions.get(stmt.name.value, (stmt.name.value, stmt))[0]
                    scan.hooks.append(HookFact(local.get(router, router), qualname,
                                               kind == "before_app_request", kind,
                                               _calls(stmt)))
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if not (isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)):
                    continue
                call = small.value
                registration = _registration(call.func)
                target = argument(call, 0, "f")
                name = dotted(target) if registration is not None and target is not None \
                    else None
                if not name:
                    continue
                router, kind = registration
                known = functions.get(name)
                scan.hooks.append(HookFact(
                    local.get(router, router), known[0] if known else name,
                    kind == "before_app_request", kind, _calls(known[1]) if known else ()))


def _registration(node: cst.CSTNode) -> Optional[Tuple[str, str]]:
    """`bp.before_request` -> ("bp", "before_request")."""
    if isinstance(node, cst.Attribute) and node.attr.value in _KINDS:
        owner = dotted(node.value)
        if owner:
            return owner, node.attr.value
    return None


def guards(statements: List[cst.CSTNode], prefix: str = "") -> Dict[str, str]:
    """Function qualname -> the evidence that it turns unauthenticated callers
    away, for the functions among `statements` that do."""
    found: Dict[str, str] = {}
    for stmt in statements:
        if isinstance(stmt, cst.FunctionDef):
            evidence = guard_evidence(stmt)
            if evidence:
                found[prefix + stmt.name.value] = evidence
    return found


def guard_evidence(node: cst.FunctionDef) -> Optional[str]:
    """How the function's body leaves with 401/403 on every request that is not
    authenticated, or None (nested definitions do not run here). The denial
    counts when it is unconditional or its condition tests only the principal
    (`principal_test`); a denial under another condition (a CSRF check, a rate
    limit, one endpoint) or after an early `return` (some requests pass
    untouched) is none."""
    return _covering_denial(node.body.body, _principal_locals(node))


def static_test(test: cst.BaseExpression) -> Optional[bool]:
    """True for a test that holds only for Flask's static files
    (`request.endpoint == "static"`, `request.path.startswith("/static")`),
    False for its negation, None for anything else. Static files are no route:
    a hook that lets them through (or guards everything else) still covers
    every route."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = static_test(test.expression)
        return None if inner is None else not inner
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        value = string_value(target.comparator)
        if dotted(test.left) == "request.endpoint" and value == "static":
            if isinstance(target.operator, cst.Equal):
                return True
            if isinstance(target.operator, cst.NotEqual):
                return False
        return None
    if isinstance(test, cst.Call) and isinstance(test.func, cst.Attribute) \
            and test.func.attr.value == "startswith" and len(test.args) == 1:
        head = dotted(test.func.value)
        value = string_value(test.args[0].value) or ""
        if (head == "request.endpoint" and value == "static") or (
                head == "request.path" and value.rstrip("/") == "/static"):
            return True
    return None


def _only_returns(block: cst.BaseSuite) -> bool:
    body = block.body if isinstance(block, cst.IndentedBlock) else [block]
    for stmt in body:
        smalls = stmt.body if isinstance(stmt, (cst.SimpleStatementLine,
                                                cst.SimpleStatementSuite)) else None
        if smalls is None or not all(isinstance(s, (cst.Return, cst.Pass)) for s in smalls):
            return False
    return True


def _static_exemption(stmt: cst.If) -> Optional[str]:
    """"skip" for `if <static>: return`, "guarded" for `if <not static>:` with
    no else (its body runs for every route), None otherwise."""
    verdict = static_test(stmt.test)
    if verdict is True and stmt.orelse is None and _only_returns(stmt.body):
        return "skip"
    if verdict is False and stmt.orelse is None:
        return "guarded"
    return None


def _covering_denial(statements, env) -> Optional[str]:
    for stmt in statements:
        if isinstance(stmt, cst.If) and _static_exemption(stmt) == "skip":
            continue
        if isinstance(stmt, cst.If) and _static_exemption(stmt) == "guarded":
            return _covering_denial(stmt.body.body, env) \
                if isinstance(stmt.body, cst.IndentedBlock) else None
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Expr):
                    evidence = _denies(small.value)
                else:
                    evidence = _denies(small)
                if evidence:
                    return evidence
                if isinstance(small, cst.Return):
                    return None  # leaves without turning the caller away
        elif isinstance(stmt, cst.If):
            if principal_test(stmt.test, env):
                evidence = _principal_guard(stmt, env)
                if evidence:
                    return evidence
            if passes_some(stmt):
                return None
        elif isinstance(stmt, (cst.With, cst.Try)):
            evidence = _covering_denial(stmt.body.body, env)
            if evidence or passes_some(stmt.body):
                return evidence
        elif passes_some(stmt):
            return None
    return None


def _principal_guard(stmt: cst.If, env) -> Optional[str]:
    """`if <principal test>: <leave>` -> its evidence."""
    specific = guard_evidence_in(stmt.body)
    if _login_test(stmt.test):
        return f"{_test_text(stmt.test)}: {specific or 'leave'}" if _leaves(stmt.body) else None
    return specific


def passes_some(node: cst.CSTNode) -> bool:
    """The statement holds a `return` / `return None`: some requests leave the
    hook there untouched."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(current, cst.Return) and (current.value is None or (
                isinstance(current.value, cst.Name) and current.value.value == "None")):
            return True
        stack.extend(iter_children(current))
    return False


def _denies(node: cst.CSTNode) -> Optional[str]:
    if isinstance(node, cst.Call):
        name = _last(dotted(node.func))
        if name == "abort":  # abort(401), abort(Response(..., status=401))
            given = argument(node, 0, "status")
            status = _status(given) or (_returned_status(given) if given is not None else None)
            if status:
                return f"abort({status})"
    elif isinstance(node, cst.Raise) and node.exc is not None:
        exc = node.exc.func if isinstance(node.exc, cst.Call) else node.exc
        name = _last(dotted(exc))
        if _EXCEPTION.search(name):
            return f"raise {name}"
        if isinstance(node.exc, cst.Call) and any(_status(a.value) for a in node.exc.args):
            return f"raise {name}({_status(next(a.value for a in node.exc.args if _status(a.value)))})"
    elif isinstance(node, cst.Return) and node.value is not None:
        status = _returned_status(node.value)
        if status:
            return f"return {status}"
        if isinstance(node.value, cst.Call) and _last(dotted(node.value.func)) == "unauthorized":
            return f"return {dotted(node.value.func)}()"
    return None


def guard_evidence_in(block: cst.CSTNode) -> Optional[str]:
    """The first 401/403 denial anywhere in `block` (its text)."""
    stack: List[cst.CSTNode] = [block]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        evidence = _denies(current)
        if evidence:
            return evidence
        stack.extend(reversed(list(iter_children(current))))
    return None


# --- what tests only the principal ------------------------------------------------
def _principal_locals(node: cst.FunctionDef) -> frozenset:
    """Names assigned in the function from a principal value (or named for one)."""
    found: set = set()
    assignments = []
    stack: List[cst.CSTNode] = [node.body]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(current, cst.Assign) and len(current.targets) == 1 and \
                isinstance(current.targets[0].target, cst.Name):
            assignments.append((current.targets[0].target.value, current.value))
        elif isinstance(current, cst.AnnAssign) and isinstance(current.target, cst.Name) \
                and current.value is not None:
            assignments.append((current.target.value, current.value))
        stack.extend(iter_children(current))
    for _ in range(2):  # a local built from another
        for name, value in assignments:
            if _mentions_not_principal(value):
                continue
            if _PRINCIPAL_NAME.match(name) or _principal_value(value, frozenset(found)):
                found.add(name)
    return frozenset(found)


def _mentions_not_principal(node: cst.CSTNode) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name) and _NOT_PRINCIPAL.search(current.value):
            return True
        if isinstance(current, cst.SimpleString) and _NOT_PRINCIPAL.search(current.value):
            return True
        stack.extend(iter_children(current))
    return False


def principal_test(test: cst.BaseExpression, env=frozenset()) -> bool:
    """The condition tests only who the caller is: flask_login's
    `current_user.is_authenticated` / `is_anonymous`, `g.user` / `session.get("user_id")`
    (being None, or falsy), a credential header, a token-verifying call's result,
    under `not`, `or` (and an `and` of such tests only)."""
    if _mentions_not_principal(test):
        return False
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return principal_test(test.expression, env)
    if isinstance(test, cst.BooleanOperation):
        return principal_test(test.left, env) and principal_test(test.right, env)
    if isinstance(test, cst.Comparison):
        if len(test.comparisons) != 1:
            return False
        target = test.comparisons[0]
        operator = target.operator
        if isinstance(operator, (cst.Is, cst.IsNot, cst.Equal, cst.NotEqual)):
            if isinstance(target.comparator, cst.Name) and target.comparator.value == "None":
                return _principal_value(test.left, env)
            return False
        if isinstance(operator, (cst.In, cst.NotIn)):  # "user_id" in session
            return _principal_container(test.left, target.comparator, env)
        return False
    return _principal_value(test, env)


def _principal_container(key: cst.BaseExpression, container: cst.BaseExpression, env) -> bool:
    name = dotted(container) or ""
    if name in PRINCIPAL_CONTAINERS:
        return True
    if name in CREDENTIAL_SOURCES and isinstance(key, cst.SimpleString):
        return bool(_CREDENTIAL_KEY.search(key.value))
    return _principal_value(container, env)


def _principal_value(node: cst.BaseExpression, env) -> bool:
    """An expression whose value is the caller, its identity or its credential."""
    if isinstance(node, cst.Name):
        return node.value in env or node.value in ("current_user", "session")
    if isinstance(node, cst.Attribute):
        name = dotted(node) or ""
        if node.attr.value in LOGIN_ATTRIBUTES or \
                name.startswith(("g.", "flask.g.")) or name in ("request.authorization",):
            return True
        return _principal_value(node.value, env)
    if isinstance(node, cst.Subscript):  # session["user_id"], header[7:]
        owner = dotted(node.value) or ""
        if owner in CREDENTIAL_SOURCES:
            index = node.slice[0].slice if node.slice else None
            value = getattr(index, "value", None)
            return isinstance(value, cst.SimpleString) and bool(_CREDENTIAL_KEY.search(value.value))
        return _principal_value(node.value, env)
    if isinstance(node, cst.Call):
        name = dotted(node.func) or ""
        if name in PRINCIPAL_GETTERS:
            return True
        if name == "getattr" and node.args and dotted(node.args[0].value) in ("g", "flask.g"):
            return True
        if name in tuple(f"{source}.get" for source in CREDENTIAL_SOURCES):
            key = argument(node, 0, "key")
            return isinstance(key, cst.SimpleString) and bool(_CREDENTIAL_KEY.search(key.value))
        if name and _PRINCIPAL_CALL.search(_last(name)):
            return True
        if isinstance(node.func, cst.Attribute):  # header.startswith("Bearer ")
            return _principal_value(node.func.value, env)
        return False
    return False


def _login_test(test: cst.BaseExpression) -> bool:
    """flask_login's own test: `not current_user.is_authenticated`, `current_user.is_anonymous`
    (or an `or` of those and other principal tests)."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = test.expression
        return isinstance(inner, cst.Attribute) and inner.attr.value == "is_authenticated"
    if isinstance(test, cst.Attribute):
        return test.attr.value == "is_anonymous"
    if isinstance(test, cst.BooleanOperation):
        return _login_test(test.left) or _login_test(test.right)
    return False


def _test_text(test: cst.BaseExpression) -> str:
    if isinstance(test, cst.UnaryOperation):
        return f"not {dotted(test.expression) or '...'}"
    if isinstance(test, cst.Attribute):
        return dotted(test) or "..."
    return "not authenticated"


def _status(node: Optional[cst.CSTNode]) -> Optional[int]:
    if isinstance(node, cst.Integer):
        value = int(node.value)
        return value if value in _DENIED else None
    if isinstance(node, cst.Attribute) and node.attr.value in _STATUS_NAMES:
        return 401 if "UNAUTHORIZED" in node.attr.value else 403
    return None


def _returned_status(value: cst.CSTNode) -> Optional[int]:
    """`return body, 401`, `return make_response(body, 403)`, `Response(status=401)`."""
    if isinstance(value, cst.Tuple):
        for element in value.elements[1:]:
            status = _status(element.value)
            if status:
                return status
    elif isinstance(value, cst.Call):
        for arg in value.args:
            if (arg.keyword is None or arg.keyword.value in ("status", "status_code")) \
                    and _status(arg.value):
                return _status(arg.value)
    return None


def _leaves(body: cst.CSTNode) -> bool:
    """The block returns a value, raises or aborts."""
    stack = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(node, cst.Raise):
            return True
        if isinstance(node, cst.Return) and node.value is not None and not (
                isinstance(node.value, cst.Name) and node.value.value == "None"):
            return True
        if isinstance(node, cst.Call) and _last(dotted(node.func)) == "abort":
            return True
        stack.extend(iter_children(node))
    return False


def _calls(node: cst.FunctionDef) -> Tuple[str, ...]:
    """Functions the hook calls on every request, as written (`verify_jwt_in_request`,
    `auth.check`): not those under a condition that does not test the principal
    (`if request.method == "POST": check()`), nor those after an early `return`."""
    found: List[str] = []
    env = _principal_locals(node)
    _covering_calls(node.body.body, env, found)
    return tuple(found)


def _covering_calls(statements, env, found: List[str]) -> bool:
    """Adds the calls of `statements` that run on every request; False once a
    statement may return early (the rest does not cover every request)."""
    for stmt in statements:
        if isinstance(stmt, cst.If) and _static_exemption(stmt) == "skip":
            continue
        if isinstance(stmt, cst.If) and _static_exemption(stmt) == "guarded":
            return isinstance(stmt.body, cst.IndentedBlock) and \
                _covering_calls(stmt.body.body, env, found)
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                _called(small, found)
                if isinstance(small, cst.Return):
                    return False
        elif isinstance(stmt, cst.If):
            _called(stmt.test, found)
            if principal_test(stmt.test, env):
                _called(stmt.body, found)
            if passes_some(stmt):
                return False
        elif isinstance(stmt, (cst.With, cst.Try)):
            if isinstance(stmt, cst.With):
                for item in stmt.items:
                    _called(item, found)
            if not _covering_calls(stmt.body.body, env, found):
                return False
            if passes_some(stmt):
                return False
        elif passes_some(stmt):
            return False
    return True


def _called(node: cst.CSTNode, found: List[str]) -> None:
    stack: List[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(current, cst.Call):
            name = dotted(current.func)
            if name and name not in found:
                found.append(name)
        stack.extend(reversed(list(iter_children(current))))
