"""The libcst side of fixes: per-file fix builders describe a fix as a
draft of node edits (replace a node by a new one, or insert text before or
after it); the checker locates those nodes in its one positions pass and
renders each draft as a plain `Fix` of text edits. The new node's text is
generated with the block indentation in force at the old one, so every other
byte of the file stays as it was (comments, quotes, line breaks, encoding).

The transforms here take a node and return the edited node; they raise
`EditError` with a one-line reason when there is no safe edit (the finding
then says "no safe fix" and why).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import libcst as cst
from libcst import MaybeSentinel
from libcst._nodes.internal import CodegenState

from .analysis.syntax import dotted
from .analysis.module import resolve_relative
from .model import Fix, Span, TextEdit

Whitespace = Union[cst.SimpleWhitespace, cst.ParenthesizedWhitespace]


class EditError(Exception):
    """The fix cannot be applied safely; the message says why."""


# --- drafts: node edits, rendered as text edits ----------------------------------

@dataclass(eq=False)
class NodeEdit:
    """Replace `node` (its whole extent) by `replacement`, a node or text; with
    `at="before"` / `"after"`, insert the text there instead."""

    node: cst.CSTNode
    replacement: Union[cst.CSTNode, str]
    at: str = "replace"


@dataclass(eq=False)
class FixDraft:
    description: str
    edits: Tuple[NodeEdit, ...]


@dataclass(eq=False)
class ChoiceDrafts:
    """Alternative drafts, each (the names holding its tenant value, the
    dependencies that must be auth dependencies, the draft): rendered per file
    as `FixChoice`s, chosen from at project level."""

    choices: Tuple[Tuple[Tuple[str, ...], Tuple[str, ...], FixDraft], ...]

    @property
    def edits(self) -> Tuple[NodeEdit, ...]:
        return tuple(edit for _, _, draft in self.choices for edit in draft.edits)


Extents = Dict[cst.CSTNode, Tuple[Span, str]]  # whole extent, block indentation


def render(draft: FixDraft, module: cst.Module, extents: Extents,
           code_of) -> Union[Fix, str]:
    """The draft as a `Fix`, or why it cannot be one. `extents` and `code_of`
    (a node's current text) come from the positions pass that located the
    draft's nodes."""
    edits: List[TextEdit] = []
    for edit in draft.edits:
        found = extents.get(edit.node)
        if found is None:
            return "the code to change was not found"
        span, indent = found
        text = edit.replacement if isinstance(edit.replacement, str) else \
            node_text(module, edit.replacement, indent)
        if edit.at == "before":
            edits.append(TextEdit(Span(span.line, span.column, span.line, span.column), text))
        elif edit.at == "after":
            edits.append(TextEdit(Span(span.end_line, span.end_column, span.end_line,
                                       span.end_column), text))
        else:
            old = code_of(edit.node)
            edits.append(narrowed(span, old, text) if old is not None else TextEdit(span, text))
    return Fix(draft.description, tuple(sorted(edits, key=lambda e: (
        e.span.line, e.span.column, e.span.end_line, e.span.end_column))))


def node_text(module: cst.Module, node: cst.CSTNode, indent: str) -> str:
    """`node`'s source as it reads where the block indentation is `indent`."""
    state = CodegenState(default_indent=module.default_indent,
                         default_newline=module.default_newline)
    if indent:
        state.increase_indent(indent)
    node._codegen(state)
    return "".join(state.tokens)


_NEWLINE = re.compile(r"\r\n|\r|\n")


def narrowed(span: Span, old: str, new: str) -> TextEdit:
    """The edit replacing `old` (the text at `span`) by `new`, reduced to the
    part that differs (a readable diff and SARIF replacement)."""
    limit = min(len(old), len(new))
    start = 0
    while start < limit and old[start] == new[start]:
        start += 1
    end = 0
    while end < limit - start and old[-1 - end] == new[-1 - end]:
        end += 1
    # never split a CRLF: positions count it as one line break
    if start and old[start - 1] == "\r":
        start -= 1
    if end and old[len(old) - end - 1:len(old) - end + 1] == "\r\n":
        end -= 1
    return TextEdit(Span(*_advance(span.line, span.column, old[:start]),
                         *_advance(span.line, span.column, old[:len(old) - end])),
                    new[start:len(new) - end])


def _advance(line: int, column: int, text: str) -> Tuple[int, int]:
    """The position after `text` when it starts at (line, column)."""
    breaks = list(_NEWLINE.finditer(text))
    if not breaks:
        return line, column + len(text)
    return line + len(breaks), len(text) - breaks[-1].end() + 1


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


# --- ORG101/ORG102/ORG103: add the tenant key to a dict literal ------------------

def add_dict_entry(literal: cst.Dict, key: str, value: str) -> cst.Dict:
    """`literal` with `"key": value` appended."""
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
    return literal.with_changes(
        elements=elements, rbrace=literal.rbrace.with_changes(whitespace_before=closing))


def add_argument(call: cst.Call, text: str) -> cst.Call:
    """`call` with the argument `text` (`tenant_id=org`, `Agent.tenant_id == org`)
    appended, laid out like its other arguments."""
    try:
        parsed = cst.parse_expression(f"f({text})")
    except cst.ParserSyntaxError:
        raise EditError(f"`{text}` is not an argument") from None
    assert isinstance(parsed, cst.Call) and len(parsed.args) == 1
    new = parsed.args[0]
    if new.keyword is not None and any(a.keyword is not None and a.keyword.value ==
                                       new.keyword.value for a in call.args):
        raise EditError(f"the call already has `{new.keyword.value}=`")
    if new.keyword is None and any(a.keyword is not None or a.star for a in call.args):
        raise EditError("a condition cannot follow keyword or starred arguments")
    args, _ = insert_element(call.args, len(call.args), new, call.whitespace_before_args, None)
    if len(args) >= 2:  # the space before `)` stays last: `f(\n    a\n)`
        tail = args[-2].whitespace_after_arg
        args[-2] = args[-2].with_changes(whitespace_after_arg=cst.SimpleWhitespace(""))
        args[-1] = args[-1].with_changes(whitespace_after_arg=tail)
    return call.with_changes(args=args)


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

@dataclass(eq=False)
class ImportDraft:
    """How to import `name` into a module, drafted before the module to import
    from is known: per target module, the extended `from target import ...`
    (or why it cannot be extended); else a new statement where `anchor` says."""

    name: str
    extend: Dict[str, Union[FixDraft, str]]
    anchor: NodeEdit  # an empty insertion where a new import statement goes
    prefix: str


def import_draft(module: cst.Module, module_name: str, is_package: bool,
                 name: str) -> ImportDraft:
    """Extend the first top-level `from target import ...` of each target (in
    sorted position when its names are sorted); a new statement goes at the
    end of the module's leading import block."""
    extend: Dict[str, Union[FixDraft, str]] = {}
    for statement in module.body:
        for found in _from_imports(statement):
            base = dotted(found.module) if found.module is not None else None
            target = resolve_relative(module_name, is_package, len(found.relative), base)
            if target not in extend:
                try:
                    extend[target] = FixDraft(f"import `{name}` from `{target}`",
                                              (NodeEdit(found, extend_import(found, name, target)),))
                except EditError as exc:
                    extend[target] = str(exc)
    anchor, prefix = _new_statement_place(module)
    return ImportDraft(name, extend, anchor, prefix)


def extend_import(found: cst.ImportFrom, name: str, target: str) -> cst.ImportFrom:
    """`from target import ...` with `name` added."""
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
    return found.with_changes(**changes)


def _from_imports(statement) -> List[cst.ImportFrom]:
    if not isinstance(statement, cst.SimpleStatementLine):
        return []
    return [small for small in statement.body
            if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar)]


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


def _new_statement_place(module: cst.Module) -> Tuple[NodeEdit, str]:
    """After the docstring and the import statements that follow it (with a
    blank line after a docstring that no import follows yet); at the top of
    the body otherwise."""
    body = list(module.body)
    index = 1 if body and _is_docstring(body[0]) else 0
    first_import = index == 1 and not (len(body) > 1 and _is_import_line(body[1]))
    while index < len(body) and _is_import_line(body[index]):
        index += 1
    if index == 0:
        return NodeEdit(body[0], "", at="before"), ""
    return NodeEdit(body[index - 1], "", at="after"), module.default_newline if first_import else ""
