"""Syntax helpers every tree analysis and preset shares, each defined once:
dotted names, string literals, call arguments, annotation names, child
iteration without libcst's generic machinery."""
from __future__ import annotations

import dataclasses
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

import libcst as cst


_SKIP_FIELDS = ("whitespace", "lpar", "rpar", "comma", "semicolon", "colon", "dot",
                "equal", "star", "operator", "lbracket", "rbracket", "lbrace", "rbrace",
                "leading_lines", "trailing_whitespace", "header", "footer", "newline",
                "asynchronous", "await", "indent", "leading_lines", "lines_after_decorators")
_FIELDS_CACHE: Dict[type, Tuple[str, ...]] = {}


def _child_fields(node_type: type) -> Tuple[str, ...]:
    fields = _FIELDS_CACHE.get(node_type)
    if fields is None:
        fields = tuple(f.name for f in dataclasses.fields(node_type)
                       if not f.name.startswith(_SKIP_FIELDS))
        _FIELDS_CACHE[node_type] = fields
    return fields


# Expression nodes that hold no call (nor anything else the walk looks for).
_LEAVES = frozenset({cst.Name, cst.SimpleString, cst.Integer, cst.Float, cst.Imaginary,
                     cst.Ellipsis})


def iter_children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Children that can hold expressions, in source order, without libcst's
    (costly) generic `children` machinery."""
    for name in _child_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            yield value
        elif isinstance(value, (tuple, list)):
            for item in value:
                if isinstance(item, cst.CSTNode):
                    yield item


def string_value(node: Optional[cst.CSTNode]) -> Optional[str]:
    """The value of a plain string literal (no f-strings), else None."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        try:
            value = node.evaluated_value
        except Exception:  # malformed escapes, bytes mixing
            return None
        return value if isinstance(value, str) else None
    return None


def dotted(node: cst.CSTNode) -> Optional[str]:
    """`self.db` for Attribute(Name(self), db); None for anything else."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def argument(call: cst.Call, position: Optional[int], keyword: Optional[str]
             ) -> Optional[cst.BaseExpression]:
    """The argument given by `keyword`, else the `position`-th positional one."""
    if keyword is not None:
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == keyword:
                return arg.value
    if position is not None:
        positional = [a for a in call.args if a.keyword is None and not a.star]
        if 0 <= position < len(positional):
            return positional[position].value
    return None


def last_part(name: str) -> str:
    """`app.db.DatabaseService` -> `DatabaseService`."""
    return name.rsplit(".", 1)[-1]


def annotation_names(annotation: cst.CSTNode) -> Iterator[str]:
    """Every dotted name an annotation mentions: `Optional[Client]`,
    `Client | None`, `Annotated[Session, ...]`, and string annotations
    (`"DatabaseService"`, parsed as expressions)."""
    stack: List[cst.CSTNode] = [annotation]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Subscript):
            stack.append(node.value)
            stack.extend(e.slice.value for e in node.slice if isinstance(e.slice, cst.Index))
            continue
        if isinstance(node, cst.BinaryOperation):
            stack.extend((node.left, node.right))
            continue
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            text = string_value(node)
            if text:
                try:
                    stack.append(cst.parse_expression(text.strip()))
                except Exception:  # not an expression: no names
                    pass
            continue
        name = dotted(node)
        if name:
            yield name


def mentions_class(annotation: cst.CSTNode, classes: Iterable[str]) -> bool:
    """The annotation names one of `classes` (compared by last dotted part)."""
    wanted = frozenset(classes)
    return any(last_part(name) in wanted for name in annotation_names(annotation))


def called_name(node: cst.CSTNode) -> Optional[str]:
    """`DatabaseService()` / `await create_client()` -> the dotted callee name."""
    if isinstance(node, cst.Await):
        node = node.expression
    if isinstance(node, cst.Call):
        return dotted(node.func)
    return None
