"""The libcst transforms behind `--fix`. Each takes a module and returns a new
one in which only the edited node differs: libcst regenerates every other byte
of the file as it was (comments, quotes, line breaks, encoding, BOM).

Every function raises `EditError` with a one-line reason when the target is
not where the fix expects it; the caller then reports "no safe fix".
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, Union

import libcst as cst
from libcst import MaybeSentinel

from .analysis.syntax import dotted, iter_children
from .analysis.module import resolve_relative
from .positions import positions
from .suppressions import _PATTERN as SUPPRESSION

Whitespace = Union[cst.SimpleWhitespace, cst.ParenthesizedWhitespace]


class EditError(Exception):
    """The fix cannot be applied safely; the message says why."""


# --- comma-separated sequences (dict entries, imported names) -----------------

def _bare_line_break(ws: Whitespace) -> Whitespace:
    """The same line break and indentation, without the comment or blank
    lines that belong to the neighbour it was copied from."""
    if isinstance(ws, cst.ParenthesizedWhitespace):
        return cst.ParenthesizedWhitespace(first_line=cst.TrailingWhitespace(), empty_lines=[],
                                           indent=ws.indent, last_line=ws.last_line)
    return ws


def _moved(ws: cst.ParenthesizedWhitespace, to: Whitespace) -> cst.ParenthesizedWhitespace:
    """`ws`'s end of line (comment included) followed by `to`'s indentation."""
    indent = to.indent if isinstance(to, cst.ParenthesizedWhitespace) else ws.indent
    last = to.last_line if isinstance(to, cst.ParenthesizedWhitespace) else ws.last_line
    return cst.ParenthesizedWhitespace(first_line=ws.first_line, empty_lines=ws.empty_lines,
                                       indent=indent, last_line=last)


def insert_element(elements: Sequence, index: int, new, opening: Optional[Whitespace],
                   closing: Optional[Whitespace]) -> Tuple[list, Optional[Whitespace]]:
    """Insert `new` (a node with a `comma`) at `index` of a comma-separated
    sequence, laid out like its neighbours: on its own line in a one-per-line
    sequence, after ", " in a single-line one; a trailing comma stays trailing
    and a comment stays on the line of the entry it belongs to.

    `opening` / `closing` are the whitespace after the opening bracket and
    before the closing one (None without brackets). Returns the new elements
    and the new closing whitespace."""
    items = list(elements)
    if not items:
        return [new.with_changes(comma=MaybeSentinel.DEFAULT)], closing
    if len(items) >= 2 and isinstance(items[0].comma, cst.Comma):
        separator_ws: Whitespace = items[0].comma.whitespace_after
    elif isinstance(opening, cst.ParenthesizedWhitespace):
        separator_ws = opening
    else:
        separator_ws = cst.SimpleWhitespace(" ")
    separator = cst.Comma(whitespace_before=cst.SimpleWhitespace(""),
                          whitespace_after=_bare_line_break(separator_ws))
    if index < len(items):
        items.insert(index, new.with_changes(comma=separator))
        return items, closing
    last = items[-1]
    last_comma = last.comma
    before = last_comma.whitespace_before if isinstance(last_comma, cst.Comma) \
        else cst.SimpleWhitespace("")
    one_per_line = isinstance(separator_ws, cst.ParenthesizedWhitespace)
    if one_per_line and isinstance(last_comma, cst.Comma) and isinstance(
            last_comma.whitespace_after, cst.ParenthesizedWhitespace):
        # `(a,\n    b,  # note\n)`: the line break before the bracket sits in the comma
        tail = last_comma.whitespace_after
        items[-1] = last.with_changes(comma=cst.Comma(before, _moved(tail, separator_ws)))
        items.append(new.with_changes(comma=cst.Comma(
            cst.SimpleWhitespace(""), _bare_line_break(tail))))
        return items, closing
    if one_per_line and isinstance(closing, cst.ParenthesizedWhitespace):
        # `{\n    "a": 1,  # note\n}`: the line break sits before the bracket
        items[-1] = last.with_changes(comma=cst.Comma(before, _moved(closing, separator_ws)))
        items.append(new.with_changes(comma=last_comma))
        return items, _bare_line_break(closing)
    items[-1] = last.with_changes(comma=separator)
    items.append(new.with_changes(comma=last_comma))
    return items, closing


# --- locating nodes by position -----------------------------------------------

def find_node(module: cst.Module, node_type: type, line: int, column: int,
              end_line: int, end_column: int) -> cst.CSTNode:
    """The node of `node_type` at exactly this span (1-based columns)."""
    candidates: List[cst.CSTNode] = []
    stack: List[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        if isinstance(node, node_type):
            candidates.append(node)
        if isinstance(node, cst.Module):
            stack.extend(node.body)
        else:
            stack.extend(iter_children(node))
    spans = positions(module, candidates)
    for node in candidates:
        span = spans.get(node)
        if span and (span.line, span.column, span.end_line, span.end_column) == (
                line, column, end_line, end_column):
            return node
    raise EditError(f"no {node_type.__name__.lower()} at {line}:{column} any more")


# --- ORG101/ORG102/ORG103: add the tenant key to a dict literal ------------------

def add_dict_entry(module: cst.Module, literal: cst.Dict, key: str, value: str) -> cst.Module:
    """Append `"key": value` to a dict literal of the module."""
    for element in literal.elements:
        if isinstance(element, cst.DictElement) and _string(element.key) == key:
            raise EditError(f'the dict already has a "{key}" entry')
    if not value.isidentifier():
        raise EditError(f"`{value}` is not a name")
    quote = next((_quote(e.key) for e in literal.elements
                  if isinstance(e, cst.DictElement) and _quote(e.key)), '"')
    template = next((e for e in reversed(literal.elements) if isinstance(e, cst.DictElement)),
                    None)
    entry = cst.DictElement(
        key=cst.SimpleString(f"{quote}{key}{quote}"), value=cst.Name(value),
        whitespace_before_colon=template.whitespace_before_colon if template
        else cst.SimpleWhitespace(""),
        whitespace_after_colon=template.whitespace_after_colon if template
        else cst.SimpleWhitespace(" "))
    elements, closing = insert_element(literal.elements, len(literal.elements), entry,
                                       literal.lbrace.whitespace_after,
                                       literal.rbrace.whitespace_before)
    new_literal = literal.with_changes(
        elements=elements, rbrace=literal.rbrace.with_changes(whitespace_before=closing))
    return module.deep_replace(literal, new_literal)


def _string(node: cst.CSTNode) -> Optional[str]:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _quote(node: cst.CSTNode) -> Optional[str]:
    if isinstance(node, cst.SimpleString) and not node.prefix and len(node.quote) == 1:
        return node.quote
    return None


# --- ORG301: import a name ----------------------------------------------------

def add_import(module: cst.Module, module_name: str, is_package: bool, target: str,
               name: str) -> cst.Module:
    """Import `name` from `target`: into the first top-level `from target
    import ...` (in sorted position when its names are sorted), else as a new
    statement at the end of the module's leading import block."""
    for statement in module.body:
        found = _from_import_of(statement, module_name, is_package, target)
        if found is None:
            continue
        names = list(found.names)
        if any(dotted(a.name) == name and a.asname is None for a in names):
            raise EditError(f"`{name}` is already imported from `{target}`")
        alias = cst.ImportAlias(name=cst.Name(name))
        index = _sorted_position([dotted(a.name) or "" for a in names], name)
        opening = found.lpar.whitespace_after if found.lpar else None
        closing = found.rpar.whitespace_before if found.rpar else None
        elements, closing = insert_element(names, index, alias, opening, closing)
        changes = {"names": elements}
        if found.rpar is not None:
            changes["rpar"] = found.rpar.with_changes(whitespace_before=closing)
        return module.deep_replace(found, found.with_changes(**changes))
    return _insert_statement(module, cst.parse_statement(f"from {target} import {name}\n"))


def _from_import_of(statement, module_name: str, is_package: bool,
                    target: str) -> Optional[cst.ImportFrom]:
    if not isinstance(statement, cst.SimpleStatementLine):
        return None
    for small in statement.body:
        if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
            base = dotted(small.module) if small.module is not None else None
            if resolve_relative(module_name, is_package, len(small.relative), base) == target:
                return small
    return None


def _isort_key(name: str) -> Tuple[int, str]:
    """isort's and ruff's default order: CONSTANTS, Classes, functions."""
    if name.isupper() and len(name) > 1:
        return (0, name.lower())
    return (1 if name[:1].isupper() else 2, name.lower())


def _sorted_position(names: List[str], name: str) -> int:
    """Where `name` goes if `names` are sorted (by isort's key, plainly or
    ignoring case); at the end otherwise."""
    for key in (_isort_key, str, str.lower):
        keys = [key(n) for n in names]
        if keys == sorted(keys):
            return sum(1 for k in keys if k <= key(name))
    return len(names)


def _is_import_line(statement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body)


def _is_docstring(statement) -> bool:
    return (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Expr)
            and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))


def _insert_statement(module: cst.Module, statement: cst.SimpleStatementLine) -> cst.Module:
    body = list(module.body)
    index = 1 if body and _is_docstring(body[0]) else 0
    after_docstring = index == 1
    position = index
    while position < len(body) and _is_import_line(body[position]):
        position += 1
        index = position
    if index == 1 and after_docstring:
        # first import of the module: a blank line after the docstring
        statement = statement.with_changes(leading_lines=[cst.EmptyLine()])
    body.insert(index, statement)
    return module.with_changes(body=body)


# --- ORG901: remove an unused suppression ----------------------------------------

class _CommentEditor(cst.CSTTransformer):
    """Rewrites one comment; removes the whole line when it was only that comment."""

    def __init__(self, target: cst.Comment, replacement: Optional[str]) -> None:
        super().__init__()
        self.target = target
        self.replacement = replacement
        self.done = False

    def leave_TrailingWhitespace(self, original, updated):
        if original.comment is not self.target:
            return updated
        self.done = True
        if self.replacement is None:
            return updated.with_changes(whitespace=cst.SimpleWhitespace(""), comment=None)
        return updated.with_changes(comment=cst.Comment(self.replacement))

    def leave_EmptyLine(self, original, updated):
        if original.comment is not self.target:
            return updated
        self.done = True
        if self.replacement is None:
            return cst.RemovalSentinel.REMOVE
        return updated.with_changes(comment=cst.Comment(self.replacement))


def rewrite_suppression(module: cst.Module, line: int, keep: Sequence[str]) -> cst.Module:
    """Leave only `keep` in the `# orgscope: ignore[...]` comment on `line`;
    with nothing to keep, the suppression goes (and a comment line that held
    nothing else goes with it)."""
    comments = _comments(module)
    spans = positions(module, comments)
    for comment in comments:
        span = spans.get(comment)
        match = SUPPRESSION.search(comment.value)
        if span is None or span.line != line or match is None:
            continue
        listed = [c.strip() for c in match.group(1).split(",") if c.strip()]
        if listed and [c.upper() for c in listed] == [c.upper() for c in keep]:
            raise EditError(f"the suppression on line {line} has nothing to remove any more")
        prefix = comment.value[:match.start()].rstrip()
        if keep:
            reason = f" {match.group(2)}" if match.group(2) else ""
            rest = f"# orgscope: ignore[{', '.join(keep)}]{reason}"
            replacement: Optional[str] = f"{prefix}  {rest}" if prefix else rest
        else:
            replacement = prefix or None
        editor = _CommentEditor(comment, replacement)
        result = module.visit(editor)
        if not editor.done:
            raise EditError(f"cannot edit the comment on line {line}")
        return result
    raise EditError(f"no suppression comment on line {line} any more")


def _comments(module: cst.Module) -> List[cst.Comment]:
    found: List[cst.Comment] = []
    stack: List[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Comment):
            found.append(node)
        stack.extend(node.children)
    return found
