"""Project-wide facts built from every file's `FileFacts`: which module defines
what, the wrapper summaries, and call resolution for project rules."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Set, Tuple

from .config import Config
from .facts import CallSite, FileFacts, WrapperSummary


class ProjectIndex:
    def __init__(self, files: Sequence[FileFacts], config: Config, schema=None,
                 catalog=None) -> None:
        self.files = list(files)
        self.config = config
        self.schema = schema  # migrations.ProjectSchema, when the project has migrations
        self.catalog = catalog  # the run's TableCatalog
        self.modules: Dict[str, FileFacts] = {f.module: f for f in self.files if f.module}
        self.wrappers: Dict[Tuple[str, str], List[WrapperSummary]] = {}
        for facts in self.files:
            for wrapper in facts.wrappers:
                self.wrappers.setdefault((wrapper.module, wrapper.qualname), []).append(wrapper)
        self.receiver_classes = self._receiver_classes()
        # `db.get_call(...)`: method name -> the first wrapper of that name on a
        # DB receiver class (modules in sorted order, so the choice is stable)
        self._receiver_methods: Dict[str, WrapperSummary] = {}
        for (_, qualname), found in sorted(self.wrappers.items()):
            owner, _, method = qualname.rpartition(".")
            if owner in self.receiver_classes:
                self._receiver_methods.setdefault(method, found[0])

    def _receiver_classes(self) -> Set[str]:
        classes = set(self.config.receiver_classes)
        changed = True
        while changed:
            changed = False
            for facts in self.files:
                for name, bases in facts.classes.items():
                    if name not in classes and any(b.split(".")[-1] in classes for b in bases):
                        classes.add(name)
                        changed = True
        return classes

    def definers(self, name: str) -> List[str]:
        """Modules whose top level defines `name`."""
        return sorted(m for m, f in self.modules.items() if name in f.definitions)

    def resolve_name(self, facts: FileFacts, name: str) -> Optional[Tuple[str, str]]:
        """(module, top-level name) that `name` refers to inside `facts`' module."""
        if name in facts.imports:
            module, attribute = facts.imports[name]
            if attribute is None:
                return None
            if module in self.modules and attribute in self.modules[module].definitions:
                return module, attribute
            # `from app.services import telephony` binds a module
            return None
        if name in facts.definitions:
            return facts.module, name
        return None

    def module_alias(self, facts: FileFacts, name: str) -> Optional[str]:
        if name not in facts.imports:
            return None
        module, attribute = facts.imports[name]
        full = module if attribute is None else f"{module}.{attribute}"
        return full if full in self.modules else None

    def _class_methods(self, module: str, cls: str, method: str) -> List[WrapperSummary]:
        """Wrappers for `cls.method`, looking through project base classes."""
        seen = set()
        pending = [(module, cls)]
        while pending:
            mod, name = pending.pop(0)
            if (mod, name) in seen or mod not in self.modules:
                continue
            seen.add((mod, name))
            found = self.wrappers.get((mod, f"{name}.{method}"))
            if found:
                return found
            facts = self.modules[mod]
            for base in facts.classes.get(name, ()):
                target = self.resolve_name(facts, base.split(".")[-1])
                if target:
                    pending.append(target)
        return []

    def resolve_call(self, facts: FileFacts, site: CallSite) -> List[WrapperSummary]:
        kind = site.callee[0]
        if kind == "name":
            target = self.resolve_name(facts, site.callee[1])
            return self.wrappers.get(target, []) if target else []
        if kind == "self":
            return self._class_methods(facts.module, site.callee[1].split(".")[0], site.callee[2])
        if kind == "dbmethod":
            found = self._receiver_methods.get(site.callee[1])
            return [found] if found else []
        if kind == "instance":
            class_path, method = site.callee[1], site.callee[2]
            head, _, rest = class_path.partition(".")
            if rest:
                module = self.module_alias(facts, head)
                if module is None:
                    return []
                return self._class_methods(module, rest, method)
            target = self.resolve_name(facts, head)
            return self._class_methods(*target, method) if target else []
        if kind == "attr":
            module = self.module_alias(facts, site.callee[1])
            return self.wrappers.get((module, site.callee[2]), []) if module else []
        return []
