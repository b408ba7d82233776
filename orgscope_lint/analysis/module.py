"""Module-level facts from one cheap pass over top-level statements: imports,
string constants, classes, top-level definitions, and the function units
(functions and methods with their qualified names) the flow analysis runs on."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import libcst as cst

from .syntax import dotted, string_value


@dataclass
class Unit:
    """A function or method body to analyse (or the module body itself)."""

    qualname: str
    node: Optional[cst.CSTNode]  # FunctionDef, or None for module code
    body: object
    cls: Optional[str] = None  # enclosing class name for methods
    params: List[cst.Param] = field(default_factory=list)
    # positional index of each parameter at a call site (self/cls excluded)
    param_index: Dict[str, int] = field(default_factory=dict)
    param_default: Dict[str, bool] = field(default_factory=dict)
    # a function defined inside another (a closure, a callback): the enclosing
    # unit, and the flow environment where it is defined (its free names'
    # bindings and the guards passed), which its analysis starts from
    outer: Optional["Unit"] = None
    start_env: Optional[object] = None

    def owner(self, name: str) -> Optional["Unit"]:
        """The unit whose parameter `name` is: this one, or an enclosing one."""
        unit: Optional[Unit] = self
        while unit is not None:
            if name in unit.param_index or any(p.name.value == name for p in unit.params):
                return unit
            unit = unit.outer
        return None


@dataclass
class ModuleInfo:
    name: str
    is_package: bool
    imports: Dict[str, Tuple[str, Optional[str]]] = field(default_factory=dict)
    constants: Dict[str, str] = field(default_factory=dict)
    classes: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    definitions: List[str] = field(default_factory=list)
    units: List[Unit] = field(default_factory=list)
    # per-class names assigned in methods: class -> {attribute: value expr}
    self_assignments: Dict[str, Dict[str, cst.BaseExpression]] = field(default_factory=dict)
    module_assignments: Dict[str, cst.BaseExpression] = field(default_factory=dict)
    # module-level `name = Class(...)`: name -> the class as written
    instances: Dict[str, str] = field(default_factory=dict)


def module_name_for(path: str) -> Tuple[str, bool]:
    """`app/core/db.py` -> ("app.core.db", False); `app/__init__.py` -> ("app", True)."""
    parts = path[:-3].split("/") if path.endswith(".py") else path.split("/")
    parts = [p for p in parts if p not in ("", ".", "..")]
    if parts and parts[0] in ("src", "lib") and len(parts) > 1:
        parts = parts[1:]
    is_package = bool(parts) and parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def resolve_relative(module: str, is_package: bool, level: int, target: Optional[str]) -> str:
    if level == 0:
        return target or ""
    parts = module.split(".") if module else []
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    if target:
        parts.append(target)
    return ".".join(parts)


def unit_for_function(node: cst.FunctionDef, qualname: str, cls: Optional[str]) -> Unit:
    params = list(node.params.posonly_params) + list(node.params.params)
    is_method = cls is not None and not any(
        isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
        for d in node.decorators)
    unit = Unit(qualname, node, node.body, cls)
    unit.params = params + list(node.params.kwonly_params)
    offset = 1 if is_method and params else 0
    for index, param in enumerate(params):
        if index >= offset:
            unit.param_index[param.name.value] = index - offset
    for param in unit.params:
        unit.param_default[param.name.value] = param.default is not None
    for star in (node.params.star_arg, node.params.star_kwarg):
        if isinstance(star, cst.Param):
            unit.params.append(star)
            unit.param_default[star.name.value] = True
    return unit


def collect_module(module: cst.Module, name: str, is_package: bool) -> ModuleInfo:
    info = ModuleInfo(name, is_package)
    info.units.append(Unit("<module>", None, module.body))
    _collect_block(module.body, info, prefix="", cls=None, top=True)
    info.instances = _instances(info.module_assignments)
    return info


def _collect_block(body, info: ModuleInfo, prefix: str, cls: Optional[str], top: bool) -> None:
    for stmt in body:
        if isinstance(stmt, cst.FunctionDef):
            qualname = prefix + stmt.name.value
            if top:
                info.definitions.append(stmt.name.value)
            info.units.append(unit_for_function(stmt, qualname, cls))
            if cls is not None:
                _collect_self_assignments(stmt.body, info.self_assignments.setdefault(cls, {}))
        elif isinstance(stmt, cst.ClassDef):
            qualname = prefix + stmt.name.value
            if top:
                info.definitions.append(stmt.name.value)
                # a generic base `Repository[Invoice]` is the class `Repository`
                info.classes[stmt.name.value] = tuple(filter(None, (
                    dotted(arg.value.value if isinstance(arg.value, cst.Subscript)
                           else arg.value) for arg in stmt.bases)))
            _collect_block(stmt.body.body, info, qualname + ".", qualname, top=False)
        elif top and isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                _collect_small(small, info)
        elif top and isinstance(stmt, (cst.If, cst.Try)):
            # `try: import x except ImportError: ...` and `if TYPE_CHECKING:` blocks
            for block in _blocks_of(stmt):
                _collect_block(block, info, prefix, cls, top)


def _blocks_of(stmt) -> List[list]:
    blocks = [stmt.body.body]
    if isinstance(stmt, cst.Try):
        blocks += [h.body.body for h in stmt.handlers]
        if stmt.orelse:
            blocks.append(stmt.orelse.body.body)
    else:
        orelse = stmt.orelse
        while orelse is not None:
            blocks.append(orelse.body.body)
            orelse = orelse.orelse if isinstance(orelse, cst.If) else None
    return blocks


def _collect_small(small: cst.CSTNode, info: ModuleInfo) -> None:
    if isinstance(small, cst.Import):
        for alias in small.names:
            full = dotted(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                info.imports[alias.asname.name.value] = (full, None)
            else:
                head = full.split(".")[0]
                info.imports[head] = (head, None)
    elif isinstance(small, cst.ImportFrom):
        base = dotted(small.module) if small.module is not None else None
        target = resolve_relative(info.name, info.is_package, len(small.relative), base)
        if isinstance(small.names, cst.ImportStar):
            return
        for alias in small.names:
            original = dotted(alias.name) or ""
            bound = alias.asname.name.value if alias.asname and isinstance(
                alias.asname.name, cst.Name) else original
            info.imports[bound] = (target, original)
    elif isinstance(small, (cst.Assign, cst.AnnAssign)):
        targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) \
            else [small.target]
        for target in targets:
            if isinstance(target, cst.Name) and small.value is not None:
                info.definitions.append(target.value)
                info.module_assignments[target.value] = small.value
                value = string_value(small.value)
                if value is not None:
                    info.constants[target.value] = value


def _instances(assignments: Dict[str, cst.BaseExpression]) -> Dict[str, str]:
    """Module-level `name = Class(...)` (a capitalised callee): name -> the class
    as written, for the project stage to resolve (`telephony_service.release(...)`
    from another module, `settings.API_V1_STR` in a route prefix)."""
    found = {}
    for name, value in assignments.items():
        if isinstance(value, cst.Call):
            func = dotted(value.func)
            if func and func.rsplit(".", 1)[-1][:1].isupper():
                found[name] = func
    return found


def _collect_self_assignments(body, into: Dict[str, cst.BaseExpression]) -> None:
    """`self.x = <expr>` anywhere in a method body (flow-insensitive)."""
    stack = list(body.body) if isinstance(body, cst.BaseSuite) else []
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None:
                    targets = [t.target for t in small.targets] if isinstance(
                        small, cst.Assign) else [small.target]
                    for target in targets:
                        name = dotted(target)
                        if name and name.startswith("self.") and name.count(".") == 1:
                            into[name] = small.value
        elif isinstance(stmt, (cst.If, cst.Try, cst.With, cst.For, cst.While)):
            for block in ([stmt.body.body] if not isinstance(stmt, (cst.If, cst.Try))
                          else _blocks_of(stmt)):
                stack.extend(block)
