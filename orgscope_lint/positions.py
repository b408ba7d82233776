"""Positions (and source text) for a chosen set of nodes, without libcst's
metadata machinery.

`PositionProvider` records a range for every node of the module; we only need
the few nodes we report. One code-generation pass records, for the requested
nodes only, the index of the token where each starts and ends; offsets and
line/column pairs are worked out afterwards for those indices alone, and a
node's source is the join of its tokens (no second code generation per
snippet). The pass stops as soon as the last requested node is complete.

The per-node hooks run for every node of the tree, so they are kept minimal:
identity sets instead of node hashing (`CSTNode.__hash__` is Python code), the
bound C method `list.append` as the token sink, and a shared no-op context for
the syntactic-position hook of nodes nobody asked about. (An event log that
also records nodes through `list.append` avoids the hooks' Python frames but
costs more afterwards, in building maps over millions of events; measured.)
"""
from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate
from typing import Dict, Iterable, List, Optional, Tuple

import libcst as cst
from libcst._nodes.internal import CodegenState

from .model import Span

_NEWLINE = re.compile(r"\r\n|\r|\n")


class _AllFound(Exception):
    """Raised from inside code generation once every target has been seen."""


class _NoOp:
    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> bool:
        return False


_NO_OP = _NoOp()


class _Syntactic:
    """Records the token range of a node's syntactic extent (statements
    without their leading comment lines, expressions without parentheses)."""

    __slots__ = ("state", "key", "start")

    def __init__(self, state: "_TrackingState", key: int) -> None:
        self.state = state
        self.key = key

    def __enter__(self) -> None:
        self.start = len(self.state.tokens)

    def __exit__(self, *exc) -> bool:
        if exc[0] is None:
            self.state.syntactic[self.key] = (self.start, len(self.state.tokens))
        return False


class _TrackingState(CodegenState):
    def __init__(self, module: cst.Module, target_ids: frozenset) -> None:
        super().__init__(default_indent=module.default_indent,
                         default_newline=module.default_newline)
        self.target_ids = target_ids
        self.remaining = len(target_ids)
        self.starts: Dict[int, int] = {}
        self.indents: Dict[int, str] = {}
        self.found: Dict[int, Tuple[int, int]] = {}
        self.syntactic: Dict[int, Tuple[int, int]] = {}
        # bound C method: the most frequent call of code generation runs no Python frame
        self.add_token = self.tokens.append  # type: ignore[method-assign]

    def pop_trailing_newline(self) -> None:
        pass  # keeps recorded token indices valid

    def before_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.target_ids:
            self.starts[id(node)] = len(self.tokens)
            self.indents[id(node)] = "".join(self.indent_tokens)

    def after_codegen(self, node: cst.CSTNode) -> None:
        key = id(node)
        if key in self.target_ids and key not in self.found:
            self.found[key] = (self.starts.pop(key), len(self.tokens))
            self.remaining -= 1
            if self.remaining == 0:
                raise _AllFound

    def record_syntactic_position(self, node: cst.CSTNode, *, start_node=None,
                                  end_node=None):
        if id(node) in self.target_ids:
            return _Syntactic(self, id(node))
        return _NO_OP


class Located:
    """Spans and source text of the requested nodes of one module; for text
    edits, also each node's whole extent (parentheses, a statement's leading
    lines and line break included) and the block indentation in force there."""

    def __init__(self, state: Optional[_TrackingState],
                 targets: Dict[int, cst.CSTNode]) -> None:
        self.spans: Dict[cst.CSTNode, Span] = {}
        self.extents: Dict[cst.CSTNode, Tuple[Span, str]] = {}
        self._code: Dict[int, str] = {}
        if state is None:
            return
        tokens: List[str] = state.tokens
        offsets = [0, *accumulate(map(len, tokens))]
        text = "".join(tokens)
        line_starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]

        def at(index: int) -> Tuple[int, int]:
            offset = offsets[index]
            line = bisect_right(line_starts, offset)
            return line, offset - line_starts[line - 1]

        for key, node in targets.items():
            whole = state.found.get(key)
            if whole is None:
                continue
            self._code[key] = text[offsets[whole[0]]:offsets[whole[1]]]
            first, last = at(whole[0]), at(whole[1])
            self.extents[node] = (Span(first[0], first[1] + 1, last[0], last[1] + 1),
                                  state.indents.get(key, ""))
            start, end = state.syntactic.get(key) or whole
            line, col = at(start)
            end_line, end_col = at(end)
            self.spans[node] = Span(line, col + 1, end_line, end_col + 1)

    def code(self, node: cst.CSTNode) -> Optional[str]:
        """The node's source as the module spells it (like `Module.code_for_node`,
        except for the indentation of nested lines); None if not requested."""
        return self._code.get(id(node))


def locate(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> Located:
    targets = {id(node): node for node in nodes}
    if not targets:
        return Located(None, targets)
    state = _TrackingState(module, frozenset(targets))
    try:
        module._codegen(state)
    except _AllFound:
        pass
    return Located(state, targets)


# The last pass, so that the snippets of the nodes just located are read from
# it rather than generated again. Holding the module keeps the node ids valid.
_last: Optional[Tuple[cst.Module, Located]] = None


def positions(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> Dict[cst.CSTNode, Span]:
    """Spans (1-based line and column) of `nodes` in `module`."""
    return located(module, nodes).spans


def located(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> Located:
    """`locate`, remembered for `located_code`."""
    global _last
    found = locate(module, nodes)
    _last = (module, found)
    return found


def located_code(module: cst.Module, node: cst.CSTNode) -> Optional[str]:
    """The source of `node` if the last `positions` call on `module` located it.
    (Not for `If`: an `elif` spells itself `if` when generated on its own, and
    snippets feed fingerprints that must not change.)"""
    if _last is not None and _last[0] is module and not isinstance(node, cst.If):
        return _last[1].code(node)
    return None
