"""Summaries of project code that returns a queryset (part of the Django
pre-pass: standard-library `ast`, plain JSON data).

A caller's verdict needs what the code it calls returns before its own file
is checked, and that code is often elsewhere:

    class InvoiceQuerySet(models.QuerySet):
        def for_org(self, org):
            return self.filter(organization=org)      # pins the tenant: param 0
        def unpaid(self):
            return self.filter(paid_at__isnull=True)  # no tenant

    class Invoice(OrganizationOwned):
        objects = InvoiceQuerySet.as_manager()

    def visible_projects(user):                       # app/projects/selectors.py
        return Project.objects.filter(organization__members=user)

Each summary says what the returned value is built on (`self`: the queryset
or manager the method is called on; `model`: a fresh `M.objects` chain),
which lookups it adds and where each value comes from (a parameter, maybe an
attribute of it, a constant, or something else), whether it ends in a read
(`.get()`, an instance; `.count()`) or a write (`.update()`, `.delete()`),
and whether part of it cannot be seen (opaque). Managers and querysets are
found through the model's declarations (`objects = X()`,
`Q.as_manager()`, `X.from_queryset(Q)()`) and the classes' bases; module
functions through the modules' imports (`aliases`: a name another module
imports, re-exports followed). The Django part applies a summary at the call,
with the caller's arguments as the parameters' values.
"""
from __future__ import annotations

import ast
from typing import Dict, List, Optional

CHAIN = frozenset({"filter", "exclude", "all", "values", "values_list", "annotate",
                   "select_related", "prefetch_related", "order_by", "distinct", "only",
                   "defer", "using", "select_for_update", "reverse", "alias"})
INSTANCE = frozenset({"get", "first", "last", "earliest", "latest"})
READS = frozenset({"count", "exists", "aggregate", "in_bulk", "contains"})
WRITES = frozenset({"update", "delete"})
_MAX_DEPTH = 4

Summary = dict


def summaries(project, models: Dict[str, dict]) -> dict:
    """{"methods": model -> method -> summary, "managers": model -> manager ->
    summary of its get_queryset(), "functions": module -> function -> summary,
    "aliases": module -> local name -> [module, function]}."""
    builder = _Builder(project, models)
    return builder.build()


class _Builder:
    def __init__(self, project, models: Dict[str, dict]) -> None:
        self.project = project
        self.models = models
        self.memo: Dict[tuple, Optional[Summary]] = {}

    def build(self) -> dict:
        methods: Dict[str, Dict[str, Summary]] = {}
        managers: Dict[str, Dict[str, Summary]] = {}
        for name, data in self.models.items():
            cls = next((c for c in self.project.by_name.get(name, ())
                        if c.path == data.get("path")), None)
            if cls is None:
                continue
            for manager, refs in cls.manager_refs.items():
                for module_name, ref in refs:
                    owner = self.project.modules.get(module_name)
                    klass = self.project.class_of(owner, ref) if owner is not None else None
                    if klass is None:
                        continue
                    for holder in [klass, *[a for a in self.project.ancestors(klass)
                                            if not isinstance(a, str)]]:
                        for method, node in _methods(holder).items():
                            if method.startswith("_"):
                                continue
                            summary = self.method(holder, node)
                            if method == "get_queryset":
                                if summary is not None and manager not in managers.get(name, {}):
                                    managers.setdefault(name, {})[manager] = summary
                            elif summary is not None:
                                methods.setdefault(name, {}).setdefault(method, summary)
        functions: Dict[str, Dict[str, Summary]] = {}
        for module in self.project.modules.values():
            for stmt in module.tree_functions:
                summary = self.summarise(stmt, module, None)
                if summary is None:  # not followed: its callers' queries are unverified
                    summary = self.unfollowed(stmt, module)
                if summary is not None and summary["base"] == "model":
                    functions.setdefault(module.name, {})[stmt.name] = summary
        aliases: Dict[str, Dict[str, List[str]]] = {}
        for module in self.project.modules.values():
            for local, (target, attr) in module.imports.items():
                if attr is None:
                    continue
                found = self.project.resolve(module, local)
                if found and found[1] and found[1] in functions.get(found[0].name, {}):
                    aliases.setdefault(module.name, {})[local] = [found[0].name, found[1]]
        return {"methods": methods, "managers": managers, "functions": functions,
                "aliases": aliases}

    def unfollowed(self, node, module) -> Optional[Summary]:
        """A function the summary cannot follow (a loop, `|=`, unpacking, one
        return widening another) that returns what one model's manager chain
        builds: its result is that model's query with filters nobody can see,
        so a caller's statement on it is unverified (never judged scoped, and
        never left out)."""
        returned = [r.value for r in _returns(node)]
        if not returned or any(v is None or isinstance(v, (ast.Constant, ast.Dict, ast.List,
                                                            ast.Tuple, ast.Set, ast.JoinedStr))
                               for v in returned):
            return None
        scope = _Scope(self, module, None, [], node.name)
        models = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute) and sub.attr in ("objects", "_default_manager"):
                model = scope._model(sub.value)
                if model is not None:
                    models.add(model)
        if len(models) != 1:
            return None
        return _fresh("model", models.pop(), opaque=True)

    def method(self, cls, node) -> Optional[Summary]:
        key = (cls.module, cls.name, node.name)
        if key not in self.memo:
            self.memo[key] = None  # recursion guard
            module = self.project.modules.get(cls.module)
            self.memo[key] = self.summarise(node, module, cls) if module is not None else None
        return self.memo[key]

    # -- one function -------------------------------------------------------------
    def summarise(self, node, module, cls) -> Optional[Summary]:
        params = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
        if cls is not None and params:
            params = params[1:]  # self
        scope = _Scope(self, module, cls, params, node.name)
        flow = _Flow(scope, _odd_bindings(node))
        flow.block(node.body, {})
        found: List[Optional[Summary]] = flow.found
        if len(found) != sum(1 for _ in _returns(node)):
            return None  # a return the walk did not reach: unknown
        if not found or any(f is None for f in found):
            return None
        joined = found[0]
        for other in found[1:]:
            joined = _join(joined, other)
            if joined is None:
                return None
        if joined is not None:
            joined["params"] = params
        return joined


class _Scope:
    def __init__(self, builder: _Builder, module, cls, params: List[str], name: str) -> None:
        self.builder = builder
        self.module = module
        self.cls = cls
        self.params = params
        self.name = name
        self.names: Dict[str, Optional[Summary]] = {}

    def expr(self, node, depth: int) -> Optional[Summary]:
        if depth > 12:
            return None
        if isinstance(node, ast.Name):
            if node.id == "self" and self.cls is not None:
                return _fresh("self")
            return dict(self.names[node.id]) if self.names.get(node.id) else None
        if isinstance(node, ast.Attribute):  # `Model.objects`, `Model.active`
            model = self._model(node.value)
            if model is None:
                return None
            managers = self.builder.models[model].get("managers") or ["objects"]
            if node.attr not in managers and node.attr not in ("objects", "_default_manager"):
                return None
            return _fresh("model", model)
        if isinstance(node, ast.Subscript):  # `qs[:10]`: a slice is still the query
            inner = self.expr(node.value, depth + 1)
            return inner if inner is not None and inner.get("op") == "qs" else None
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            return None
        method = node.func.attr
        receiver = node.func.value
        if method == "get_queryset" and (_is_super(receiver) or (
                isinstance(receiver, ast.Name) and receiver.id == "self")):
            if _is_super(receiver) or self.name == "get_queryset" or self.cls is None:
                return _fresh("self")
            own = _methods(self.cls).get("get_queryset")
            return dict(self.builder.method(self.cls, own) or _fresh("self", opaque=True)) \
                if own is not None else _fresh("self")
        base = self.expr(receiver, depth + 1)
        if base is None or base.get("op") != "qs":
            return None
        if method in CHAIN or method in INSTANCE or method in READS or method in WRITES:
            found = dict(base, lookups=list(base["lookups"]))
            if method in ("filter", "get"):
                self._lookups(found, node)
            elif method in ("extra",):
                found["opaque"] = True
            if method in INSTANCE:
                found["op"] = "instance"
            elif method in READS:
                found["op"] = "read"
            elif method in WRITES:
                found["op"] = "write"
            return found
        if base["base"] == "self" and self.cls is not None and depth < _MAX_DEPTH:
            own = _methods(self.cls).get(method)  # `self.for_org(org).unpaid()`
            if own is not None:
                inner = self.builder.method(self.cls, own)
                if inner is not None and inner["base"] == "self" and inner["op"] == "qs":
                    found = dict(base, lookups=list(base["lookups"]))
                    for lookup, source in inner["lookups"]:
                        found["lookups"].append([lookup, self._rebind(source, node, inner)])
                    found["opaque"] = base["opaque"] or inner["opaque"]
                    return found
        return None

    def _model(self, node) -> Optional[str]:
        name = _dotted(node)
        if not name:
            return None
        last = name.rsplit(".", 1)[-1]
        if last not in self.builder.models:
            return None
        found = self.builder.project.class_of(self.module, name)
        return last if found is None or found.name == last else None

    def _lookups(self, found: Summary, call: ast.Call) -> None:
        for keyword in call.keywords:
            if keyword.arg is None:
                found["opaque"] = True  # `**filters`
            else:
                found["lookups"].append([keyword.arg, self._source(keyword.value)])
        for arg in call.args:
            if isinstance(arg, ast.Call) and _dotted(arg.func) in ("Q", "models.Q"):
                if arg.args:
                    found["opaque"] = True
                for keyword in arg.keywords:
                    if keyword.arg is None:
                        found["opaque"] = True
                    else:
                        found["lookups"].append([keyword.arg, self._source(keyword.value)])
            else:
                found["opaque"] = True  # `Q(a) | Q(b)`, an expression

    def _source(self, node) -> list:
        """Where a lookup's value comes from: ["param", index, attribute path],
        ["const"], or ["other"]."""
        if isinstance(node, ast.Constant):
            return ["const"]
        path = _dotted(node)
        if path:
            head, _, rest = path.partition(".")
            if head in self.params:
                return ["param", self.params.index(head), rest]
        return ["other"]

    def _rebind(self, source: list, call: ast.Call, inner: Summary) -> list:
        """A lookup of a method this one calls, its parameter given here."""
        if source[0] != "param":
            return source
        index = source[1]
        params = inner.get("params", [])
        name = params[index] if index < len(params) else None
        given = call.args[index] if index < len(call.args) else next(
            (k.value for k in call.keywords if k.arg == name), None)
        if given is None:
            return ["other"]
        found = self._source(given)
        if found[0] == "param" and source[2]:
            found = [found[0], found[1], ".".join(p for p in (found[2], source[2]) if p)]
        return found


class _Flow:
    """Each `return`'s value with the names as they are on the way to it: an
    assignment replaces a name's value; after a branch, a name whose values
    differ gets the weakest of them (`_join`), or unknown (None). Names that
    loops, `try` or `match` assign, and names bound any other way (`+=`, `|=`,
    unpacking, `for`/`with` targets, `:=`, `del`, imports, `global`), are
    unknown."""

    def __init__(self, scope: "_Scope", odd) -> None:
        self.scope = scope
        self.odd = odd
        self.found: List[Optional[Summary]] = []

    def value(self, node, env) -> Optional[Summary]:
        self.scope.names = env
        return self.scope.expr(node, 0)

    def block(self, stmts, env) -> Optional[dict]:
        """The names after `stmts`, or None when no path falls through."""
        for stmt in stmts:
            env = self.statement(stmt, env)
            if env is None:
                return None
        return env

    def statement(self, stmt, env) -> Optional[dict]:
        if isinstance(stmt, ast.Return):
            self.found.append(self.value(stmt.value, env) if stmt.value is not None else None)
            return None
        if isinstance(stmt, (ast.Raise, ast.Break, ast.Continue)):
            return None  # a loop's names are unknown both inside and after it
        if isinstance(stmt, ast.Assign):
            found = self.value(stmt.value, env)
            env = dict(env)
            for target in stmt.targets:
                for name in _stored(target):
                    env[name] = found if isinstance(target, ast.Name) \
                        and name not in self.odd else None
            return env
        if isinstance(stmt, ast.AnnAssign):
            env = dict(env)
            if isinstance(stmt.target, ast.Name) and stmt.value is not None:
                name = stmt.target.id
                env[name] = None if name in self.odd else self.value(stmt.value, env)
            return env
        if isinstance(stmt, ast.If):
            return _merge(self.block(stmt.body, dict(env)), self.block(stmt.orelse, dict(env)))
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            return self.block(stmt.body, _forget(env, _assigned(stmt.items)))
        if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            env = _forget(env, _assigned([stmt]))
            self.block(stmt.body, dict(env))
            return _merge(env, self.block(stmt.orelse, dict(env)))  # a break, or else
        if isinstance(stmt, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            env = _forget(env, _assigned([stmt]))
            paths = [self.block(stmt.body + stmt.orelse, dict(env)), dict(env)]
            paths += [self.block(handler.body, dict(env)) for handler in stmt.handlers]
            return self.block(stmt.finalbody, _merge(*paths)) if stmt.finalbody \
                else _merge(*paths[:1], *paths[2:])
        if isinstance(stmt, getattr(ast, "Match", ())):
            env = _forget(env, _assigned([stmt]))
            return _merge(dict(env), *[self.block(case.body, dict(env)) for case in stmt.cases])
        return _forget(env, _assigned([stmt]))


def _merge(*envs) -> Optional[dict]:
    """The names after paths meet (None: no path reaches here)."""
    live = [e for e in envs if e is not None]
    if not live:
        return None
    merged: dict = {}
    for name in set().union(*live):
        found = [e.get(name) for e in live]
        if any(name not in e for e in live) or any(f is None for f in found):
            merged[name] = None
            continue
        joined = found[0]
        for other in found[1:]:
            if joined is None:
                break
            if other != joined:
                joined = _join(joined, other)
        merged[name] = joined
    return merged


def _forget(env: dict, names) -> dict:
    return dict(env, **{name: None for name in names})


def _stored(target):
    for node in ast.walk(target):
        if isinstance(node, ast.Name):
            yield node.id


def _assigned(nodes) -> set:
    """Every name the statements (or `with` items) can bind, nested ones too."""
    names = set()
    for top in nodes:
        for node in ast.walk(top):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                names.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                names.add(node.name)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                names.update(node.names)
            elif isinstance(node, getattr(ast, "MatchAs", ())) and node.name:
                names.add(node.name)
            elif isinstance(node, getattr(ast, "MatchStar", ())) and node.name:
                names.add(node.name)
            elif isinstance(node, getattr(ast, "MatchMapping", ())) and node.rest:
                names.add(node.rest)
    return names


def _odd_bindings(function) -> set:
    """Names bound other than by `name = value` in the function's own body:
    `+=`, `:=`, `del`, `global`, imports, nested defs, and a nested function's
    `nonlocal`."""
    names = set()
    stack = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            if not isinstance(node, ast.Lambda):
                names.add(node.name)
            names.update(n for inner in ast.walk(node) if isinstance(inner, ast.Nonlocal)
                         for n in inner.names)
            continue
        if isinstance(node, ast.AugAssign):
            names.update(_stored(node.target))
        elif isinstance(node, ast.NamedExpr):
            names.update(_stored(node.target))
        elif isinstance(node, (ast.Delete, ast.Global, ast.Nonlocal, ast.Import,
                               ast.ImportFrom)):
            names.update(_assigned([node]))
        stack.extend(ast.iter_child_nodes(node))
    return names


def _fresh(base: str, model: Optional[str] = None, opaque: bool = False) -> Summary:
    return {"base": base, "model": model, "lookups": [], "opaque": opaque, "op": "qs"}


def _join(a: Summary, b: Summary) -> Optional[Summary]:
    """Two returns: the same base, model and kind; only the lookups both add."""
    if (a["base"], a["model"], a["op"]) != (b["base"], b["model"], b["op"]):
        return None
    theirs = {lookup: source for lookup, source in b["lookups"]}
    lookups = [[lookup, source if theirs[lookup] == source else ["other"]]
               for lookup, source in a["lookups"] if lookup in theirs]
    return dict(a, lookups=lookups, opaque=a["opaque"] or b["opaque"])


def _methods(cls) -> Dict[str, ast.FunctionDef]:
    if cls.node is None:  # not a manager or queryset class: its body was not kept
        return {}
    return {stmt.name: stmt for stmt in cls.node.body
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _returns(node):
    """The `return` statements of a function body (not of functions nested in it)."""
    stack = list(node.body)
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Return):
            yield current
        elif isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                  ast.Lambda)):
            continue
        else:
            stack.extend(ast.iter_child_nodes(current))


def _is_super(node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
        and node.func.id == "super"


def _dotted(node) -> Optional[str]:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None

