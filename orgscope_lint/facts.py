"""Per-file facts: what one file's analysis produces (picklable, cacheable).

The project-level stage (wrapper calls, routes across modules, import
suggestions) works from these facts alone, without re-parsing anything.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

from .callees import Callee
from .model import DbCall, Fix, FixChoice, Span, TextEdit
from .route_facts import ModuleRoutes


@dataclass
class RawFinding:
    rule: str
    span: Span
    message: str
    symbol: Optional[str] = None
    table: Optional[str] = None
    operation: Optional[str] = None
    snippet: str = ""
    fix: Optional[Fix] = None
    # first line of the enclosing statement (suppressions may sit there)
    statement_line: Optional[int] = None
    no_fix: Optional[str] = None  # why there is no safe fix (for a fixable rule)
    # candidate fixes the project stage chooses from (see `rules/db.py`)
    fix_choices: Optional[Tuple[FixChoice, ...]] = None


@dataclass(frozen=True)
class ImportOptions:
    """How this file can import one name it lacks (ORG301's fix; the module to
    import from is only known at project level): extend one of its top-level
    `from module import ...` statements, or insert a new statement at
    `insert_at` (after the leading import block)."""

    name: str
    # target module -> the fix extending that statement, or why it cannot be extended
    extend: Dict[str, Union[Fix, str]]
    insert_at: Span
    prefix: str  # a blank line after the docstring when the module had no import
    newline: str

    def fix_for(self, target: str) -> Union[Fix, str]:
        """The Fix importing the name from `target`, or why there is none."""
        if target in self.extend:
            return self.extend[target]
        statement = f"from {target} import {self.name}"
        return Fix(f"import `{self.name}` from `{target}`",
                   (TextEdit(self.insert_at, self.prefix + statement + self.newline),))


@dataclass
class WrapperSummary:
    """A project function that puts its parameter `param` into a sink's tenant key."""

    module: str
    qualname: str
    param: str
    index: int  # position among the call's positional arguments (self excluded)
    has_default: bool
    table: Optional[str]
    tenant_key: str
    outcome: str  # scoped | conditional


@dataclass
class KeyedParam:
    """A DB call that is not scoped by itself but pins a key of `table` to the
    parameter `param` of its function: it is scoped when every caller passes a
    value verified for `table` (checked at the project stage)."""

    module: str
    qualname: str
    param: str
    index: int  # position among the call's positional arguments (self excluded)
    table: str  # the table the value must be verified for
    line: int  # the DB call's line
    # the caller's own id (from its auth context) will do too: the key is a
    # principal key, or the table's primary key is (`users.id`)
    principal: bool = False


@dataclass
class ScopingHelper:
    """A project function that verifies its parameter `param` for `table`: it
    loads the row by (id, tenant) and raises when it is missing."""

    module: str
    qualname: str
    param: str
    index: int
    table: str
    # "raises": returns only when the row was found; "returns": returns the
    # row or None, so only a caller that tests the result has its id verified
    kind: str = "raises"


@dataclass
class HelperUse:
    """An unscoped DB call whose id was handed, before it, to a project call
    that may be a scoping helper: call site `site` of this file (argument
    `key`), or the route dependency `Depends(callee)` (route parameter `key`)."""

    line: int
    symbol: Optional[str]
    table: str
    key: str
    site: int = -1
    callee: str = ""
    tested: bool = False  # the call's result was tested (`if not row: raise`)


@dataclass
class StatementHelper:
    """A project function that returns a statement (every return a select on
    `table`), and whether that statement pins the tenant key: statements other
    modules build from its result take its outcome (see statement_helpers.py)."""

    module: str
    qualname: str
    line: int  # its first return
    table: str
    tenant_key: Optional[str]
    outcome: str  # an Outcome: scoped | unscoped | empty | conditional | unknown | global
    detail: str
    # a generic repository's helper on `self.model` (`table` is then ""): the
    # filter keys its statement pins on every path (None: some cannot be seen),
    # judged at each use against the model of the class the use calls it on
    model_keys: Optional[Tuple[str, ...]] = None


@dataclass
class StatementUse:
    """An unverified DB call running a statement built from the result of the
    call site `site` of this file (`repository.get_readable_statement(user)`),
    refined here with `pinned` filter keys (`tenant_id`, `invoices.tenant_id`)."""

    line: int
    symbol: Optional[str]
    site: int
    pinned: Tuple[str, ...]
    opaque: bool = False  # part of the use's own filter cannot be seen (`or_(*clauses)`)


@dataclass
class ValueParam:
    """A DB call whose whole filter or row is the parameter `param` of its
    function (`def save_row(db, row): db.insert("t", row)`): scoped, or not,
    by what each caller passes (checked at the project stage, `passed_values.py`)."""

    module: str
    qualname: str
    param: str
    index: int  # position among the call's positional arguments (self excluded)
    call: int  # the DB call: index into the file's `db_calls`


@dataclass
class ValueHelper:
    """A project function that returns a filter or a row it builds
    (`def _tenant_filter(org, **extra): return {"org_id": org, **extra}`): the
    keys it has on every path (`**` for the keywords merged from `**extra`)."""

    module: str
    qualname: str
    line: int
    keys: Tuple[str, ...]
    params: Tuple[str, ...]  # its named parameters (other keywords go to `**extra`)
    opaque: bool


@dataclass
class HelperValue:
    """A DB call whose filter or row is the value a project call returns
    (`db.select("t", filters_for(org, id=x))`): call site `site` of this file."""

    call: int  # index into the file's `db_calls`
    site: int  # index into the file's `call_sites`


@dataclass
class CallSite:
    """A call that may target a project function (resolved at project level)."""

    symbol: Optional[str]
    span: Span
    callee: Callee  # how the call names its callee (resolved by `resolve.Resolver`)
    positional: int
    keywords: Tuple[str, ...]
    none_positions: Tuple[int, ...]
    none_keywords: Tuple[str, ...]
    has_star: bool
    snippet: str
    statement_line: Optional[int] = None
    # argument (position or keyword) -> provenance tag, filled by provenance analysis
    provenance: Dict[str, str] = field(default_factory=dict)
    # argument (position or keyword) -> the tables its value is verified for
    # ("*": by a scoping helper), for caller-verified parameters
    verified: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    in_route: bool = False  # the caller is a route handler
    # argument -> project calls handed the same value before this call
    # (candidate scoping helpers, confirmed at the project stage):
    # (call site index in this file or -1, `Depends` callee, argument key, result tested)
    helper_args: Dict[str, Tuple[Tuple[int, str, str, bool], ...]] = field(default_factory=dict)
    # argument (position or keyword) -> (keys it has on every path, opaque) of a
    # dict (or of every row of a list) the call passes
    dicts: Dict[str, Tuple[Tuple[str, ...], bool]] = field(default_factory=dict)


@dataclass(frozen=True)
class UndefinedFact:
    name: str
    span: Span
    snippet: str  # the name's source (a string annotation's name, not the string)


@dataclass
class NameFacts:
    """What ORG301 needs of one module's names (the names analysis)."""

    undefined: Tuple[UndefinedFact, ...]
    star_imports: Tuple[str, ...]  # modules this module star-imports from
    defined: Tuple[str, ...]  # top-level names it binds
    all: Optional[Tuple[str, ...]]  # its literal `__all__`, when it has one
    imports_from: Tuple[str, ...]  # modules of its `from m import a, b` statements
    dynamic: bool  # its namespace may hold names no static pass sees
    # undefined name -> how this file can import it (ORG301's fix)
    import_options: Dict[str, ImportOptions] = field(default_factory=dict)


@dataclass
class FileFacts:
    path: str
    module: str
    is_package: bool
    lines: int = 0
    error: Optional[str] = None  # not checked (too large, too deep): an `errors` entry
    skipped: bool = False  # larger than `max-file-size`: not parsed
    findings: List[RawFinding] = field(default_factory=list)
    db_calls: List[DbCall] = field(default_factory=list)
    wrappers: List[WrapperSummary] = field(default_factory=list)
    keyed_params: List[KeyedParam] = field(default_factory=list)
    scoping_helpers: List[ScopingHelper] = field(default_factory=list)
    helper_uses: List[HelperUse] = field(default_factory=list)
    statement_helpers: List[StatementHelper] = field(default_factory=list)
    statement_uses: List[StatementUse] = field(default_factory=list)
    # repository classes -> the model of their `model = M` attribute (as written)
    class_models: Dict[str, str] = field(default_factory=dict)
    value_params: List[ValueParam] = field(default_factory=list)
    value_helpers: List[ValueHelper] = field(default_factory=list)
    helper_values: List[HelperValue] = field(default_factory=list)
    call_sites: List[CallSite] = field(default_factory=list)
    # top-level names this module defines (class, def, assignment), for suggestions
    definitions: List[str] = field(default_factory=list)
    # name -> (module, attribute or None) for every import at module level
    imports: Dict[str, Tuple[str, Optional[str]]] = field(default_factory=dict)
    classes: Dict[str, Tuple[str, ...]] = field(default_factory=dict)  # class -> bases
    # qualified names of the functions and methods the module defines
    functions: Tuple[str, ...] = ()
    # module-level `name = Class(...)`: name -> the class as written
    instances: Dict[str, str] = field(default_factory=dict)
    # line -> (codes, reason) for `# orgscope: ignore[...]` comments
    suppressions: Dict[int, Tuple[Tuple[str, ...], str]] = field(default_factory=dict)
    # the route analysis' facts (None: no route, router or dependency here)
    routes: Optional[ModuleRoutes] = None
    # the names analysis' facts (None: ORG301 is off for this run)
    names: Optional[NameFacts] = None
    internal_error: Optional[str] = None
