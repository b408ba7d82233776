"""Check one file: read, parse once, run the per-file analyses once (one flow
pass that every analysis and every active preset rides on), and turn the
result into picklable `FileFacts`; then let each active rule query those
facts for the file's own findings.

Runs inside worker processes; must never raise for a bad input file (parse
and decode problems become ORG001 / `errors` entries).

The analyses are listed here, explicitly (`ANALYSES`), each filling one typed
field of `FileFacts`; they run because an output needs them, whichever rules
are on. Presets are not named here: `presets.active(config)` says which run.
"""
from __future__ import annotations

import re
import traceback
from typing import Dict, List, Optional, Sequence, Tuple

import libcst as cst

from . import presets
from .analysis.calls import CallSiteHook, PendingCall, describe_arguments
from .analysis.dbcalls import Classified, Sink, classify
from .analysis.flow import Env, FlowAnalyzer, closure_env, join
from .analysis.module import ModuleInfo, Unit, collect_module, module_name_for, unit_for_function
from .analysis.names import NameAnalysis
from .analysis.proofs import Prover, ScopingHelpers
from .analysis.returns import ReturnedValues, builds_dict
from .analysis.syntax import dotted
from .analysis.routes import RouteAnalysis
from .analysis.tenant_values import TenantValues
from .analysis.values import DictVal, ListVal, Origin
from .config import Config
from .facts import (CallSite, FileFacts, HelperUse, HelperValue, KeyedParam, RawFinding,
                    ScopingHelper, StatementHelper, StatementUse, ValueHelper, ValueParam,
                    WrapperSummary)
from .model import DbCall, Fix, FixChoice, Operation, Outcome, Span
from .parsing import UnparsableSource, parse_module
from .positions import Located, located, located_code
from .source import Source, SourceError, decode
from .suppress import parse_suppressions

_WS = re.compile(r"\s+")
_BLANK = Span(1, 1, 1, 1)


def snippet_of(module: cst.Module, node: cst.CSTNode) -> str:
    """Whitespace-normalised source of a node (for fingerprints and messages)."""
    code = located_code(module, node)
    if code is None:
        code = module.code_for_node(node)
    return _WS.sub(" ", code).strip()


class FileContext:
    """What the per-file analyses share: the source, the tree, the config,
    the table catalog, the module facts and the flow analysis (lazily, once)."""

    def __init__(self, path: str, source: Source, module: cst.Module, config: Config,
                 catalog: Optional[object] = None) -> None:
        self.path = path
        self.source = source
        self.module = module
        self.config = config
        self.catalog = catalog  # the project's TableCatalog (migrations, models, config)
        self.module_name, self.is_package = module_name_for(path)
        self._info: Optional[ModuleInfo] = None
        self.tenant_values: Optional[TenantValues] = None
        self.db: Optional["DbAnalysis"] = None
        # the file's one positions pass (spans; extents for fix edits), once it has run
        self.located: Optional[Located] = None

    # project-aware table questions (the catalog, when present, refines config)
    def tenant_key_for(self, table: str) -> str:
        if self.catalog is not None:
            return self.catalog.tenant_key_for(table)
        return self.config.tenant_key_for(table)

    def is_tenant_table(self, table: str) -> bool:
        if self.catalog is not None:
            return self.catalog.is_tenant_table(table)
        return self.config.is_tenant_table(table)

    @property
    def info(self) -> ModuleInfo:
        if self._info is None:
            self._info = collect_module(self.module, self.module_name, self.is_package)
        return self._info


class DbAnalysis:
    """The flow analysis of every function of a module, with the active
    presets' parts, the call-site hook and every analysis' hooks attached:
    computed once per file."""

    def __init__(self, ctx: FileContext, hooks: Sequence[object]) -> None:
        self.ctx = ctx
        info = ctx.info
        self.parts = [preset.module(info, ctx.config, ctx.catalog)
                      for preset in presets.active(ctx.config)
                      if preset.applies(ctx.source.data)]
        self.call_hook = CallSiteHook(info, self.parts)
        self.helpers = ScopingHelpers(ctx.config)
        self.returns = ReturnedValues(info)
        # id(unit) -> (environment, returned expression) where it returns
        self.exits: Dict[int, List[Tuple[Env, Optional[cst.CSTNode]]]] = {}
        # lookup call -> the access checks in code on its row (FlowAnalyzer.compares)
        self.compares: Dict[cst.Call, List[Tuple]] = {}
        self.hooks = [*self.parts, self.call_hook, *hooks]
        self.units: List[Unit] = []
        pending = list(info.units)
        while pending:
            unit = pending.pop(0)
            self.units.append(unit)
            pending.extend(self._run(unit))
        self.sinks: List[Sink] = []
        self.part_of: Dict[cst.Call, object] = {}
        self.preset_of: Dict[cst.Call, str] = {}
        chosen: Dict[cst.Call, Sink] = {}
        for part in self.parts:
            for call, sink in part.sinks.items():
                # a call two presets recognise (SQLAlchemy's `session.execute(text(...))`
                # is raw SQL to the sql preset): the one that can judge it wins over
                # one that can only call it opaque
                known = chosen.get(call)
                if known is not None and not (known.operation == Operation.OPAQUE
                                              and sink.operation != Operation.OPAQUE):
                    continue
                chosen[call] = sink
                self.part_of[call] = part
                self.preset_of[call] = part.preset
        self.sinks.extend(chosen.values())
        self.classified: Dict[cst.Call, Classified] = {
            sink.call: classify(sink, ctx.config, ctx.tenant_key_for, ctx.is_tenant_table)
            for sink in self.sinks}
        envs = ctx.tenant_values.envs if ctx.tenant_values is not None else {}
        self.prover = Prover(ctx.config, ctx.catalog, self.sinks, self.classified, envs,
                             ctx.info, self.compares)
        self.prover.run()
        self.calls: List[PendingCall] = list(self.call_hook.calls.values())

    def _run(self, unit: Unit) -> List[Unit]:
        nested: Dict[int, Unit] = {}

        def on_nested(node: cst.CSTNode, env: Env) -> None:
            if isinstance(node, cst.FunctionDef):
                known = nested.get(id(node))
                if known is not None:  # a def in a loop: every pass's environment
                    known.start_env = join(known.start_env, env)
                    return
                inner = unit_for_function(node, f"{unit.qualname}.{node.name.value}"
                                          if unit.node is not None else node.name.value, None)
                if unit.node is not None:
                    inner.outer, inner.start_env = unit, env
                nested[id(node)] = inner
            elif isinstance(node, cst.ClassDef) and unit.node is not None:
                for stmt in node.body.body:
                    if isinstance(stmt, cst.FunctionDef) and id(stmt) not in nested:
                        nested[id(stmt)] = unit_for_function(
                            stmt, f"{unit.qualname}.{node.name.value}.{stmt.name.value}",
                            node.name.value)

        for hook in self.hooks:
            hook.start_unit(unit)
        analyzer = FlowAnalyzer(self.hooks, on_nested, self.ctx.info.constants,
                                [*self.parts, self.helpers], self.returns)
        defs = {p.name.value: frozenset({Origin("param", name=p.name.value)})
                for p in unit.params}
        body = unit.body
        if unit.node is None:
            # module code: functions and classes are separate units
            body = [s for s in body if not isinstance(s, (cst.FunctionDef, cst.ClassDef))]
            analyzer.on_nested_def = lambda node, env: None
        dependencies = self.helpers.dependencies(unit, configured=False)
        start = Env({}, defs, found=self.helpers.configured(dependencies), called=dependencies)
        if isinstance(unit.start_env, Env):
            start = closure_env(unit.start_env, start)
        end = analyzer.run(body, start)
        self.exits[id(unit)] = analyzer.exits + ([(end, None)] if end is not None else [])
        for call, column, origins, test, leaves in analyzer.compares:
            self.compares.setdefault(call, []).append((column, origins, test, leaves, unit))
        return list(nested.values())

    def symbol(self, unit: Unit) -> Optional[str]:
        return None if unit.node is None else unit.qualname


def analyze_file(path: str, data: Optional[bytes], config: Config, rules: Sequence,
                 abs_path: Optional[str] = None, project: Optional[object] = None) -> FileFacts:
    """The facts of one file, with the findings of `rules` that one file's
    facts decide (`project` is the table catalog)."""
    module_name, is_package = module_name_for(path)
    facts = FileFacts(path, module_name, is_package)
    try:
        if data is None:
            with open(abs_path or path, "rb") as handle:
                data = handle.read()
    except OSError as exc:
        facts.findings.append(_not_checked(f"cannot read: {exc.strerror or exc}"))
        return facts
    limit = config.max_file_size
    if limit and len(data) > limit:
        facts.lines = data.count(b"\n")
        facts.skipped = True
        facts.error = f"skipped: {_megabytes(len(data))} > max-file-size ({_megabytes(limit)})"
        return facts
    try:
        source = decode(data)
    except SourceError as exc:
        facts.findings.append(_not_checked(str(exc)))
        return facts
    facts.lines = source.text.count("\n") + (0 if source.text.endswith("\n") else 1)
    facts.suppressions = parse_suppressions(source.text)
    try:
        module = parse_module(source.data, source.text)
    except UnparsableSource as exc:
        facts.findings.append(RawFinding("ORG001", Span(exc.line, exc.column, exc.line, exc.column),
                                         f"cannot parse: {exc.message}"))
        return facts
    except cst.ParserSyntaxError as exc:
        line, column, message = _syntax_error_location(source.text, exc)
        facts.findings.append(RawFinding("ORG001", Span(line, column, line, column),
                                         f"cannot parse: {message}"))
        return facts
    except (RecursionError, MemoryError, ValueError, UnicodeError, SyntaxError) as exc:
        facts.findings.append(RawFinding("ORG001", Span(1, 1, 1, 1),
                                         f"cannot parse: {type(exc).__name__}: {exc}"))
        return facts
    try:
        _analyse_module(facts, path, source, module, config, rules, project)
        for rule in rules:
            facts.findings.extend(rule.findings_in_file(facts, config))
    except RecursionError:  # the input's fault, not a bug: an `errors` entry
        facts.findings = []
        facts.error = ("nested too deeply to analyse (beyond Python's recursion limit); "
                       "file not checked")
    except Exception:  # a bug in an analysis or rule must not take the run down
        facts.internal_error = traceback.format_exc(limit=6)
    return facts


def _not_checked(message: str) -> RawFinding:
    """ORG001 at the top of a file that cannot be read or decoded: it may hold
    an unscoped query, so the run must not pass silently."""
    return RawFinding("ORG001", Span(1, 1, 1, 1), message)


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _syntax_error_location(text: str, exc: cst.ParserSyntaxError):
    """libcst points at the token after the error; CPython's own parser (only
    run on this failure path) usually knows the exact place and says it better."""
    import ast
    import warnings
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as error:
        if error.lineno:
            return error.lineno, max(error.offset or 1, 1), error.msg
    except (ValueError, RecursionError, MemoryError):
        pass
    return exc.raw_line, exc.raw_column + 1, exc.message


def _analyses(ctx: FileContext, rules: Sequence) -> Tuple[RouteAnalysis, List[object]]:
    """The per-file analyses an output of this run needs. Routes feed the
    route table and the route rules; names feed ORG301 (only its output)."""
    codes = {rule.code for rule in rules}
    routes = RouteAnalysis(ctx)
    chosen: List[object] = [routes]
    if NameAnalysis.code in codes:
        chosen.append(NameAnalysis(ctx))
    return routes, chosen


def _analyse_module(facts: FileFacts, path: str, source: Source, module: cst.Module,
                    config: Config, rules: Sequence, catalog) -> None:
    ctx = FileContext(path, source, module, config, catalog)
    info = ctx.info
    facts.definitions = list(dict.fromkeys(info.definitions))
    facts.imports = dict(info.imports)
    facts.classes = dict(info.classes)
    facts.functions = tuple(unit.qualname for unit in info.units if unit.node is not None)
    facts.instances = dict(info.instances)
    routes, analyses = _analyses(ctx, rules)
    ctx.tenant_values = TenantValues()
    hooks = [ctx.tenant_values] + [h for a in analyses for h in a.hooks()]
    db = ctx.db = DbAnalysis(ctx, hooks)
    nodes: List[cst.CSTNode] = [p.call for p in db.calls]
    nodes += [p.statement for p in db.calls if p.statement is not None]
    nodes += [s.anchor or s.call for s in db.sinks] + [s.statement for s in db.sinks if s.statement]
    nodes += [node for s in db.sinks if s.stored() for node in s.stored()]
    nodes += [r.proof.node for r in db.classified.values()
              if r.proof is not None and r.proof.node is not None]
    for analysis in analyses:
        nodes.extend(analysis.nodes(db))
    evaluator = FlowAnalyzer((), lambda node, env: None, info.constants,
                             [*db.parts, db.helpers], db.returns)
    value_helpers = _value_helpers(ctx, db, evaluator)
    nodes += [unit.node.name for unit, _ in value_helpers]
    fixes = {sink.call: _tenant_fix(ctx, db, sink) for sink in db.sinks}
    nodes += [edit.node for fix in fixes.values() if fix is not None and not isinstance(fix, str)
              for edit in fix.edits]
    # functions returning a statement (summarised for other modules' uses)
    returned = [summary for part in db.parts for summary in part.statement_helpers(ctx, db)]
    nodes += [node for _, node, _, _ in returned]
    ctx.located = located(module, nodes)
    spans = ctx.located.spans
    for analysis in analyses:
        analysis.finish(facts, spans)
    site_index = {pending.call: index for index, pending in enumerate(db.calls)}
    for unit, (keys, opaque) in value_helpers:
        position = spans.get(unit.node.name)
        facts.value_helpers.append(ValueHelper(
            ctx.module_name, unit.qualname, position.line if position else 0,
            tuple(keys), tuple(p.name.value for p in unit.params
                               if p is not unit.node.params.star_kwarg
                               and p is not unit.node.params.star_arg), opaque))
    for sink in db.sinks:
        result = db.classified[sink.call]
        facts.db_calls.append(_db_call(ctx, sink, result, spans, db, fixes[sink.call]))
        if result.outcome == Outcome.UNKNOWN and sink.value is None:
            param = _value_param(ctx, sink)
            if param is not None:
                facts.value_params.append(ValueParam(
                    ctx.module_name, sink.unit.qualname, param, sink.unit.param_index[param],
                    len(facts.db_calls) - 1))
            elif isinstance(sink.value_node, cst.Call) and sink.value_node in site_index:
                facts.helper_values.append(HelperValue(len(facts.db_calls) - 1,
                                                       site_index[sink.value_node]))
        facts.wrappers.extend(_wrappers_of(sink, result, ctx))
        part = db.part_of.get(sink.call)
        use = part.statement_uses.get(sink.call) if part is not None else None
        if use is not None and use[0] in site_index:
            facts.statement_uses.append(StatementUse(
                facts.db_calls[-1].line, facts.db_calls[-1].symbol, site_index[use[0]], use[1],
                use[2]))
        helper = db.prover.scoping_helper(sink, db.exits.get(id(sink.unit), []))
        if helper is not None and helper[0] in sink.unit.param_index:
            facts.scoping_helpers.append(ScopingHelper(
                ctx.module_name, sink.unit.qualname, helper[0],
                sink.unit.param_index[helper[0]], helper[1], helper[2]))
        for call, key, table, tested in db.prover.candidate_helpers(sink):
            callee = _helper_callee(call, site_index)
            if callee is None:
                continue
            facts.helper_uses.append(HelperUse(
                facts.db_calls[-1].line, facts.db_calls[-1].symbol, table, key,
                site_index.get(call, -1), callee, tested))
        for param, table, principal in db.prover.keyed_params(sink):
            # a closure keyed by a parameter of the function around it: that
            # function's callers verify it
            owner = sink.unit.owner(param)
            if owner is None or param not in owner.param_index:
                continue
            facts.keyed_params.append(KeyedParam(
                ctx.module_name, owner.qualname, param, owner.param_index[param],
                table, facts.db_calls[-1].line, principal))
    for unit, node, table, result in returned:
        generic = isinstance(result, tuple)  # (the keys it pins,) on `self.model`
        facts.statement_helpers.append(StatementHelper(
            ctx.module_name, unit.qualname, spans.get(node, _BLANK).line, table or "",
            None if generic else result.tenant_key,
            str(Outcome.INFRASTRUCTURE) if generic else str(result.outcome),
            "table is the repository's model" if generic else result.detail,
            result[0] if generic else None))
    for part in db.parts:
        facts.class_models.update(part.class_models)
    for pending in db.calls:
        positional, keywords, none_pos, none_kw, star = describe_arguments(pending.call)
        statement = spans.get(pending.statement) if pending.statement is not None else None
        facts.call_sites.append(CallSite(
            db.symbol(pending.unit), spans.get(pending.call, _BLANK), pending.callee,
            positional, keywords, none_pos, none_kw, star,
            snippet_of(module, pending.call)[:300], statement.line if statement else None))
        facts.call_sites[-1].provenance.update(routes.call_provenance.get(pending.call, {}))
        if pending.env is not None:
            verified, helpers = _verified_arguments(db, pending, site_index)
            facts.call_sites[-1].verified.update(verified)
            facts.call_sites[-1].helper_args.update(helpers)
            facts.call_sites[-1].dicts.update(_passed_dicts(evaluator, pending))
            facts.call_sites[-1].in_route = pending.unit.qualname in routes.hook.handlers
    # dedupe wrappers (a sink in a loop is visited more than once)
    seen = set()
    unique = []
    for wrapper in facts.wrappers:
        key = (wrapper.qualname, wrapper.param)
        if key not in seen:
            seen.add(key)
            unique.append(wrapper)
    facts.wrappers = unique


def _tenant_fix(ctx: FileContext, db: DbAnalysis, sink: Sink):
    """The preset's draft of the fix that scopes the call, or why there is
    none (None: the call needs no fix)."""
    result = db.classified[sink.call]
    if result.outcome in (Outcome.UNSCOPED, Outcome.EMPTY, Outcome.UNKNOWN) \
            and sink.operation != Operation.OPAQUE:
        return db.part_of[sink.call].tenant_fix(ctx, sink, result)
    return None


def _db_call(ctx: FileContext, sink: Sink, result: Classified, spans, db: DbAnalysis,
             draft) -> DbCall:
    span = spans.get(sink.anchor or sink.call, _BLANK)
    statement = spans.get(sink.statement) if sink.statement is not None else None
    stored = sink.stored()
    snippet = snippet_of(ctx.module, sink.call)[:500]
    runs, run_line = "", None
    if stored is not None and spans.get(stored[0]) is not None \
            and result.outcome in (Outcome.UNSCOPED, Outcome.EMPTY):
        # a query kept in a variable: reported where it is built (the place
        # to add the filter), saying where it runs
        run_line = span.line
        runs = f" (the query runs at line {run_line})"
        span, statement = spans.get(stored[0]), spans.get(stored[1])
        snippet = snippet_of(ctx.module, stored[0])[:500]
    fix, choices = draft, None
    if draft is not None and not isinstance(draft, str):
        from .edits import ChoiceDrafts, render
        located = ctx.located
        if isinstance(draft, ChoiceDrafts):  # the project stage chooses
            fix, rendered = None, []
            for names, requires, one in draft.choices:
                candidate = render(one, ctx.module, located.extents, located.code)
                if isinstance(candidate, str):
                    fix, rendered = candidate, None
                    break
                rendered.append(FixChoice(names, requires, candidate))
            choices = tuple(rendered) if rendered is not None else None
        else:
            fix = render(draft, ctx.module, located.extents, located.code)
    detail = result.detail
    detail += runs
    if result.proof is not None and result.proof.node is not None:
        proof_span = spans.get(result.proof.node)
        detail = detail.replace("{line}", str(proof_span.line) if proof_span else "?")
    return DbCall(ctx.path, span.line, db.symbol(sink.unit), sink.table, sink.operation,
                  result.outcome, detail, result.tenant_key,
                  preset=db.preset_of.get(sink.call, ""), method=sink.method, span=span,
                  statement_line=statement.line if statement else None,
                  snippet=snippet,
                  fix=fix if isinstance(fix, Fix) else None,
                  no_fix=fix if isinstance(fix, str) else None, fix_choices=choices,
                  runs_at=run_line)


_CONSTANTS = (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float, cst.Dict,
              cst.List, cst.Tuple, cst.Lambda)


def _verified_arguments(db: DbAnalysis, pending: PendingCall, site_index):
    """Argument (position or keyword) -> the tables its value is verified for
    ("@caller": it is the caller's own id); and argument -> the project calls
    handed the same value before (candidate scoping helpers, confirmed at the
    project stage): (call site index or -1, `Depends` callee, key, tested)."""
    env = pending.env
    found: Dict[str, Tuple[str, ...]] = {}
    helpers: Dict[str, Tuple[Tuple[int, str, str, bool], ...]] = {}
    position = 0
    for arg in pending.call.args:
        if arg.star:
            continue
        key = arg.keyword.value if arg.keyword is not None else str(position)
        if arg.keyword is None:
            position += 1
        node = arg.value
        if isinstance(node, _CONSTANTS):
            continue  # a literal is verified for nothing
        origins = env.defs.get(node.value) if isinstance(node, cst.Name) else None
        if origins is None:
            origins = frozenset({Origin("expr", node=node, defs=env.defs)})
        tables = db.prover.verified_tables(origins, env)
        if db.prover.principal_keys and db.prover.is_caller_value(origins, pending.unit):
            tables += ("@caller",)
        if db.prover.membership_checked(origins, [env], pending.unit):
            tables += ("@member",)
        if tables:
            found[key] = tables
        uses = []
        for call, argument, tested in db.prover.argument_helpers(origins, env):
            if call is pending.call:
                continue
            callee = _helper_callee(call, site_index)
            if callee is None:
                continue
            uses.append((site_index.get(call, -1), callee, argument, tested))
        if uses:
            helpers[key] = tuple(uses)
    return found, helpers


def _value_param(ctx: FileContext, sink: Sink) -> Optional[str]:
    """The parameter of its own function that is the whole filter or row of
    `sink`, unchanged on every path to it."""
    node = sink.value_node
    if not isinstance(node, cst.Name) or node.value not in sink.unit.param_index:
        return None
    envs = ctx.tenant_values.envs.get(sink.call, []) if ctx.tenant_values else []
    for env in envs:
        origins = env.defs.get(node.value, frozenset())
        if len(origins) != 1 or next(iter(origins)).kind != "param" \
                or next(iter(origins)).name != node.value or node.value in env.vals:
            return None
    return node.value if envs else None


def _value_helpers(ctx: FileContext, db: DbAnalysis, evaluator: FlowAnalyzer):
    """(unit, summary) of the module's functions that build and return a
    filter or a row, for callers in other modules."""
    found = []
    for name, unit in db.returns.units.items():
        if not builds_dict(unit.node):
            continue
        summary = db.returns.summary(name, evaluator)
        if summary is not None:
            found.append((unit, (tuple(k for k, _ in summary[0]), summary[1])))
    return found


def _helper_callee(call: cst.Call, site_index) -> Optional[str]:
    """"" for a candidate helper call that is a recorded call site (resolved
    through it); for `Depends(helper)` / `Security(helper)`, the helper's name
    (resolved by name); None for anything else."""
    if call in site_index:
        return ""
    name = dotted(call.func) or ""
    if name.split(".")[-1] not in ("Depends", "Security") or not call.args:
        return None
    return dotted(call.args[0].value) or None


_PASSED = (cst.Dict, cst.Name, cst.List, cst.ListComp)


def _passed_dicts(evaluator: FlowAnalyzer, pending: PendingCall) -> Dict[str, Tuple[Tuple[str, ...], bool]]:
    """Argument -> (keys on every path, opaque) of each dict (or list of rows) passed."""
    found: Dict[str, Tuple[Tuple[str, ...], bool]] = {}
    position = 0
    for arg in pending.call.args:
        if arg.star:
            continue
        key = arg.keyword.value if arg.keyword is not None else str(position)
        if arg.keyword is None:
            position += 1
        node = arg.value
        if not isinstance(node, _PASSED) and not (
                isinstance(node, cst.Call) and isinstance(node.func, cst.Name)
                and (node.func.value == "dict" or node.func.value in evaluator.functions.units)):
            continue
        value = evaluator.value_of(node, pending.env)
        if isinstance(value, DictVal):
            found[key] = (tuple(sorted(value.must)), value.opaque)
        elif isinstance(value, ListVal) and value.rows:
            must = frozenset.intersection(*(row.must for row in value.rows))
            found[key] = (tuple(sorted(must)),
                          value.opaque or any(row.opaque for row in value.rows))
    return found


def _wrappers_of(sink: Sink, result: Classified, ctx: FileContext) -> List[WrapperSummary]:
    if sink.unit.node is None or result.outcome not in (Outcome.SCOPED, Outcome.CONDITIONAL):
        return []
    found = []
    for origin in result.tenant_origins:
        # a closure's tenant value may be a parameter of the function around it
        unit = sink.unit.owner(origin.name) if origin.kind == "param" else None
        if unit is not None and origin.name in unit.param_index:
            found.append(WrapperSummary(
                ctx.module_name, unit.qualname, origin.name, unit.param_index[origin.name],
                unit.param_default.get(origin.name, False), sink.table, result.tenant_key or "",
                result.outcome))
    return found
