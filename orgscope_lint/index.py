"""Project-wide facts built from every file's `FileFacts`: the name resolver,
the wrapper summaries, and which wrappers a call site reaches."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from .callees import ReceiverCallee
from .config import Config
from .facts import CallSite, FileFacts, KeyedParam, ScopingHelper, WrapperSummary
from .resolve import Resolver


class ProjectIndex:
    def __init__(self, files: Sequence[FileFacts], config: Config, schema=None,
                 catalog=None) -> None:
        self.files = list(files)
        self.config = config
        self.schema = schema  # migrations.ProjectSchema, when the project has migrations
        self.catalog = catalog  # the run's TableCatalog
        self.resolver = Resolver(self.files, config.receiver_classes)
        self.modules: Dict[str, FileFacts] = self.resolver.modules
        self.by_path: Dict[str, FileFacts] = {f.path: f for f in self.files}
        self.wrappers: Dict[Tuple[str, str], List[WrapperSummary]] = {}
        for facts in self.files:
            for wrapper in facts.wrappers:
                self.wrappers.setdefault((wrapper.module, wrapper.qualname), []).append(wrapper)
        # caller-verified parameters: function -> its DB calls keyed by a parameter
        self.keyed: Dict[Tuple[str, str], List[KeyedParam]] = {}
        for facts in self.files:
            for keyed in facts.keyed_params:
                self.keyed.setdefault((keyed.module, keyed.qualname), []).append(keyed)
        # scoping helpers: function -> the parameters it verifies
        self.helpers: Dict[Tuple[str, str], List[ScopingHelper]] = {}
        for facts in self.files:
            for helper in facts.scoping_helpers:
                self.helpers.setdefault((helper.module, helper.qualname), []).append(helper)
        # (path, line) -> the proof of a DB call the project stage found scoped
        # (its finding dropped): the run's `db_calls` are revised to say so
        self.proven: Dict[Tuple[str, int], str] = {}
        # (path, line) -> why a DB call the file could not judge is unscoped
        # after all (a caller passes its filter or row without the tenant key):
        # the run's `db_calls` say so too, so the counts agree with the findings
        self.refuted: Dict[Tuple[str, int], str] = {}
        self._callers: Optional[Dict[Tuple[str, str], List[Tuple[FileFacts, CallSite]]]] = None

    def definers(self, name: str) -> List[str]:
        """Modules whose top level defines `name`."""
        return self.resolver.definers(name)

    def resolve_call(self, facts: FileFacts, site: CallSite, summaries=None) -> List:
        """The summaries (`wrappers` unless told) of the project function `site` calls."""
        summaries = self.wrappers if summaries is None else summaries
        callee = site.callee
        if isinstance(callee, ReceiverCallee):
            # `db.get_call(...)`: the receiver's class is not known; the first
            # receiver class (in module order) whose method is a wrapper
            for target in self.resolver.receiver_methods(callee.method):
                found = summaries.get((target.module, target.qualname))
                if found:
                    return found
            return []
        target = self.resolver.callee(facts, callee)
        return summaries.get((target.module, target.qualname), []) if target else []

    def callers(self, keyed: KeyedParam) -> List[Tuple[FileFacts, CallSite]]:
        """The project's calls of the function `keyed` belongs to."""
        if self._callers is None:
            self._callers = {}
            if self.keyed:
                for facts in self.files:
                    for site in facts.call_sites:
                        found = self.resolve_call(facts, site, self.keyed)
                        if found:
                            key = (found[0].module, found[0].qualname)
                            self._callers.setdefault(key, []).append((facts, site))
        return self._callers.get((keyed.module, keyed.qualname), [])
