"""The preset interface: what a data-access style (a DB wrapper class,
supabase-py chains, an ORM, raw SQL) tells the rest of the tool.

A preset is declared once, as a `Preset` subclass in its own module, and
registered with one line in `presets/__init__.py`. It owns:

- `name`: the word users write in `[tool.orgscope-lint.db] presets = [...]`;
- `settings`: the keys of `[tool.orgscope-lint.db]` it reads, each with its
  kind, validated (with did-you-mean) by config like every other key, and
  `configure()`, which stores their values on the `Config`;
- `marker`: a cheap byte pattern; a file without it cannot hold this preset's
  calls, and its per-module part is not even built for that file;
- `detect()`: what a source file shows of it (for `init`): evidence, and
  values for its settings;
- `catalog()`: an optional project pre-pass, run once before any file is
  checked, that contributes `TableFact`s (ORM models, ...) to the one table
  catalog, beside the migrations;
- `project()`: an optional project pre-pass for facts about code in other
  modules that a file's part needs (functions that run the SQL handed to
  them, properties that return a client): plain picklable data, carried by
  the catalog to every worker (and into the result cache's key), read by the
  part as `self.project`. It runs on every run, warm ones too (its result is
  cached by the content of the files it reads): read files with
  `project_trees()` (the standard library's `ast`, only files with the
  preset's marker, one parse shared between presets), never libcst;
  `project_tables()` may derive `TableFact`s from those facts;
- `module()`: the per-module part (`ModulePart`), a flow hook and value
  model that the flow analysis consults for every call: it turns calls into
  `Sink`s (operation, table, the filter or rows value, the value node) and
  may give values of its own (query builders) to expressions.

Proofs of tenancy (analysis/proofs.py) need nothing more from a preset than
its sinks: a read sink whose result is tested (`if not row: raise`) proves
the ids of its filter. A preset declares its own guard shapes, calls that
raise when they find nothing, with `ModulePart.leaves_when_missing` (the
default knows `.one()`, `.scalar_one()`, `first_or_404()`,
`get_object_or_404(...)` and the like; supabase adds `.single()` chains).

This module is imported on every run (config validation reads `settings`), so
it and the preset modules reach libcst and the tree analyses only lazily.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import (TYPE_CHECKING, Any, ClassVar, Dict, Iterator, List, Mapping, Optional,
                    Pattern, Sequence, Tuple, Union)

if TYPE_CHECKING:  # pragma: no cover
    import ast

    import libcst as cst

    from ..analysis.dbcalls import Sink
    from ..analysis.flow import Env, FlowAnalyzer
    from ..analysis.module import ModuleInfo, Unit
    from ..analysis.values import Value
    from ..catalog import TableCatalog, TableFact
    from ..config import Config
    from ..edits import ChoiceDrafts, FixDraft

# (root-relative path, absolute path or None, bytes or None) as the engine lists files
FileItem = Tuple[str, Optional[str], Optional[bytes]]


@dataclass
class Detection:
    """What `init` learns from a preset's look at one file: how many of its
    call shapes it saw, and values for its settings (`receiver-classes`)."""

    evidence: int = 0
    settings: Dict[str, List[str]] = field(default_factory=dict)

    def add(self, other: "Detection") -> "Detection":
        self.evidence += other.evidence
        for key, values in other.settings.items():
            known = self.settings.setdefault(key, [])
            known.extend(v for v in values if v not in known)
        return self


# ORM / framework calls that raise when nothing is found
LEAVING_LOOKUPS = frozenset({"one", "scalar_one", "first_or_404", "get_or_404", "one_or_404",
                             "get_object_or_404", "get_list_or_404", "scalar_one_or_404"})


class ModulePart:
    """The per-module part of a preset: built once per file that has the
    preset's marker, told when each function (unit) starts, handed every call
    the flow analysis meets, with the environment in force there."""

    preset: ClassVar[str] = ""

    def __init__(self, info: "ModuleInfo", config: "Config",
                 catalog: Optional["TableCatalog"]) -> None:
        self.info = info
        self.config = config
        self.catalog = catalog
        self.sinks: Dict["cst.Call", "Sink"] = {}
        self.unit: Optional["Unit"] = None
        # sink call -> (the call whose result the statement is built from, the
        # filter keys the sink's own refinements pin): resolved at project level
        self.statement_uses: Dict["cst.Call", Tuple["cst.Call", Tuple[str, ...], bool]] = {}
        # repository class -> the model class its `model = M` names (generic helpers)
        self.class_models: Dict[str, str] = {}
        # this preset's `project()` facts (None without a catalog or a pre-pass)
        self.project: Any = catalog.project_facts.get(self.preset) \
            if catalog is not None and hasattr(catalog, "project_facts") else None

    # -- flow hook ------------------------------------------------------------
    def start_unit(self, unit: "Unit") -> None:
        self.unit = unit

    def __call__(self, call: "cst.Call", env: "Env", analyzer: "FlowAnalyzer") -> None:
        """Record `call` in `self.sinks` when it is one of this preset's DB calls."""

    def statement_helpers(self, ctx, db) -> Sequence[Tuple[Any, int, Any]]:
        """(unit, first return line's node, Classified) for each function of the
        module that returns a statement of this preset (none by default)."""
        return ()

    def record(self, sink: "Sink") -> None:
        """Keep a sink; a call met again (in a loop) joins its value."""
        existing = self.sinks.get(sink.call)
        if existing is not None:
            existing.join(sink.value)
        else:
            self.sinks[sink.call] = sink

    # -- value model ----------------------------------------------------------
    def value_of(self, call: "cst.Call", env: "Env",
                 analyzer: "FlowAnalyzer") -> Optional["Value"]:
        """The abstract value of a call expression this preset models (a query
        builder), or None."""
        return None

    def mutated(self, call: "cst.Call", env: "Env",
                analyzer: "FlowAnalyzer") -> Optional[Tuple[str, "Value"]]:
        """(variable, new value) when `call` changes a tracked variable in place."""
        return None

    def stored(self, current: "Value", attribute: str, origins) -> Optional["Value"]:
        """The new value of a tracked object after `obj.<attribute> = v`
        (`origins`: where v came from), or None when this preset does not model it."""
        return None

    def leaves_when_missing(self, call: "cst.Call", env: "Env",
                            analyzer: "FlowAnalyzer") -> bool:
        """`call` raises (or aborts) when it finds no row, so once it returns
        the lookup it ends has found one (load-then-check without an `if`)."""
        func = call.func
        name = func.attr.value if type(func).__name__ == "Attribute" else (
            func.value if type(func).__name__ == "Name" else None)
        return name in LEAVING_LOOKUPS

    # -- for the call-site analysis ------------------------------------------
    def is_receiver(self, node: "cst.CSTNode", env: "Env") -> bool:
        """`node` is an object whose other methods are project code
        (`db.get_call(...)` on the wrapper class): the call-site analysis
        then records the call for the project stage."""
        return False

    def is_sink_method(self, name: str) -> bool:
        """`db.<name>(...)` on a receiver is a DB call of this preset, not a
        project method."""
        return False

    # -- the fix ----------------------------------------------------------------
    def tenant_fix(self, ctx, sink: "Sink", result) -> Union["FixDraft", "ChoiceDrafts", str]:
        """The fix that scopes an unscoped `sink` (`result` is its
        classification): a draft of node edits (see `edits.py`), alternative
        drafts for the project stage to choose from by its auth judgement
        (`ChoiceDrafts`), or why there is no safe one. By default the tenant key goes into the dict literal
        of the filter or row, which fits every dict-shaped style; a style with
        other shapes (`.where(M.tenant_id == x)`) overrides this."""
        if sink.fix_reason:  # the part that made the sink knows there is none
            return sink.fix_reason
        from ..analysis.tenant_fix import tenant_key_fix
        return tenant_key_fix(ctx, sink, result)


class Preset:
    name: ClassVar[str] = ""
    # key of [tool.orgscope-lint.db] -> its kind, in config's schema notation
    settings: ClassVar[Mapping[str, Any]] = {}
    marker: ClassVar[Optional[Pattern[bytes]]] = None
    part: ClassVar[Optional[type]] = None  # the ModulePart subclass
    # the files `project()` reads: those matching both patterns (None: every file).
    # Its result is cached by their content (`.orgscope-lint-cache/project-<name>.json`)
    project_marker: ClassVar[Optional[Pattern[bytes]]] = None
    project_also: ClassVar[Optional[Pattern[bytes]]] = None

    def configure(self, config: "Config", db: Mapping[str, Any], where: str) -> None:
        """Store this preset's settings (already type-checked) on `config`;
        raise ValueError with a message naming the key for a bad value."""

    def implied(self, config: "Config") -> bool:
        """Active even when `db.presets` does not name it."""
        return False

    def applies(self, data: bytes) -> bool:
        """Can this file hold the preset's calls? (a byte search, no parse)"""
        return self.marker is None or self.marker.search(data) is not None

    def detect(self, tree: "ast.Module", text: str) -> "Detection":
        """What one source file (parsed with the standard library's `ast`:
        cheap) shows of this preset, for `init`."""
        return Detection()

    def catalog(self, config: "Config", files: Sequence[FileItem]) -> Sequence["TableFact"]:
        """Table facts this preset's declarations (models) contribute."""
        return ()

    def project(self, config: "Config", files: Sequence[FileItem]) -> Any:
        """Facts about the whole project for the per-module parts: plain JSON
        data (dicts, lists, strings, numbers; tuples come back as lists from
        the cache), or None. `files` are those matching `project_marker` and
        `project_also`, with their bytes."""
        return None

    def project_tables(self, config: "Config", facts: Any) -> Sequence["TableFact"]:
        """Table facts derived from this preset's `project()` facts (models the
        pre-pass read): cached with them, so a warm run does not read the models again."""
        return ()

    def module(self, info: "ModuleInfo", config: "Config",
               catalog: Optional["TableCatalog"]) -> ModulePart:
        if self.part is None:
            raise NotImplementedError(f"preset {self.name!r} has no per-module part")
        return self.part(info, config, catalog)


def word_marker(*words: str) -> Pattern[bytes]:
    """A marker matching any of `words` as a whole word."""
    return re.compile(rb"\b(?:" + b"|".join(re.escape(w.encode()) for w in words) + rb")\b")


def project_files(files: Sequence[FileItem], marker: Optional[Pattern[bytes]],
                  also: Optional[Pattern[bytes]] = None) -> "Iterator[Tuple[str, bytes]]":
    """(path, bytes) of each Python file with `marker` (and `also`), for a
    project pre-pass; unreadable files are skipped (the per-file check reports them)."""
    for path, absolute, data in files:
        if not path.endswith(".py"):
            continue
        if data is None:
            try:
                with open(absolute or path, "rb") as handle:
                    data = handle.read()
            except OSError:
                continue
        if marker is not None and marker.search(data) is None \
                or also is not None and also.search(data) is None:
            continue
        yield path, data


def project_trees(files: Sequence[FileItem], marker: Optional[Pattern[bytes]],
                  also: Optional[Pattern[bytes]] = None) -> "Iterator[Tuple[str, ast.Module]]":
    """(path, stdlib `ast` tree) of each Python file with `marker` (and `also`),
    for a project pre-pass; unparsable files are skipped too."""
    import ast
    import warnings
    for path, data in project_files(files, marker, also):
        key = (path, len(data), hash(data))
        tree = _TREES.get(key)
        if tree is None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    tree = ast.parse(data)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            if _SHARE[0]:
                _TREES[key] = tree
        yield path, tree


# trees parsed by one run's pre-passes, shared between presets (`build_catalog`
# empties it when they are done). Only kept when more than one active preset
# reads trees: a lone pre-pass frees each tree once it has read it (every
# tree of a 400k-line project held at once is several hundred MB)
_TREES: Dict[Tuple[str, int, int], Any] = {}
_SHARE = [True]
