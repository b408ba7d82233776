"""The preset seam: a new data-access style is one module plus one registry
line. A test-only preset (`store.fetch("t", where={...})`), registered here,
is checked through the whole engine with VALID/INVALID examples, with no
change to the checker, the flow analysis or the rules."""
import ast
import pathlib
import textwrap

import libcst as cst
import pytest

from orgscope_lint import presets
from orgscope_lint.analysis.dbcalls import Sink, table_argument
from orgscope_lint.analysis.syntax import argument, dotted
from orgscope_lint.analysis.values import NONE
from orgscope_lint.config import ConfigError
from orgscope_lint.model import Operation
from orgscope_lint.presets.base import ModulePart, Preset, word_marker
from orgscope_lint.testing import config_from, found, marks_in, run_sources

# --- the whole preset: what a new data-access style writes ----------------------------

_OPERATIONS = {"fetch": Operation.READ, "remove": Operation.WRITE, "put": Operation.INSERT}


class StorePart(ModulePart):
    preset = "store"

    def __call__(self, call, env, analyzer):
        func = call.func
        if not isinstance(func, cst.Attribute) or dotted(func.value) not in self.config.raw.get(
                "db", {}).get("store-names", ["store"]):
            return
        operation = _OPERATIONS.get(func.attr.value)
        if operation is None:
            return
        table, source = table_argument(argument(call, 0, "table"), self.info, self.unit)
        node = (argument(call, 1, "row") if operation == Operation.INSERT
                else argument(call, None, "where"))
        value = analyzer.value_of(node, env) if node is not None else NONE
        self.record(Sink(call, self.unit, func.attr.value, operation, table, source, value,
                         node, analyzer.statement_node))


class StorePreset(Preset):
    name = "store"
    settings = {"store-names": "a list of strings"}
    marker = word_marker("fetch", "remove", "put")
    part = StorePart


@pytest.fixture
def store():
    presets.register(StorePreset())
    yield
    presets.unregister("store")


CONFIG = {"db": {"presets": ["store"]}}

VALID = [
    """
    def load(store, org, item_id):
        return store.fetch("items", where={"id": item_id, "clerk_org_id": org})
    """,
    """
    def load(store, org, status):
        where = {"clerk_org_id": org}
        if status:
            where["status"] = status
        return store.fetch("items", where=where)
    """,
    """
    def add(store, org, name):
        store.put("items", {"name": name, "clerk_org_id": org})
    """,
]

INVALID = [
    """
    def load(store, item_id):
        return store.fetch("items", where={"id": item_id})  # expect: ORG101
    """,
    """
    def drop(store, item_id, org=None):
        where = {"id": item_id}
        if org:
            where["clerk_org_id"] = org
        store.remove("items", where=where)  # expect: ORG104
    """,
    """
    def purge(store):
        store.remove("items", where={})  # expect: ORG105
    """,
    """
    def add(store, name):
        store.put("items", {"name": name})  # expect: ORG103
    """,
    """
    def load(store, item_id, org=None):
        return store.fetch("items", where={"id": item_id, "clerk_org_id": org})

    def handler(store, item_id):
        return load(store, item_id)  # expect: ORG106
    """,
]


def _check(code):
    sources = {"app/example.py": textwrap.dedent(code).lstrip("\n")}
    result = run_sources(sources, config_from(CONFIG))
    assert not result.internal_errors, result.internal_errors
    return result, sources


@pytest.mark.parametrize("code", VALID)
def test_store_preset_valid(store, code):
    result, sources = _check(code)
    assert found(result)[0] == []
    assert result.db_calls and all(c.preset == "store" for c in result.db_calls)


@pytest.mark.parametrize("code", INVALID)
def test_store_preset_invalid(store, code):
    result, sources = _check(code)
    expected, _ = marks_in(sources)
    assert sorted(found(result)[0]) == sorted(expected)


def test_store_calls_are_not_seen_without_the_preset(store):
    sources = {"app/x.py": 'def f(store, i):\n    return store.fetch("items", where={"id": i})\n'}
    assert run_sources(sources, config_from({})).db_calls == []


def test_a_preset_setting_is_validated_like_any_key(store):
    assert config_from({"db": {"presets": ["store"], "store-names": ["repo"]}})
    with pytest.raises(ConfigError, match="did you mean `store-names`"):
        config_from({"db": {"presets": ["store"], "store-name": ["repo"]}})
    with pytest.raises(ConfigError, match="must be a list of strings"):
        config_from({"db": {"store-names": "repo"}})


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown preset 'supabse' \(did you mean 'supabase'\?\)"):
        config_from({"db": {"presets": ["supabse"]}})


def test_a_file_without_the_marker_gets_no_part(store):
    part_built = []
    original = StorePart.__init__

    def spy(self, *args):
        part_built.append(True)
        original(self, *args)

    StorePart.__init__ = spy
    try:
        run_sources({"app/x.py": "def f(store):\n    return store.get('items')\n"},
                    config_from(CONFIG))
        assert part_built == []
        run_sources({"app/x.py": "def f(store):\n    return store.fetch('items', where={})\n"},
                    config_from(CONFIG))
        assert part_built == [True]
    finally:
        StorePart.__init__ = original


def test_rpc_is_an_opaque_sink_of_the_supabase_preset():
    result = run_sources({"app/x.py": (
        "def stats(supabase, org):\n"
        "    return supabase.rpc('org_call_stats', {'p_org': org}).execute()\n")},
        config_from({"db": {"presets": ["supabase"]}}))
    [call] = result.db_calls
    assert (call.preset, call.method, call.operation, call.outcome) == (
        "supabase", "rpc", Operation.OPAQUE, "unknown")


# --- the package's shape ----------------------------------------------------------------

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "orgscope_lint"


def _runtime_imports(path: pathlib.Path, module: str):
    """Modules of the package that `module` imports when it is imported
    (top level, outside `if TYPE_CHECKING:`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            continue
        for child in ast.walk(node) if isinstance(node, (ast.If, ast.Try)) else [node]:
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[:len(base) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target.startswith("orgscope_lint"):
                    found.add(target)
                    for alias in child.names:  # `from . import presets`
                        found.add(f"{target}.{alias.name}")
            elif isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.startswith("orgscope_lint"))
    return found


def test_no_import_cycle_in_the_package():
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph = {name: {t for t in _runtime_imports(path, name) if t in modules and t != name}
             for name, path in modules.items()}
    visiting, done = [], set()

    def visit(name):
        if name in done:
            return
        assert name not in visiting, " -> ".join(visiting[visiting.index(name):] + [name])
        visiting.append(name)
        for target in sorted(graph[name]):
            visit(target)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_rules_do_no_tree_work():
    """rules/ holds declarations and queries over plain facts: no rule
    module imports libcst or the per-file analyses at its top level."""
    for path in (PACKAGE / "rules").glob("*.py"):
        imports = _runtime_imports(path, f"orgscope_lint.rules.{path.stem}")
        text = path.read_text(encoding="utf-8")
        assert "\nimport libcst" not in text, path.name
        assert not any(i.startswith("orgscope_lint.analysis") for i in imports), (path.name, imports)


def test_routes_are_complete_with_the_route_rules_off():
    """Analyses run because an output needs them: the route table does not
    depend on ORG201-ORG204 being on."""
    from orgscope_lint.config import load_config
    from orgscope_lint.engine import Options, run
    from orgscope_lint.report.markdown import render

    fixture = PACKAGE.parent / "fixtures" / "sample_backend"
    config = load_config(None, fixture)
    on = run([fixture], config, Options(jobs=1, use_cache=False))
    config = load_config(None, fixture)
    config.severity.update({code: "off" for code in ("ORG201", "ORG202", "ORG203", "ORG204")})
    off = run([fixture], config, Options(jobs=1, use_cache=False))
    assert len(on.routes) == 99
    assert off.routes == on.routes
    assert not any(f.rule.startswith("ORG20") for f in off.findings)
    table = [line for line in render(off).splitlines() if line.startswith("| GET ")]
    assert len(table) == len([line for line in render(on).splitlines()
                              if line.startswith("| GET ")]) > 0


# --- a preset's own fix: one method of its part, no change to fix.py ---------------

class FirstEntryPart(StorePart):
    """Like `store`, but its fix puts the tenant key first in the filter (a
    style with another shape, `.where(M.tenant_id == x)`, would build its
    edit the same way: node edits of its own call)."""

    preset = "store-first"

    def tenant_fix(self, ctx, sink, result):
        from orgscope_lint.analysis.tenant_values import trusted_tenant_names
        from orgscope_lint.edits import FixDraft, NodeEdit
        names = trusted_tenant_names(ctx, sink)
        if len(names) != 1 or not isinstance(sink.value_node, cst.Dict):
            return "no single tenant value"
        entry = f'"{result.tenant_key}": {names[0]}, '
        return FixDraft(f"scope by {names[0]}",
                        (NodeEdit(sink.value_node.lbrace, entry, at="after"),))


class FirstEntryPreset(StorePreset):
    name = "store-first"
    part = FirstEntryPart


def test_a_preset_brings_its_own_fix_through_the_fixer():
    from orgscope_lint.testing import fix_sources
    presets.register(FirstEntryPreset())
    try:
        code = textwrap.dedent("""\
            def load(store, org, item_id):
                store.fetch("items", where={"clerk_org_id": org})
                return store.fetch("items", where={"id": item_id})  # expect: ORG101
            """)
        config = {"db": {"presets": ["store-first"]}}
        result = run_sources({"app/example.py": code}, config_from(config))
        assert [code for _, _, code in found(result)[0]] == ["ORG101"]
        fixed = fix_sources({"app/example.py": code}, config_from(config))
    finally:
        presets.unregister("store-first")
    assert fixed["app/example.py"] == code.replace(
        'where={"id": item_id}', 'where={"clerk_org_id": org, "id": item_id}')
