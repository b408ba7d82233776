"""Values returned by the module's own functions: filters and rows built by a
helper (`def _tenant_filter(org, **extra): return {"org_id": org, **extra}`).

A call of such a function is worth what its body returns with the call's
arguments bound to its parameters: the helper is interpreted again at each
call (helpers that build a dict are small), with no hook attached (its own DB
calls are its unit's business), so the keys and the origins of their values
are the caller's (`org` pinned by `_tenant_filter(org, id=x)` is the caller's
`org`). Only functions whose `return`s can give a dict or a list of rows are
interpreted; recursion stops at the first repeat.

Helpers in other modules are summarised per file (`summary`) and applied at
the project stage (`helper_values.py`).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from .flow import Env, FlowAnalyzer
from .module import ModuleInfo, Unit
from .syntax import iter_children
from .values import NONE, UNKNOWN_ORIGIN, DictVal, ListVal, Origin, Origins, Value, join_values

_RETURNS = (cst.Dict, cst.Name, cst.List, cst.ListComp, cst.BinaryOperation, cst.IfExp)
_MAX_STATEMENTS = 60
_MAX_DEPTH = 4  # helpers calling helpers: interpreted this deep, no deeper
# the key that stands for a helper's `**extra` in its summary
EXTRA = "**"


class ReturnedValues:
    """`FlowAnalyzer.functions` for one module: module-level functions by name."""

    def __init__(self, info: ModuleInfo) -> None:
        self.units: Dict[str, Unit] = {
            u.qualname: u for u in info.units
            if u.node is not None and u.cls is None and "." not in u.qualname
            and not isinstance(u.node.asynchronous, cst.Asynchronous)}
        self._candidates: Dict[str, bool] = {}
        self._active: Set[str] = set()

    def candidate(self, name: str) -> bool:
        """Can `name`'s body return a dict or rows (and is it small)?"""
        known = self._candidates.get(name)
        if known is None:
            unit = self.units.get(name)
            known = unit is not None and _returns_container(unit.node)
            self._candidates[name] = known
        return known

    def value_of(self, name: str, call: cst.Call, env: Env,
                 analyzer: FlowAnalyzer) -> Optional[Value]:
        if name in self._active or len(self._active) >= _MAX_DEPTH or not self.candidate(name):
            return None
        unit = self.units[name]
        start = bind_arguments(unit, call, env, analyzer)
        if start is None:
            return None
        value = self.returned(unit, start, analyzer)
        if isinstance(value, DictVal):
            return value.returned_by(f"`{name}()`")
        return value if isinstance(value, ListVal) else None

    def returned(self, unit: Unit, start: Env, analyzer: FlowAnalyzer) -> Optional[Value]:
        """The join of the values `unit` returns, run from `start`."""
        self._active.add(unit.qualname)
        try:
            inner = FlowAnalyzer((), lambda node, env: None, analyzer.constants,
                                 analyzer.value_models, self)
            end = inner.run(unit.body, start)
            exits = inner.exits + ([(end, None)] if end is not None else [])
            value: Optional[Value] = None
            for index, (exit_env, expression) in enumerate(exits):
                here = NONE if expression is None else inner.value_of(expression, exit_env)
                value = here if index == 0 else join_values(value, here)
                if value is None:
                    return None
            return value
        finally:
            self._active.discard(unit.qualname)

    def summary(self, name: str, analyzer: FlowAnalyzer) -> Optional[
            Tuple[Tuple[Tuple[str, str], ...], bool]]:
        """For another module's callers: ((key, the parameter its value is, or
        ""), ...) of the keys the returned dict has on every path (`EXTRA` for
        the `**extra` keywords merged in), and whether part of it is opaque;
        None when it does not return a dict."""
        if not self.candidate(name):
            return None
        unit = self.units[name]
        node = unit.node
        defs: Dict[str, Origins] = {p.name.value: frozenset({Origin("param", name=p.name.value)})
                                    for p in unit.params}
        vals: Dict[str, Value] = {}
        star = node.params.star_kwarg
        if isinstance(star, cst.Param):
            vals[star.name.value] = DictVal().with_key(EXTRA, frozenset())
        value = self.returned(unit, Env(vals, defs), analyzer)
        if not isinstance(value, DictVal):
            return None
        keys = []
        for key in sorted(value.must):
            origins = value.values.get(key, frozenset())
            param = ""
            if len(origins) == 1:
                (origin,) = origins
                if origin.kind == "param":
                    param = origin.name or ""
            keys.append((key, param))
        return tuple(keys), value.opaque


def bind_arguments(unit: Unit, call: cst.Call, env: Env,
                   analyzer: FlowAnalyzer) -> Optional[Env]:
    """The environment `unit` starts in when `call` (evaluated in `env`) runs it."""
    node = unit.node
    params = node.params
    positional = list(params.posonly_params) + list(params.params)
    named = {p.name.value: p for p in positional + list(params.kwonly_params)}
    vals: Dict[str, Value] = {}
    defs: Dict[str, Origins] = {}
    extra: Optional[DictVal] = DictVal() if isinstance(params.star_kwarg, cst.Param) else None
    index = 0
    for arg in call.args:
        if arg.star == "*":
            return None  # positions unknown from here on
        if arg.star == "**":
            if extra is None:
                return None
            inner = analyzer.value_of(arg.value, env)
            extra = extra.merged(inner if isinstance(inner, DictVal) else DictVal(opaque=True))
            continue
        value = analyzer.value_of(arg.value, env)
        origins = analyzer.origins(arg.value, env)
        if arg.keyword is None:
            if index >= len(positional):
                index += 1
                continue
            name = positional[index].name.value
            index += 1
        else:
            name = arg.keyword.value
            if name not in named:
                if extra is not None:
                    extra = extra.with_key(name, origins)
                continue
        defs[name] = origins
        if value is not None:
            vals[name] = value
    for name, param in named.items():
        if name not in defs:
            defs[name] = frozenset({Origin("expr", node=param.default, defs={})}) \
                if param.default is not None else frozenset({UNKNOWN_ORIGIN})
    if isinstance(params.star_arg, cst.Param):
        defs[params.star_arg.name.value] = frozenset({UNKNOWN_ORIGIN})
    if extra is not None:
        star = params.star_kwarg.name.value
        defs[star] = frozenset({UNKNOWN_ORIGIN})
        vals[star] = extra
    return Env(vals, defs)


def builds_dict(node: cst.FunctionDef) -> bool:
    """A `return` of a dict display, `dict(...)` or `a | b` (a helper that
    builds a filter or a row: summarised for other modules' callers)."""
    stack: List[cst.CSTNode] = list(node.body.body) if isinstance(
        node.body, cst.IndentedBlock) else [node.body]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(current, cst.Return):
            value = current.value
            if isinstance(value, (cst.Dict, cst.BinaryOperation)) or (
                    isinstance(value, cst.Call) and isinstance(value.func, cst.Name)
                    and value.func.value == "dict"):
                return True
            continue
        if isinstance(current, (cst.BaseSmallStatement, cst.BaseExpression)):
            continue  # a return is a statement: no need to look inside expressions
        stack.extend(iter_children(current))
    return False


def _returns_container(node: cst.FunctionDef) -> bool:
    """Some `return` gives a dict, a list or a name (and the body is small)."""
    statements = 0
    returns = False
    stack: List[cst.CSTNode] = list(node.body.body) if isinstance(
        node.body, cst.IndentedBlock) else [node.body]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(current, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            statements += 1
            if statements > _MAX_STATEMENTS:
                return False
        if isinstance(current, cst.Return) and current.value is not None:
            value = current.value
            if isinstance(value, _RETURNS) or (
                    isinstance(value, cst.Call) and isinstance(value.func, cst.Name)
                    and value.func.value == "dict"):
                returns = True
            continue
        if isinstance(current, (cst.Yield, cst.Await)):
            return False
        stack.extend(iter_children(current))
    return returns
