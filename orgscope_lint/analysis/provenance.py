"""Where a value comes from: trace the flow analysis' `Origin`s (reaching
definitions, with the definitions in force where each expression was
evaluated) back to the function's parameters, flask's `request`, constants or
something opaque.

Only the *source* matters, not the path: `data.get("clerk_org_id")`,
`payload.org_id` and `str(data["org"]).strip()` all come from `data`. A method
call follows its receiver, never its arguments (`db.select_one("calls", {"id":
call_id})["clerk_org_id"]` is a row of the database, not the path parameter),
so it is opaque. `a or b`, `a and b` and `a if c else b` can be any operand.
"""
from __future__ import annotations

from typing import Dict, FrozenSet, Iterable, Optional, Set, Tuple

import libcst as cst

from ..route_facts import (AUTH_GLOBAL, CONSTANT, FLASK_REQUEST, OPAQUE, PARAM,
                           REQUEST_STATE)
from .values import Origin
from .syntax import dotted

# Calls that convert a value without changing where it comes from.
_CONVERSIONS = frozenset({"str", "int", "UUID", "uuid.UUID", "cast", "typing.cast",
                          "getattr"})
_MAX_DEPTH = 40


class Tracer:
    """Traces origins within one module; `imports` tells flask's `request`
    and `g` apart from any other global."""

    def __init__(self, imports: Dict[str, Tuple[str, Optional[str]]]) -> None:
        self.flask_request = {name for name, (module, attr) in imports.items()
                              if module.split(".")[0] == "flask" and attr == "request"}
        self.flask_g = {name for name, (module, attr) in imports.items()
                        if module.split(".")[0] == "flask" and attr == "g"}
        self.login_user = {name for name, (module, attr) in imports.items()
                           if module.split(".")[0] == "flask_login" and attr == "current_user"}

    def sources(self, origins: Iterable[Origin]) -> FrozenSet[str]:
        found: Set[str] = set()
        seen: Set[int] = set()
        for origin in origins:
            self._origin(origin, found, seen, 0)
        return frozenset(found)

    def _origin(self, origin: Origin, found: Set[str], seen: Set[int], depth: int) -> None:
        if id(origin) in seen or depth > _MAX_DEPTH:
            return
        seen.add(id(origin))
        if origin.kind == "param":
            found.add(PARAM + (origin.name or ""))
        elif origin.kind == "expr" and origin.node is not None:
            self._expr(origin.node, origin.defs or {}, found, seen, depth + 1)
        else:
            found.add(OPAQUE)

    def _expr(self, node: cst.CSTNode, defs, found: Set[str], seen: Set[int],
              depth: int) -> None:
        # An explicit stack: long `a or b or c ...` chains must not recurse.
        stack = [node]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Name):
                self._name(node.value, defs, found, seen, depth)
            elif isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.Integer,
                                   cst.Float)):
                found.add(CONSTANT)
            elif isinstance(node, cst.Attribute):
                if node.attr.value == "state" or (
                        isinstance(node.value, cst.Name) and node.value.value in self.flask_g):
                    found.add(REQUEST_STATE)
                else:
                    stack.append(node.value)
            elif isinstance(node, cst.Subscript):
                stack.append(node.value)
            elif isinstance(node, cst.Await):
                stack.append(node.expression)
            elif isinstance(node, cst.BooleanOperation):
                stack.extend((node.left, node.right))
            elif isinstance(node, cst.IfExp):
                stack.extend((node.body, node.orelse))
            elif isinstance(node, cst.BinaryOperation):
                stack.extend((node.left, node.right))
            elif isinstance(node, cst.FormattedString):
                stack.extend(part.expression for part in node.parts
                             if isinstance(part, cst.FormattedStringExpression))
            elif isinstance(node, cst.Call):
                self._call(node, stack, found)
            else:
                found.add(OPAQUE)

    def _call(self, call: cst.Call, stack: list, found: Set[str]) -> None:
        func = call.func
        if isinstance(func, cst.Attribute):
            stack.append(func.value)  # `data.get(...)`, `request.json()`, `x.strip()`
            return
        name = dotted(func)
        if name in _CONVERSIONS and call.args:
            stack.append(call.args[-1].value if name.endswith("cast") else call.args[0].value)
            return
        found.add(OPAQUE)

    def _name(self, name: str, defs, found: Set[str], seen: Set[int], depth: int) -> None:
        if name in defs:
            for origin in defs[name]:
                self._origin(origin, found, seen, depth)
        elif name in ("None", "True", "False"):
            found.add(CONSTANT)
        elif name in self.flask_request:
            found.add(FLASK_REQUEST)
        elif name in self.login_user:
            found.add(AUTH_GLOBAL)
        else:
            found.add(OPAQUE)  # a module global or a builtin
