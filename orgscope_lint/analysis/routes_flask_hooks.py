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

from ..route_facts import HookFact
from .syntax import argument, dotted, iter_children

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
    """How the function's body leaves with 401/403, or None (nested
    definitions do not run here)."""
    return guard_evidence_in(node.body)


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
    elif isinstance(node, cst.If) and _unauthenticated(node.test) and _leaves(node.body):
        specific = guard_evidence_in(node.body)
        return f"{_test_text(node.test)}: {specific or 'leave'}"
    return None


def guard_evidence_in(block: cst.CSTNode) -> Optional[str]:
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


def _unauthenticated(test: cst.BaseExpression) -> bool:
    """`not current_user.is_authenticated`, `current_user.is_anonymous`, `not g.user`
    is not enough (no login attribute): only the flask_login attributes count."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = test.expression
        return isinstance(inner, cst.Attribute) and inner.attr.value == "is_authenticated"
    if isinstance(test, cst.Attribute):
        return test.attr.value == "is_anonymous"
    if isinstance(test, cst.BooleanOperation):
        return _unauthenticated(test.left) or _unauthenticated(test.right)
    return False


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
    """Functions the hook calls, as written (`verify_jwt_in_request`, `auth.check`)."""
    found: List[str] = []
    stack: List[cst.CSTNode] = [node.body]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(current, cst.Call):
            name = dotted(current.func)
            if name and name not in found:
                found.append(name)
        stack.extend(iter_children(current))
    return tuple(found)
