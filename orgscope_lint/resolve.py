"""Name resolution across the project, from every file's `FileFacts` alone.

One place answers "what does this name, written in this module, refer to?"
for every project-stage consumer (wrapper calls, routes and their
dependencies, ORG204's one-level-down check, ORG301 suggestions): imports
(absolute and relative, `import a.b as c`), package re-exports through
`__init__` (`from app.services import get_call` when `app/services/__init__.py`
imports it from `.calls`), submodules as attributes of their package, class
bases (methods looked up along the bases), and module-level instances
(`service = TelephonyService()` in one module, `service.assign_number(...)` in
another). No libcst here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

from .callees import AttributeCallee, Callee, InstanceCallee, NameCallee, SelfCallee
from .facts import FileFacts

Key = Tuple[str, str]  # (module, top-level name)

_ALTERNATE_CONSTRUCTORS = ("create", "build", "get_instance", "instance", "new")
_MAX_REEXPORTS = 8  # a chain of re-exports longer than this is given up (and cycles end)


@dataclass(frozen=True)
class Target:
    """A project function or method: `get_call`, `TelephonyService.assign_number`."""

    module: str
    qualname: str


class Resolver:
    def __init__(self, files: Sequence[FileFacts], receiver_classes: Iterable[str] = ()) -> None:
        self.modules: Dict[str, FileFacts] = {f.module: f for f in files if f.module}
        self._tops = frozenset(m.split(".")[0] for m in self.modules)
        self._functions: Dict[str, FrozenSet[str]] = {
            module: frozenset(facts.functions) for module, facts in self.modules.items()}
        self._mro: Dict[Key, Tuple[Key, ...]] = {}
        # memos: a project has many call sites naming few distinct callees
        self._callees: Dict[Tuple[str, Callee], Optional[Target]] = {}
        self._receiver_methods: Dict[str, Tuple[Target, ...]] = {}
        self.receivers = self._receivers(set(receiver_classes))

    # -- names ---------------------------------------------------------------------
    def resolve(self, facts: FileFacts, ref: str, depth: int = 0) -> Optional[Key]:
        """(module, top-level name) that the dotted `ref`, as written in `facts`'
        module, refers to, following imports, submodules and re-exports; None
        outside the project (or for a module: see `module_of`)."""
        parts = ref.split(".")
        head = parts[0]
        if head in facts.imports:
            module, attribute = facts.imports[head]
            module = self.project_module(module)
            rest = parts[1:]
            if attribute is not None:
                submodule = f"{module}.{attribute}"
                if submodule not in self.modules:
                    return self._in_module(module, attribute, depth) if not rest else None
                module = submodule
            while len(rest) > 1 and f"{module}.{rest[0]}" in self.modules:
                module = f"{module}.{rest.pop(0)}"
            return self._in_module(module, rest[0], depth) if len(rest) == 1 else None
        if len(parts) == 1 and head in facts.definitions:
            return facts.module, head
        return None

    def project_module(self, module: str) -> str:
        """The project's name for an imported module. Files under a top-level
        `src/` (or `lib/`) are named without it (`src/api/deps.py` is
        `api.deps`, the src layout), so where `src` is itself a package and the
        code imports `from src.dependencies import ...` (CAR-ETL), the import
        names the module `dependencies`."""
        if module in self.modules:
            return module
        head, _, rest = module.partition(".")
        if head in ("src", "lib") and rest and (
                rest in self.modules or rest.split(".")[0] in self._tops):
            return rest
        return module

    def _in_module(self, module: str, name: str, depth: int) -> Optional[Key]:
        facts = self.modules.get(module)
        if facts is None:
            return None
        if name in facts.definitions:
            return module, name
        if name in facts.imports and depth < _MAX_REEXPORTS:  # a re-export
            return self.resolve(facts, name, depth + 1)
        return None

    def module_of(self, facts: FileFacts, ref: str) -> Optional[str]:
        """The project module the dotted `ref` names in `facts`' module
        (`telephony` after `from app.services import telephony`)."""
        parts = ref.split(".")
        if parts[0] not in facts.imports:
            return None
        module, attribute = facts.imports[parts[0]]
        module = self.project_module(module)
        if attribute is not None:
            module = f"{module}.{attribute}"
        for part in parts[1:]:
            module = f"{module}.{part}"
        return module if module in self.modules else None

    def definers(self, name: str) -> List[str]:
        """Modules whose top level defines `name` (not the ones importing it)."""
        return sorted(m for m, f in self.modules.items() if name in f.definitions)

    # -- classes and instances -----------------------------------------------------------
    def is_class(self, key: Key) -> bool:
        return key[0] in self.modules and key[1] in self.modules[key[0]].classes

    def instance_class(self, key: Key) -> Optional[Key]:
        """The class of a module-level `instance = Class(...)`, as resolved."""
        facts = self.modules.get(key[0])
        written = facts.instances.get(key[1]) if facts is not None else None
        return self.resolve(facts, written) if written else None

    def bases(self, cls: Key) -> List[Key]:
        """The project classes `cls` names as its bases (outside ones are left out)."""
        facts = self.modules.get(cls[0])
        if facts is None:
            return []
        found = (self.resolve(facts, base) for base in facts.classes.get(cls[1], ()))
        return [key for key in found if key is not None and self.is_class(key)]

    def mro(self, cls: Key) -> Tuple[Key, ...]:
        """`cls` and its project base classes, nearest first (breadth-first)."""
        if cls not in self._mro:
            order: List[Key] = []
            pending = [cls]
            while pending:
                key = pending.pop(0)
                if key not in order:
                    order.append(key)
                    pending.extend(self.bases(key))
            self._mro[cls] = tuple(order)
        return self._mro[cls]

    def method(self, cls: Key, name: str) -> Optional[Target]:
        """The method `name` of `cls`, defined by it or by a project base class."""
        for module, owner in self.mro(cls):
            qualname = f"{owner}.{name}"
            if qualname in self._functions.get(module, ()):
                return Target(module, qualname)
        return None

    def _receivers(self, configured: Set[str]) -> Tuple[Key, ...]:
        """Project classes that are DB receivers: configured by name, or deriving
        (by the base's name: the configured class may live outside the project)
        from one."""
        names = set(configured)
        changed = True
        while changed:
            changed = False
            for facts in self.modules.values():
                for name, bases in facts.classes.items():
                    if name not in names and any(b.split(".")[-1] in names for b in bases):
                        names.add(name)
                        changed = True
        return tuple(sorted((module, name) for module, facts in self.modules.items()
                            for name in facts.classes if name in names))

    # -- calls ---------------------------------------------------------------------
    def callee(self, facts: FileFacts, callee: Callee) -> Optional[Target]:
        """The project function a call in `facts`' module runs, when the way the
        call names it pins one down (a DB receiver's class is not known: see
        `receiver_methods`)."""
        memo = (facts.path, callee)
        if memo not in self._callees:
            self._callees[memo] = self._callee(facts, callee)
        return self._callees[memo]

    def _callee(self, facts: FileFacts, callee: Callee) -> Optional[Target]:
        if isinstance(callee, NameCallee):
            key = self.resolve(facts, callee.name)
            return self._called(key) if key else None
        if isinstance(callee, AttributeCallee):
            module = self.module_of(facts, callee.base)
            if module is not None:
                key = self._in_module(module, callee.method, 0)
                return self._called(key) if key else None
            owner = self.resolve(facts, callee.base)
            cls = self.instance_class(owner) if owner else None
            return self.method(cls, callee.method) if cls and self.is_class(cls) else None
        if isinstance(callee, SelfCallee):
            if callee.cls in facts.classes:
                return self.method((facts.module, callee.cls), callee.method)
            qualname = f"{callee.cls}.{callee.method}"  # a nested class: no bases known
            return Target(facts.module, qualname) \
                if qualname in self._functions.get(facts.module, ()) else None
        if isinstance(callee, InstanceCallee):
            cls = self.receiver_class(facts, callee)
            return self.method(cls, callee.method) if cls else None
        return None  # ReceiverCallee: any receiver class may be meant

    def receiver_class(self, facts: FileFacts, callee: Callee) -> Optional[Key]:
        """The project class whose method a call names (`self.x()`, `repo.x()` on
        a local made by the class or by a classmethod constructor named as such,
        `service.x()` on a module-level instance), when the call pins one down."""
        if isinstance(callee, SelfCallee):
            key = (facts.module, callee.cls)
        elif isinstance(callee, InstanceCallee):
            key = self.resolve(facts, callee.cls)
            head, _, factory = callee.cls.rpartition(".")
            if (key is None or not self.is_class(key)) and head and (
                    factory.startswith("from_") or factory in _ALTERNATE_CONSTRUCTORS):
                # `repository = OrderRepository.from_session(session)`
                key = self.resolve(facts, head)
        elif isinstance(callee, AttributeCallee) and self.module_of(facts, callee.base) is None:
            owner = self.resolve(facts, callee.base)
            key = self.instance_class(owner) if owner else None
        else:
            return None
        return key if key is not None and self.is_class(key) else None

    def _called(self, key: Key) -> Optional[Target]:
        """Calling the object `key` names: a function, a class (its `__init__`)
        or a module-level instance (its class's `__call__`)."""
        if self.is_class(key):
            return self.method(key, "__init__")
        cls = self.instance_class(key)
        if cls is not None and self.is_class(cls):
            return self.method(cls, "__call__")
        return Target(*key)

    def receiver_methods(self, method: str) -> Tuple[Target, ...]:
        """`method` on each DB receiver class that has it (in module order)."""
        if method not in self._receiver_methods:
            found: List[Target] = []
            for cls in self.receivers:
                target = self.method(cls, method)
                if target is not None and target not in found:
                    found.append(target)
            self._receiver_methods[method] = tuple(found)
        return self._receiver_methods[method]
