"""Call sites that may reach a project function, described by how the callee
is named (`get_call(...)`, `self.sync(...)`, `db.get_call(...)`,
`service.assign_number(...)`), so the project stage can resolve them against
every module's wrapper summaries without re-parsing (see `callees.py`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import libcst as cst

from ..callees import (AttributeCallee, Callee, InstanceCallee, NameCallee, ReceiverCallee,
                       SelfCallee)
from .flow import Env, FlowAnalyzer
from .module import ModuleInfo, Unit
from .syntax import dotted

_BUILTIN_NAMES = frozenset(dir(__import__("builtins")))


@dataclass
class PendingCall:
    call: cst.Call
    unit: Unit
    callee: Callee
    statement: Optional[cst.CSTNode] = None
    env: Optional[Env] = None  # in force at the call (the first time it is met)


class CallSiteHook:
    def __init__(self, info: ModuleInfo, parts: Sequence = ()) -> None:
        self.info = info
        self.parts = parts  # the presets' parts recognise DB receivers (`db.get_call(...)`)
        self.calls: dict = {}
        self.unit: Optional[Unit] = None

    def start_unit(self, unit: Unit) -> None:
        self.unit = unit

    def __call__(self, call: cst.Call, env: Env, analyzer: FlowAnalyzer) -> None:
        if call in self.calls:
            return
        callee = self.callee(call.func, env)
        if callee is not None:
            self.calls[call] = PendingCall(call, self.unit, callee, analyzer.statement_node, env)

    def callee(self, func: cst.CSTNode, env: Env) -> Optional[Callee]:
        if isinstance(func, cst.Name):
            name = func.value
            origins = env.defs.get(name)
            local = origins is not None and any(o.kind != "unknown" for o in origins)
            if local or (name in _BUILTIN_NAMES and name not in self.info.imports):
                return None
            return NameCallee(name)
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        base = func.value
        if isinstance(base, cst.Name) and base.value == "self" and self.unit and self.unit.cls:
            return SelfCallee(self.unit.cls, method)
        receivers = [p for p in self.parts if p.is_receiver(base, env)]
        if receivers:
            if any(p.is_sink_method(method) for p in receivers):
                return None
            return ReceiverCallee(method)
        if isinstance(base, cst.Name):
            origins = env.defs.get(base.value)
            if origins:
                classes = {dotted(o.node.func) for o in origins
                           if o.kind == "expr" and isinstance(o.node, cst.Call)}
                if len(classes) == 1 and None not in classes and len(origins) == 1:
                    return InstanceCallee(classes.pop(), method)
                return None
            if base.value in self.info.imports or base.value in self.info.instances:
                # a module or an imported name, or a module-level instance
                return AttributeCallee(base.value, method)
        return None


def describe_arguments(call: cst.Call) -> Tuple[int, Tuple[str, ...], Tuple[int, ...],
                                                Tuple[str, ...], bool]:
    positional = 0
    keywords: List[str] = []
    none_positions: List[int] = []
    none_keywords: List[str] = []
    has_star = False
    for arg in call.args:
        is_none = isinstance(arg.value, cst.Name) and arg.value.value == "None"
        if arg.star:
            has_star = True
        elif arg.keyword is not None:
            keywords.append(arg.keyword.value)
            if is_none:
                none_keywords.append(arg.keyword.value)
        else:
            if is_none:
                none_positions.append(positional)
            positional += 1
    return positional, tuple(keywords), tuple(none_positions), tuple(none_keywords), has_star
