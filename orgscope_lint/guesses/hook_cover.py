"""Whether a `before_request` hook turns the unauthenticated caller away on
*every* request (init's auth guess, with the standard `ast`): the same verdict
as the route analysis (analysis/routes_flask_hooks.py), over the same words
(principal_words.py). Its denial (abort / raise / a refusing return, or a token
verifier's call) must be unconditional, or under a test of the principal alone
(`not current_user.is_authenticated`, `g.user is None`, `session.get("user_id")`,
a credential header, a verifier's result; `not` / `or` of such, `and` of such
only). A CSRF check, a rate limit, one endpoint's check, or an early `return`
before the guard (some requests pass untouched) do not cover every request."""
from __future__ import annotations

import ast
from typing import Callable, FrozenSet, List

from ..principal_words import (CREDENTIAL_KEY, CREDENTIAL_SOURCES, LOGIN_ATTRIBUTES,
                               NOT_PRINCIPAL, PRINCIPAL_CALL, PRINCIPAL_CONTAINERS,
                               PRINCIPAL_GETTERS, PRINCIPAL_NAME)
from .source import FunctionNode, called_name, last

Denies = Callable[[ast.AST], bool]  # the statement / expression refuses the request


def covers_every_request(node: FunctionNode, denies: Denies) -> bool:
    return _covering(node.body, _principal_locals(node), denies)


def static_test(test: ast.AST) -> "bool | None":
    """True for a test that holds only for Flask's static files, False for its
    negation, None for anything else (analysis/routes_flask_hooks.static_test)."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = static_test(test.operand)
        return None if inner is None else not inner
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        right = test.comparators[0]
        if called_name(test.left) == "request.endpoint" and isinstance(right, ast.Constant) \
                and right.value == "static":
            if isinstance(test.ops[0], ast.Eq):
                return True
            if isinstance(test.ops[0], ast.NotEq):
                return False
        return None
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute) \
            and test.func.attr == "startswith" and len(test.args) == 1 \
            and isinstance(test.args[0], ast.Constant) and isinstance(test.args[0].value, str):
        head, value = called_name(test.func.value), test.args[0].value
        if (head == "request.endpoint" and value == "static") or (
                head == "request.path" and value.rstrip("/") == "/static"):
            return True
    return None


def _static_exemption(stmt: ast.If) -> "str | None":
    verdict = static_test(stmt.test)
    if verdict is True and not stmt.orelse and all(
            isinstance(s, (ast.Return, ast.Pass)) for s in stmt.body):
        return "skip"
    if verdict is False and not stmt.orelse:
        return "guarded"
    return None


def _covering(statements: List[ast.stmt], env: FrozenSet[str], denies: Denies) -> bool:
    for stmt in statements:
        if isinstance(stmt, ast.If) and _static_exemption(stmt) == "skip":
            continue
        if isinstance(stmt, ast.If) and _static_exemption(stmt) == "guarded":
            return _covering(stmt.body, env, denies)
        if isinstance(stmt, ast.If):
            if principal_test(stmt.test, env) and (
                    any(denies(n) for n in _walk(stmt.body))
                    or (_login_test(stmt.test) and _leaves(stmt.body))):
                return True
            if _passes_some(stmt):
                return False
        elif isinstance(stmt, (ast.With, ast.AsyncWith, ast.Try)):
            if _covering(stmt.body, env, denies):
                return True
            if _passes_some(stmt):
                return False
        elif isinstance(stmt, (ast.Expr, ast.Raise, ast.Return, ast.Assign, ast.AnnAssign)):
            if any(denies(n) for n in ast.walk(stmt)):
                return True
            if isinstance(stmt, ast.Return):
                return False
        elif _passes_some(stmt):
            return False
    return False


def _login_test(test: ast.AST) -> bool:
    """flask_login's own test (`not current_user.is_authenticated`, `is_anonymous`):
    any way out of its block (a redirect to the login page) turns the caller away."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return isinstance(test.operand, ast.Attribute) and \
            test.operand.attr == "is_authenticated"
    if isinstance(test, ast.Attribute):
        return test.attr == "is_anonymous"
    if isinstance(test, ast.BoolOp):
        return any(_login_test(value) for value in test.values)
    return False


def _leaves(statements: List[ast.stmt]) -> bool:
    return any(isinstance(n, ast.Raise) or (isinstance(n, ast.Return) and n.value is not None
                                           and not (isinstance(n.value, ast.Constant)
                                                    and n.value.value is None))
               or (isinstance(n, ast.Call) and last(called_name(n)) == "abort")
               for n in _walk(statements))


def _walk(statements: List[ast.stmt]):
    for stmt in statements:
        yield from ast.walk(stmt)


def _passes_some(node: ast.AST) -> bool:
    """A `return` / `return None` in the statement (nested definitions aside)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                ast.Lambda)) and current is not node:
            continue
        if isinstance(current, ast.Return) and (current.value is None or (
                isinstance(current.value, ast.Constant) and current.value.value is None)):
            return True
        stack.extend(ast.iter_child_nodes(current))
    return False


def _principal_locals(node: FunctionNode) -> FrozenSet[str]:
    assignments = [(n.targets[0].id, n.value) for n in ast.walk(node)
                   if isinstance(n, ast.Assign) and len(n.targets) == 1
                   and isinstance(n.targets[0], ast.Name)]
    found: set = set()
    for _ in range(2):  # a local built from another
        for name, value in assignments:
            if not _mentions_not_principal(value) and (
                    PRINCIPAL_NAME.match(name) or _principal_value(value, frozenset(found))):
                found.add(name)
    return frozenset(found)


def _mentions_not_principal(node: ast.AST) -> bool:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name) and NOT_PRINCIPAL.search(inner.id):
            return True
        if isinstance(inner, ast.Attribute) and NOT_PRINCIPAL.search(inner.attr):
            return True
        if isinstance(inner, ast.Constant) and isinstance(inner.value, str) and \
                NOT_PRINCIPAL.search(inner.value):
            return True
    return False


def principal_test(test: ast.AST, env: FrozenSet[str] = frozenset()) -> bool:
    if _mentions_not_principal(test):
        return False
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return principal_test(test.operand, env)
    if isinstance(test, ast.BoolOp):
        return all(principal_test(value, env) for value in test.values)
    if isinstance(test, ast.Compare):
        if len(test.ops) != 1:
            return False
        operator, right = test.ops[0], test.comparators[0]
        if isinstance(operator, (ast.Is, ast.IsNot, ast.Eq, ast.NotEq)):
            return isinstance(right, ast.Constant) and right.value is None and \
                _principal_value(test.left, env)
        if isinstance(operator, (ast.In, ast.NotIn)):
            return _principal_container(test.left, right, env)
        return False
    return _principal_value(test, env)


def _credential_key(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and \
        bool(CREDENTIAL_KEY.search(node.value))


def _principal_container(key: ast.AST, container: ast.AST, env: FrozenSet[str]) -> bool:
    name = called_name(container) if isinstance(container, (ast.Name, ast.Attribute)) else None
    if name in PRINCIPAL_CONTAINERS:
        return True
    if name in CREDENTIAL_SOURCES:
        return _credential_key(key)
    return _principal_value(container, env)


def _principal_value(node: ast.AST, env: FrozenSet[str]) -> bool:
    if isinstance(node, ast.Name):
        return node.id in env or node.id in ("current_user", "session")
    if isinstance(node, ast.Attribute):
        name = called_name(node) or ""
        if node.attr in LOGIN_ATTRIBUTES or name.startswith(("g.", "flask.g.")) or \
                name == "request.authorization":
            return True
        return _principal_value(node.value, env)
    if isinstance(node, ast.Subscript):
        owner = called_name(node.value) if isinstance(node.value, (ast.Name, ast.Attribute)) \
            else None
        if owner in CREDENTIAL_SOURCES:
            return _credential_key(node.slice)
        return _principal_value(node.value, env)
    if isinstance(node, ast.Call):
        name = called_name(node) or ""
        if name in PRINCIPAL_GETTERS:
            return True
        if name == "getattr" and node.args and called_name(node.args[0]) in ("g", "flask.g"):
            return True
        if name in tuple(f"{source}.get" for source in CREDENTIAL_SOURCES):
            return bool(node.args) and _credential_key(node.args[0])
        if name and PRINCIPAL_CALL.search(last(name)):
            return True
        if isinstance(node.func, ast.Attribute):
            return _principal_value(node.func.value, env)
    return False
