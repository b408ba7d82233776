"""Optional auth: a dependency that may hand the route `None` instead of a
caller (`get_optional_current_user`: "works with or without authentication")
does not authenticate the route, even when it reaches a configured auth
dependency or is listed as one.

A function is optional when it returns a value on some path and `None`
(`return None`, a bare `return`) on another, or when its return annotation
admits `None` (`Optional[User]`, `User | None`, `Union[User, None]`) and it
never raises. A guard that only raises and never returns a value
(`verify_api_key`) is not.
"""
from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from .syntax import dotted


_BLOCKS = ("body", "orelse", "handlers", "finalbody", "cases")


def _statements(node: cst.CSTNode, kind: type) -> Iterator[cst.CSTNode]:
    """The `kind` small statements of the function body `node`, not those of
    nested functions or classes. Follows statement blocks only (bodies, else
    branches, handlers, match cases): expressions hold no statement."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, kind):
            yield current
            continue
        if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.BaseSmallStatement)):
            continue
        for attribute in _BLOCKS:
            part = getattr(current, attribute, None)
            if part is None:
                continue
            if isinstance(part, (list, tuple)):
                stack.extend(part)
            elif isinstance(part, cst.CSTNode):
                stack.append(part)


def _returns(node: cst.CSTNode) -> Iterator[cst.Return]:
    """The function's own `return` statements."""
    return _statements(node, cst.Return)  # type: ignore[return-value]


def _is_none(node: Optional[cst.BaseExpression]) -> bool:
    return node is None or (isinstance(node, cst.Name) and node.value == "None")


def _admits_none(annotation: cst.BaseExpression) -> bool:
    if isinstance(annotation, cst.Subscript):
        head = (dotted(annotation.value) or "").rsplit(".", 1)[-1]
        elements = [e.slice.value for e in annotation.slice
                    if isinstance(e.slice, cst.Index)]
        if head == "Optional":
            return True
        if head == "Union":
            return any(_is_none(e) for e in elements)
        if head == "Annotated" and elements:
            return _admits_none(elements[0])
        return False
    if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator,
                                                                    cst.BitOr):
        return _is_none(annotation.left) or _is_none(annotation.right) or \
            _admits_none(annotation.left) or _admits_none(annotation.right)
    return isinstance(annotation, cst.SimpleString) and "None" in annotation.value


def _raises(node: cst.CSTNode) -> bool:
    return next(_statements(node, cst.Raise), None) is not None


def optional_reason(node: cst.FunctionDef) -> Optional[str]:
    """Why the dependency `node` may return None (it is optional auth), or None.
    A return type that admits None counts only for a function that never
    raises (an `Optional[User]` written on a dependency that raises 401 is
    a loose annotation, not optional auth)."""
    values = [r.value for r in _returns(node.body)]
    if any(not _is_none(v) for v in values) and any(_is_none(v) for v in values):
        return "it returns None on some path"
    if node.returns is not None and _admits_none(node.returns.annotation) and \
            not _raises(node.body):
        return "its return type admits None and it never refuses the request"
    return None
