"""Check one file: read, parse once, run the shared analyses once, let every
per-file rule report, and turn the result into picklable `FileFacts`.

Runs inside worker processes; must never raise for a bad input file (parse
and decode problems become ORG001 / `errors` entries).
"""
from __future__ import annotations

import re
import traceback
from typing import Callable, Dict, List, Optional, Sequence

import libcst as cst

from .analysis.calls import CallSiteHook, PendingCall, describe_arguments
from .analysis.dbcalls import Classified, DbSinkHook, Sink, classify
from .analysis.flow import Env, FlowAnalyzer
from .analysis.module import ModuleInfo, Unit, collect_module, module_name_for, unit_for_function
from .analysis.supabase import SupabaseChainHook
from .analysis.values import Origin
from .config import Config
from .facts import CallSite, FileFacts, RawFinding, WrapperSummary
from .model import DbCall, Span
from .parsing import UnparsableSource, parse_module
from .positions import located_code, positions
from .source import Source, SourceError, decode, read_source
from .suppressions import parse_suppressions

_WS = re.compile(r"\s+")


def snippet_of(module: cst.Module, node: cst.CSTNode) -> str:
    """Whitespace-normalised source of a node (for fingerprints and messages)."""
    code = located_code(module, node)
    if code is None:
        code = module.code_for_node(node)
    return _WS.sub(" ", code).strip()


class DbAnalysis:
    """The flow analysis of every function of a module, with the DB-sink and
    call-site hooks attached: computed once per file, shared by all rules."""

    def __init__(self, ctx: "FileContext") -> None:
        self.ctx = ctx
        info = ctx.info
        self.db_hook = DbSinkHook(info, ctx.config)
        self.call_hook = CallSiteHook(info, self.db_hook)
        self.chain_hooks = ([SupabaseChainHook(info, ctx.config)]
                            if "supabase" in ctx.config.presets else [])
        self.extra_hooks = [factory(ctx) for factory in EXTRA_HOOKS]
        self.units: List[Unit] = []
        pending = list(info.units)
        while pending:
            unit = pending.pop(0)
            self.units.append(unit)
            pending.extend(self._run(unit))
        self.sinks: List[Sink] = list(self.db_hook.sinks.values())
        for chains in self.chain_hooks:
            self.sinks.extend(chains.sinks.values())
        self.rpc_calls = [rpc for chains in self.chain_hooks for rpc in chains.rpc_calls.values()]
        self.classified: Dict[cst.Call, Classified] = {
            sink.call: classify(sink, ctx.config, ctx.tenant_key_for, ctx.is_tenant_table)
            for sink in self.sinks}
        self.calls: List[PendingCall] = list(self.call_hook.calls.values())

    def _run(self, unit: Unit) -> List[Unit]:
        nested: List[Unit] = []

        def on_nested(node: cst.CSTNode) -> None:
            if isinstance(node, cst.FunctionDef):
                nested.append(unit_for_function(node, f"{unit.qualname}.{node.name.value}"
                                                if unit.node is not None else node.name.value,
                                                None))
            elif isinstance(node, cst.ClassDef) and unit.node is not None:
                for stmt in node.body.body:
                    if isinstance(stmt, cst.FunctionDef):
                        nested.append(unit_for_function(
                            stmt, f"{unit.qualname}.{node.name.value}.{stmt.name.value}",
                            node.name.value))

        hooks = [self.db_hook, self.call_hook] + self.chain_hooks + self.extra_hooks
        for hook in hooks:
            hook.start_unit(unit)
        analyzer = FlowAnalyzer(hooks, on_nested, self.ctx.info.constants, self.chain_hooks)
        defs = {p.name.value: frozenset({Origin("param", name=p.name.value)})
                for p in unit.params}
        body = unit.body
        if unit.node is None:
            # module code: functions and classes are separate units
            body = [s for s in body if not isinstance(s, (cst.FunctionDef, cst.ClassDef))]
            analyzer.on_nested_def = lambda node: None
        analyzer.run(body, Env({}, defs))
        return nested

    def symbol(self, unit: Unit) -> Optional[str]:
        return None if unit.node is None else unit.qualname


# Factories for extra flow hooks other analyses register (provenance, supabase...).
EXTRA_HOOKS: List[Callable[["FileContext"], object]] = []


class FileContext:
    """What a per-file rule sees. Analyses are computed lazily, once."""

    def __init__(self, path: str, source: Source, module: cst.Module, config: Config,
                 project: Optional[object] = None) -> None:
        self.path = path
        self.source = source
        self.module = module
        self.config = config
        self.project = project  # project-wide knowledge available before the check (schema)
        self.module_name, self.is_package = module_name_for(path)
        self._info: Optional[ModuleInfo] = None
        self._db: Optional[DbAnalysis] = None
        self._pending: List[tuple] = []
        self.extra: Dict[str, object] = {}
        self.cache: Dict[str, object] = {}
        # analyses that need positions of their own nodes share the one codegen
        # pass of `finish`: they add nodes here and get every span back
        self.position_nodes: List[cst.CSTNode] = []
        self.on_positions: List[Callable[[Dict[cst.CSTNode, Span]], None]] = []

    # project-aware table questions (the schema, when present, refines config)
    def tenant_key_for(self, table: str) -> str:
        schema = getattr(self.project, "tenant_key_for", None)
        if schema is not None:
            return schema(table)
        return self.config.tenant_key_for(table)

    def is_tenant_table(self, table: str) -> bool:
        schema = getattr(self.project, "is_tenant_table", None)
        if schema is not None:
            return schema(table)
        return self.config.is_tenant_table(table)

    @property
    def info(self) -> ModuleInfo:
        if self._info is None:
            self._info = collect_module(self.module, self.module_name, self.is_package)
        return self._info

    @property
    def db(self) -> DbAnalysis:
        if self._db is None:
            self._db = DbAnalysis(self)
        return self._db

    def report(self, rule: str, node: cst.CSTNode, message: str, *, symbol: Optional[str] = None,
               table: Optional[str] = None, operation: Optional[str] = None,
               fix: Optional[dict] = None, snippet_node: Optional[cst.CSTNode] = None,
               statement: Optional[cst.CSTNode] = None) -> None:
        self._pending.append((rule, node, message, symbol, table, operation, fix,
                              snippet_node or node, statement))

    def finish(self, extra_nodes: Sequence[cst.CSTNode] = ()) -> tuple:
        nodes = [p[1] for p in self._pending] + [p[8] for p in self._pending if p[8]]
        spans = positions(self.module, nodes + list(extra_nodes) + self.position_nodes)
        for callback in self.on_positions:
            callback(spans)
        findings = []
        for rule, node, message, symbol, table, operation, fix, snip, stmt in self._pending:
            span = spans.get(node, Span(1, 1, 1, 1))
            statement_span = spans.get(stmt) if stmt is not None else None
            findings.append(RawFinding(rule, span, message, symbol, table, operation,
                                       snippet_of(self.module, snip)[:500], fix,
                                       statement_span.line if statement_span else None))
        return findings, spans


def analyze_file(path: str, data: Optional[bytes], config: Config, rules: Sequence,
                 abs_path: Optional[str] = None, project: Optional[object] = None) -> FileFacts:
    module_name, is_package = module_name_for(path)
    facts = FileFacts(path, module_name, is_package)
    try:
        source = decode(data) if data is not None else read_source(abs_path or path)
    except SourceError as exc:
        facts.error = str(exc)
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
        _check_module(facts, path, source, module, config, rules, project)
    except RecursionError:  # the input's fault, not a bug: an `errors` entry
        facts.findings = []
        facts.error = ("nested too deeply to analyse (beyond Python's recursion limit); "
                       "file not checked")
    except Exception:  # a bug in a rule must not take the run down
        facts.internal_error = traceback.format_exc(limit=6)
    return facts


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


def _check_module(facts: FileFacts, path: str, source: Source, module: cst.Module,
                  config: Config, rules: Sequence, project) -> None:
    ctx = FileContext(path, source, module, config, project)
    info = ctx.info
    facts.definitions = list(dict.fromkeys(info.definitions))
    facts.imports = dict(info.imports)
    facts.classes = dict(info.classes)
    for rule in rules:
        rule.check_file(ctx)
    db = ctx.db
    extra_nodes = [p.call for p in db.calls] + [p.statement for p in db.calls if p.statement]
    findings, spans = ctx.finish(extra_nodes + [s.call for s in db.sinks]
                                 + [r.call for r in db.rpc_calls])
    facts.findings.extend(findings)
    for sink in db.sinks:
        result = db.classified[sink.call]
        span = spans.get(sink.call, Span(1, 1, 1, 1))
        facts.db_calls.append(DbCall(path, span.line, db.symbol(sink.unit), sink.table,
                                     sink.operation, result.outcome, result.detail,
                                     result.tenant_key))
        facts.wrappers.extend(_wrappers_of(sink, result, ctx))
    call_provenance = ctx.cache.get("call-provenance", {})  # from the route analysis
    for pending in db.calls:
        positional, keywords, none_pos, none_kw, star = describe_arguments(pending.call)
        statement = spans.get(pending.statement) if pending.statement is not None else None
        facts.call_sites.append(CallSite(
            db.symbol(pending.unit), spans.get(pending.call, Span(1, 1, 1, 1)), pending.callee,
            positional, keywords, none_pos, none_kw, star,
            snippet_of(module, pending.call)[:300], statement.line if statement else None))
        facts.call_sites[-1].provenance.update(call_provenance.get(pending.call, {}))
    for name, value in ctx.extra.items():
        facts.extra[name] = value
    # dedupe wrappers (a sink in a loop is visited more than once)
    seen = set()
    unique = []
    for wrapper in facts.wrappers:
        key = (wrapper.qualname, wrapper.param)
        if key not in seen:
            seen.add(key)
            unique.append(wrapper)
    facts.wrappers = unique
    for rpc in db.rpc_calls:  # database functions: listed as unverified, never flagged
        span = spans.get(rpc.call, Span(1, 1, 1, 1))
        facts.db_calls.append(DbCall(path, span.line, db.symbol(rpc.unit), None, "rpc",
                                     "unknown", rpc.detail, None))


def _wrappers_of(sink: Sink, result: Classified, ctx: FileContext) -> List[WrapperSummary]:
    unit = sink.unit
    if unit.node is None or result.outcome not in ("scoped", "conditional"):
        return []
    found = []
    for origin in result.tenant_origins:
        if origin.kind == "param" and origin.name in unit.param_index:
            found.append(WrapperSummary(
                ctx.module_name, unit.qualname, origin.name, unit.param_index[origin.name],
                unit.param_default.get(origin.name, False), sink.table, result.tenant_key or "",
                result.outcome))
    return found


# Analyses that ride on the shared flow pass register their hooks in
# EXTRA_HOOKS when imported; import them with the checker so that every file
# analysis has them, whichever rule runs first.
from .analysis import routes as _routes, tenant_values as _tenant_values  # noqa: E402,F401
