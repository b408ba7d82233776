"""Flow-sensitive abstract interpretation of one function body.

Walks statements in order, keeping an `Env` per program point: which local
names hold tracked dicts or row lists, where scalar names got their value
(reaching definitions), and which names are known truthy or falsy (guards such
as `if not org_id: raise` make `org_id` truthy afterwards). Branches join
(must = intersection, may = union); `return`/`raise` end a path; loops run to
a fixpoint; `break`/`continue` flow to the loop exit/head.

Every call met on the way is handed to the `CallHook`s in evaluation order,
with the environment in force at that point. The interpreter knows nothing of
databases or routes: hooks do.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Dict, FrozenSet, Iterator, List, Optional, Protocol, Sequence, Tuple

import libcst as cst

from .syntax import (_FIELDS_CACHE, _LEAVES, _child_fields, dotted,  # noqa: F401
                     iter_children, string_value)
from .values import (EMPTY, NONE, OPAQUE, UNKNOWN_ORIGIN, DictVal, ListVal, Origin,
                     Origins, QueryVal, STATEMENTS, Value, join_values)

TryStar = getattr(cst, "TryStar", None)
TypeAlias = getattr(cst, "TypeAlias", None)


class Env:
    """Immutable-by-convention abstract state; `None` stands for unreachable.

    `found` holds the lookups (the call nodes of DB reads, or of calls a value
    model says leave when nothing is found) known to have returned a row on
    every path reaching this point: `row = db.select_one(...)` then
    `if not row: raise` puts that call in `found` for the rest of the function.
    The proofs of tenancy (analysis/proofs.py) read it."""

    __slots__ = ("vals", "defs", "truthy", "falsy", "found", "called")

    def __init__(self, vals: Dict[str, Value], defs: Dict[str, Origins],
                 truthy: FrozenSet[str] = EMPTY, falsy: FrozenSet[str] = EMPTY,
                 found: FrozenSet[cst.CSTNode] = frozenset(),
                 called: FrozenSet[cst.CSTNode] = frozenset()) -> None:
        self.vals = vals
        self.defs = defs
        self.truthy = truthy
        self.falsy = falsy
        self.found = found
        # project calls made as statements that returned on every path here:
        # candidate scoping helpers, confirmed or not at the project stage
        self.called = called

    def assign(self, name: str, value: Optional[Value], origins: Origins) -> "Env":
        vals = dict(self.vals)
        if value is None:
            vals.pop(name, None)
        else:
            vals[name] = value
        defs = dict(self.defs)
        defs[name] = origins
        return Env(vals, defs, self.truthy - {name}, self.falsy - {name}, self.found,
                   self.called)

    def set_value(self, name: str, value: Value) -> "Env":
        vals = dict(self.vals)
        vals[name] = value
        return Env(vals, self.defs, self.truthy, self.falsy, self.found, self.called)

    def assume(self, name: str, truth: bool) -> "Env":
        if truth:
            return Env(self.vals, self.defs, self.truthy | {name}, self.falsy - {name},
                       self.found, self.called)
        return Env(self.vals, self.defs, self.truthy - {name}, self.falsy | {name}, self.found,
                   self.called)

    def with_found(self, calls: FrozenSet[cst.CSTNode]) -> "Env":
        if calls <= self.found:
            return self
        return Env(self.vals, self.defs, self.truthy, self.falsy, self.found | calls, self.called)

    def with_called(self, call: cst.CSTNode) -> "Env":
        return Env(self.vals, self.defs, self.truthy, self.falsy, self.found,
                   self.called | {call})

    def same(self, other: "Env") -> bool:
        return (self.vals == other.vals and self.defs == other.defs
                and self.truthy == other.truthy and self.falsy == other.falsy
                and self.found == other.found and self.called == other.called)


def join(a: Optional[Env], b: Optional[Env]) -> Optional[Env]:
    if a is None:
        return b
    if b is None or a is b:
        return a
    vals: Dict[str, Value] = {}
    for name in a.vals.keys() & b.vals.keys():
        joined = join_values(a.vals[name], b.vals[name])
        if joined is not None:
            vals[name] = joined
    defs = dict(a.defs)
    for name, origins in b.defs.items():
        defs[name] = defs.get(name, frozenset()) | origins if name in defs else origins
    return Env(vals, defs, a.truthy & b.truthy, a.falsy & b.falsy, a.found & b.found,
               a.called & b.called)


def closure_env(outer: Env, own: Env) -> Env:
    """Where a function defined inside another starts: the enclosing
    function's bindings, guards and verified lookups at the definition, with
    its own parameters (`own`) shadowing them."""
    vals = {name: value for name, value in outer.vals.items() if name not in own.defs}
    vals.update(own.vals)
    defs = {**outer.defs, **own.defs}
    return Env(vals, defs, outer.truthy - own.defs.keys(), outer.falsy - own.defs.keys(),
               outer.found | own.found, outer.called | own.called)


def join_all(envs: Sequence[Optional[Env]]) -> Optional[Env]:
    result: Optional[Env] = None
    for env in envs:
        result = join(result, env)
    return result


# --- the interpreter -------------------------------------------------------------

CallHook = Callable[[cst.Call, Env, "FlowAnalyzer"], None]


class ValueHelpers(Protocol):
    """The value a call of one of the module's own functions returns
    (analysis/returns.py), or None."""

    def value_of(self, name: str, call: cst.Call, env: Env,
                 analyzer: "FlowAnalyzer") -> Optional[Value]:
        ...
DefHook = Callable[[cst.CSTNode, Env], None]  # a nested def, and the env where it is defined


class ValueModel(Protocol):
    """Abstract values the interpreter does not know itself (query builders):
    `value_of` gives the value of a call expression; `mutated` says which
    tracked variable a call changes in place (`query.eq(...)`), and to what."""

    def value_of(self, call: cst.Call, env: Env, analyzer: "FlowAnalyzer") -> Optional[Value]:
        ...

    def mutated(self, call: cst.Call, env: Env,
                analyzer: "FlowAnalyzer") -> Optional[Tuple[str, Value]]:
        ...

    def stored(self, current: Value, attribute: str, origins: Origins) -> Optional[Value]:
        ...

    # Optional: `leaves_when_missing(call, env, analyzer) -> bool` says that
    # `call` raises (or aborts) when it finds no row (`.one()`,
    # `get_object_or_404(...)`, a postgrest `.single()` chain, a scoping
    # helper): once it returns, the call and the calls of its chain are in
    # `Env.found`.
    # optional: `iterated(node, env, analyzer)`, told of the iterable of each `for`

_DICT_MUTATORS = frozenset({"update", "setdefault", "pop", "clear", "append", "extend",
                            "copy", "popitem"})
# calls that never return: a path through `abort(404)` ends there
_NO_RETURN = frozenset({"abort", "flask.abort", "sys.exit", "os._exit"})
# conversions that keep the value they are given (`str(agent_id)` is agent_id)
SAME_VALUE_CALLS = frozenset({"str", "int", "UUID", "uuid.UUID", "uuid_mod.UUID"})


class FlowAnalyzer:
    """Interprets one function (or module) body; see the module docstring."""

    def __init__(self, hooks: Sequence[CallHook], on_nested_def: DefHook,
                 constants: Optional[Dict[str, str]] = None,
                 value_models: Sequence["ValueModel"] = (),
                 functions: Optional["ValueHelpers"] = None) -> None:
        self.hooks = hooks
        self.value_models = value_models
        self.on_nested_def = on_nested_def
        self.constants = constants or {}
        # the module's own functions whose returned dict (a filter, a row) a
        # call's value is (`_tenant_filter(org, id=x)`)
        self.functions = functions
        self._loops: List[Tuple[List[Env], List[Env]]] = []  # (breaks, continues)
        # (environment, returned expression or None) at each `return`
        self.exits: List[Tuple[Env, Optional[cst.CSTNode]]] = []
        # access checks in code: (lookup call, column, origins of the value it is
        # compared with, the comparison, it is a check: a branch leaves and where
        # the comparison fails the row is not used) for each
        # `if row["account_id"] != org: raise` (or `==` then return)
        self.compares: List[Tuple[cst.Call, str, Origins, cst.CSTNode, bool]] = []
        # the statement being interpreted: findings inside a multi-line statement
        # can be suppressed on its first line
        self.statement_node: Optional[cst.CSTNode] = None
        # [statements, index] of each block being interpreted: what may run
        # after the current statement (a try body's handlers count, index -1)
        self._rest: List[list] = []

    # -- entry -------------------------------------------------------------
    def run(self, body: Sequence[cst.CSTNode], env: Env) -> Optional[Env]:
        return self.block(body, env)

    # -- statements --------------------------------------------------------
    def block(self, body, env: Optional[Env]) -> Optional[Env]:
        if isinstance(body, cst.BaseSuite):
            body = body.body
        frame = [body, 0]  # the statements after the current one (`_rest`)
        self._rest.append(frame)
        try:
            for index, stmt in enumerate(body):
                if env is None:
                    return None
                frame[1] = index
                env = self.statement(stmt, env)
            return env
        finally:
            self._rest.pop()

    def statement(self, stmt: cst.CSTNode, env: Env) -> Optional[Env]:
        self.statement_node = stmt
        if isinstance(stmt, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            for small in stmt.body:
                if env is None:
                    return None
                env = self.small(small, env)
            return env
        if isinstance(stmt, cst.If):
            return self.if_(stmt, env)
        if isinstance(stmt, (cst.For, cst.While)):
            return self.loop(stmt, env)
        if isinstance(stmt, cst.Try) or (TryStar is not None and isinstance(stmt, TryStar)):
            return self.try_(stmt, env)
        if isinstance(stmt, cst.With):
            for item in stmt.items:
                env = self.expr(item.item, env)
                if item.asname is not None:
                    env = self.bind_target(item.asname.name, None, env)
            return self.block(stmt.body, env)
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            for decorator in stmt.decorators:
                env = self.expr(decorator.decorator, env)
            self.on_nested_def(stmt, env)
            return env.assign(stmt.name.value, None, frozenset({UNKNOWN_ORIGIN}))
        if isinstance(stmt, cst.Match):
            env = self.expr(stmt.subject, env)
            ends = [self.block(case.body, self.expr(case.guard, env) if case.guard else env)
                    for case in stmt.cases]
            return join_all(ends + [env])
        return env

    def returned(self, node: cst.CSTNode, env: Env) -> Env:
        """A project function called as a statement (`check_access(x, org)`,
        `row = await load_for_org(...)`) returned: it goes into `called` as a
        candidate scoping helper, which the project stage may confirm (a
        function that raises when its tenant-scoped lookup finds nothing)."""
        if isinstance(node, cst.Await):
            node = node.expression
        if isinstance(node, cst.Call) and isinstance(node.func, (cst.Name, cst.Attribute)) \
                and node.args:
            return env.with_called(node)
        return env

    def small(self, node: cst.CSTNode, env: Env) -> Optional[Env]:
        if isinstance(node, cst.Assign):
            env = self.expr(node.value, env)
            value, origins = self.evaluate(node.value, env)
            value = self.built_here(value, node.value)
            for target in node.targets:
                env = self.bind_target(target.target, (value, origins), env)
            return self.returned(node.value, env)
        if isinstance(node, cst.AnnAssign):
            if node.value is None:
                return env
            env = self.expr(node.value, env)
            value, origins = self.evaluate(node.value, env)
            return self.bind_target(node.target, (self.built_here(value, node.value), origins),
                                    env)
        if isinstance(node, cst.AugAssign):
            env = self.expr(node.value, env)
            name = node.target.value if isinstance(node.target, cst.Name) else None
            if name and isinstance(node.operator, cst.BitOrAssign) and isinstance(
                    env.vals.get(name), DictVal):
                other, _ = self.evaluate(node.value, env)
                current = env.vals[name]
                merged = current.merged(other) if isinstance(other, DictVal) else \
                    DictVal(current.must, current.may, True, current.values)
                return env.set_value(name, merged)
            if name and isinstance(node.operator, cst.AddAssign):
                # `sql += " AND ..."`: the value is `sql + ...` (text built in steps)
                grown = cst.BinaryOperation(node.target, cst.Add(), node.value)
                return env.assign(name, None, frozenset({Origin("expr", node=grown,
                                                                defs=env.defs)}))
            if name:
                return env.assign(name, None, frozenset({UNKNOWN_ORIGIN}))
            return self.expr(node.target, env)
        if isinstance(node, cst.Expr):
            env = self.expr(node.value, env)
            if isinstance(node.value, cst.Call) and dotted(node.value.func) in _NO_RETURN:
                return None
            return self.returned(node.value, env)
        if isinstance(node, cst.Return):
            if node.value is not None:
                env = self.expr(node.value, env)
            self.exits.append((env, node.value))
            return None
        if isinstance(node, cst.Raise):
            if node.exc is not None:
                self.expr(node.exc, env)
            return None
        if isinstance(node, cst.Break):
            if self._loops:
                self._loops[-1][0].append(env)
            return None
        if isinstance(node, cst.Continue):
            if self._loops:
                self._loops[-1][1].append(env)
            return None
        if isinstance(node, cst.Del):
            return self.delete(node.target, env)
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            names = node.names if isinstance(node.names, (list, tuple)) else ()
            for alias in names:
                bound = alias.asname.name if alias.asname else alias.name
                if isinstance(bound, cst.Name):
                    env = env.assign(bound.value, None, frozenset({UNKNOWN_ORIGIN}))
            return env
        if isinstance(node, cst.Assert):
            env = self.expr(node.test, env)
            return self.refine(node.test, env, True)
        if TypeAlias is not None and isinstance(node, TypeAlias):
            return env
        return self.expr(node, env)

    def built_here(self, value: Optional[Value], node: cst.CSTNode) -> Optional[Value]:
        """A query whose table and operation are chosen by this assignment
        (`q = client.table("t").select("*")`) remembers where: a finding on
        the statement that runs it later is reported here."""
        if isinstance(value, QueryVal) and value.method in STATEMENTS and value.built is None:
            return value.replace(built=(node, self.statement_node))
        return value

    def bind_target(self, target: cst.CSTNode, evaluated, env: Env) -> Env:
        if isinstance(target, cst.Name):
            value, origins = evaluated if evaluated else (None, frozenset({UNKNOWN_ORIGIN}))
            return env.assign(target.value, value, origins)
        if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
            env = self.expr(target.slice[0].slice, env) if target.slice else env
            name = target.value.value
            current = env.vals.get(name)
            if isinstance(current, DictVal) and len(target.slice) == 1 and isinstance(
                    target.slice[0].slice, cst.Index):
                key = self.key_of(target.slice[0].slice.value)
                origins = evaluated[1] if evaluated else frozenset({UNKNOWN_ORIGIN})
                if key is None:
                    return env.set_value(name, DictVal(current.must, current.may, True,
                                                       current.values))
                return env.set_value(name, current.with_key(key, origins))
            return env
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            # `row.tenant_id = org` on an object a value model tracks (an ORM row)
            env = self.expr(target, env)
            current = env.vals.get(target.value.value)
            if current is not None:
                origins = evaluated[1] if evaluated else frozenset({UNKNOWN_ORIGIN})
                for model in self.value_models:
                    stored = model.stored(current, target.attr.value, origins)
                    if stored is not None:
                        return env.set_value(target.value.value, stored)
            return env
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                env = self.bind_target(element.value, None, env)
            return env
        if isinstance(target, cst.StarredElement):
            return self.bind_target(target.value, None, env)
        return self.expr(target, env)

    def delete(self, target: cst.CSTNode, env: Env) -> Env:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                env = self.delete(element.value, env)
            return env
        if isinstance(target, cst.Name):
            return env.assign(target.value, None, frozenset({UNKNOWN_ORIGIN}))
        if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
            current = env.vals.get(target.value.value)
            if isinstance(current, DictVal) and len(target.slice) == 1 and isinstance(
                    target.slice[0].slice, cst.Index):
                key = self.key_of(target.slice[0].slice.value)
                if key is not None:
                    return env.set_value(target.value.value, current.without_key(key))
        return env

    def if_(self, node: cst.If, env: Env) -> Optional[Env]:
        env = self.expr(node.test, env)
        truth = self.static_truth(node.test, env)
        then_env = None if truth is False else self.block(node.body, self.refine(node.test, env, True))
        else_start = None if truth is True else self.refine(node.test, env, False)
        if node.orelse is None:
            else_env = else_start
        elif isinstance(node.orelse, cst.If):
            else_env = self.if_(node.orelse, else_start) if else_start is not None else None
        else:
            else_env = self.block(node.orelse.body, else_start)
        found = _row_comparisons(node.test)
        if found:
            then_leaves = truth is not False and then_env is None
            else_leaves = else_start is not None and else_env is None
            leaves = then_leaves or (node.orelse is not None and else_leaves)
            branches = ((True, truth is False, then_leaves, (node.body,)),
                        (False, truth is True, else_leaves,
                         (node.orelse,) if node.orelse is not None else ()))
            for row, column, other, comparison in found:
                call = lookup_call(row, env.defs)
                if call is not None:
                    checked = leaves and all(
                        dead or self._unused_unless_held(comparison, row, node.test, held,
                                                         leaving, body)
                        for held, dead, leaving, body in branches)
                    self.compares.append((call, column, self.origins(other, env), comparison,
                                          checked))
        return join(then_env, else_env)

    def _unused_unless_held(self, comparison: cst.CSTNode, row: cst.CSTNode,
                            test: cst.CSTNode, truth: bool, leaving: bool,
                            body: Sequence[cst.CSTNode]) -> bool:
        """The branch of `test` taken when it is `truth` either holds
        `comparison` (as `refine` knows it) or does not touch the row: it
        leaves without naming it (`if row.org != org: raise`), or it goes on
        and neither it nor what may run after the `if` names the row
        (`if row.org == org: return row` then code that only uses ids).
        `if row.org == org: raise` then `return row` returns another
        organization's row: not a check."""
        if comparison in _held_comparisons(test, truth):
            return True
        name = _base_name(row)
        if name is None:
            return False
        if _names(body, name):
            return False
        if leaving:
            return True
        if self._loops:  # the loop's next round may use the row
            return False
        return not any(_names(stmts[index + 1:], name) for stmts, index in self._rest)

    def loop(self, node, env: Env) -> Optional[Env]:
        if isinstance(node, cst.For):
            env = self.expr(node.iter, env)
            pairs = literal_pairs(node)
            if pairs is not None:
                return self.unrolled(node, pairs, env)
            for model in self.value_models:  # `for row in queryset:` runs the query
                iterated = getattr(model, "iterated", None)
                if iterated is not None:
                    iterated(node.iter, env, self)
            head_test = None
        else:
            head_test = node.test
        entry = env
        exit_envs: List[Env] = []
        head = entry
        element = None  # `for row in res.data:`: each row is one of the lookup's rows
        if isinstance(node, cst.For) and isinstance(node.target, cst.Name) \
                and lookup_call(node.iter, env.defs) is not None:
            item = cst.Subscript(node.iter, [cst.SubscriptElement(cst.Index(cst.Integer("0")))])
            element = (None, frozenset({Origin("expr", node=item, defs=env.defs)}))
        for _ in range(3):  # the lattice is shallow: keys only grow or shrink once
            breaks: List[Env] = []
            continues: List[Env] = []
            self._loops.append((breaks, continues))
            start = head
            if isinstance(node, cst.For):
                start = self.bind_target(node.target, element, start)
            else:
                start = self.expr(head_test, start)
                if self.static_truth(head_test, start) is False:
                    self._loops.pop()
                    break
                start = self.refine(head_test, start, True)
            end = self.block(node.body, start)
            self._loops.pop()
            exit_envs = breaks
            new_head = join_all([entry, end] + continues)
            if new_head is None or new_head.same(head):
                head = new_head
                break
            head = new_head
        if head is None:
            normal_exit = None
        elif head_test is not None:
            truth = self.static_truth(head_test, head)
            normal_exit = None if truth is True else self.refine(head_test, head, False)
        else:
            normal_exit = head
        if node.orelse is not None:
            normal_exit = self.block(node.orelse.body, normal_exit)
        return join_all([normal_exit] + exit_envs)

    def unrolled(self, node: cst.For, pairs, env: Env) -> Optional[Env]:
        """`for k, v in [("org_id", org), ("id", x)]:` (or `{...}.items()`): the
        body runs once per pair, in order, `k` naming its literal key (so
        `filters[k] = v` and `query.eq(k, v)` see the column)."""
        key_name, value_target = node.target.elements[0].value.value, node.target.elements[1].value
        breaks: List[Env] = []
        saved = self.constants
        current: Optional[Env] = env
        try:
            for key, key_node, value_node in pairs:
                if current is None:
                    break
                continues: List[Env] = []
                self._loops.append((breaks, continues))
                start = current.assign(key_name, None,
                                       frozenset({Origin("expr", node=key_node, defs=current.defs)}))
                start = self.bind_target(value_target, self.evaluate(value_node, current), start)
                self.constants = {**saved, key_name: key}
                end = self.block(node.body, start)
                self._loops.pop()
                current = join_all([end] + continues)
        finally:
            self.constants = saved
        if node.orelse is not None:
            current = self.block(node.orelse.body, current)
        return join_all([current] + breaks)

    def try_(self, node, env: Env) -> Optional[Env]:
        # an exception in the body runs the handlers (and the finally block)
        after_raise = [h for handler in node.handlers for h in handler.body.body]
        if node.orelse is not None:
            after_raise.extend(node.orelse.body.body)
        if node.finalbody is not None:
            after_raise.extend(node.finalbody.body.body)
        self._rest.append([after_raise, -1])
        try:
            body_end = self.block(node.body, env)
        finally:
            self._rest.pop()
        handler_start = join(env, body_end)
        ends = []
        for handler in node.handlers:
            start = handler_start
            if start is not None and handler.type is not None:
                start = self.expr(handler.type, start)
            if start is not None and handler.name is not None:
                start = self.bind_target(handler.name.name, None, start)
            ends.append(self.block(handler.body, start))
        normal = self.block(node.orelse.body, body_end) if node.orelse else body_end
        after = join_all([normal] + ends)
        if node.finalbody is not None:
            if after is None:
                # every path leaves the try; still look at the finally block
                self.block(node.finalbody.body, join_all([handler_start] + ends))
                return None
            after = self.block(node.finalbody.body, after)
        return after

    # -- conditions ----------------------------------------------------------
    def static_truth(self, test: cst.CSTNode, env: Env) -> Optional[bool]:
        if isinstance(test, cst.Name):
            if test.value == "True":
                return True
            if test.value in ("False", "None"):
                return False
            if test.value in env.truthy:
                return True
            if test.value in env.falsy:
                return False
            return None
        if isinstance(test, cst.Integer):
            return test.value not in ("0",)
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            inner = self.static_truth(test.expression, env)
            return None if inner is None else not inner
        if isinstance(test, cst.BooleanOperation):
            left = self.static_truth(test.left, env)
            right = self.static_truth(test.right, env)
            if isinstance(test.operator, cst.And):
                if left is False or right is False:
                    return False
                return True if left and right else None
            if left is True or right is True:
                return True
            return False if left is False and right is False else None
        none_test = _none_comparison(test)
        if none_test is not None:
            name, is_none = none_test
            truth = self.static_truth(cst.Name(name), env)
            if truth is True:  # a truthy value is not None
                return not is_none
            return None
        return None

    def refine(self, test: cst.CSTNode, env: Env, truth: bool) -> Env:
        if truth and isinstance(test, (cst.Name, cst.Attribute, cst.Subscript, cst.Call,
                                       cst.Await)):
            env = self.found_by(test, env)
        if isinstance(test, cst.Name) and test.value not in ("True", "False", "None"):
            return env.assume(test.value, truth)
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return self.refine(test.expression, env, not truth)
        if isinstance(test, cst.BooleanOperation):
            if isinstance(test.operator, cst.And) and truth:
                return self.refine(test.right, self.refine(test.left, env, True), True)
            if isinstance(test.operator, cst.Or) and not truth:
                return self.refine(test.right, self.refine(test.left, env, False), False)
            return env
        equality = _equality(test)
        if equality is not None and truth == equality[1]:
            # `row["account_id"] == org` held: the row was found, and the
            # comparison goes into `found` too (a check in code held here)
            for side in equality[0]:
                if _column_of(side) is not None:
                    env = self.found_by(_column_of(side)[0], env).with_found(
                        frozenset({test}))
        none_test = _none_comparison(test)
        if none_test is not None:
            name, is_none = none_test
            # `x is None` true -> x falsy; false -> x is set (we treat ids as truthy)
            if truth != is_none:
                env = self.found_by(cst.Name(name), env)
            return env.assume(name, not truth if is_none else truth)
        return env

    def found_by(self, test: cst.CSTNode, env: Env) -> Env:
        """`test` (`row`, `res.data`, `res.data[0]`, `len(rows)`) is true: the one
        lookup call its value comes from found a row."""
        if isinstance(test, cst.Call) and isinstance(test.func, cst.Name) \
                and test.func.value == "len" and len(test.args) == 1:
            test = test.args[0].value
        call = lookup_call(test, env.defs)
        return env.with_found(frozenset({call})) if call is not None else env

    # -- expressions ---------------------------------------------------------
    def expr(self, node: Optional[cst.CSTNode], env: Optional[Env]) -> Optional[Env]:
        """Scan an expression for calls in evaluation order; returns the env
        after its side effects (dict mutations like `filters.update(...)`)."""
        if node is None or env is None:
            return env
        # Post-order with an explicit stack (arguments before the call, left to
        # right; deep expressions cannot hit the recursion limit).
        # The hottest loop of the analysis: leaves are dropped before they are
        # pushed, and child fields come from the per-type cache.
        stack: List[Tuple[cst.CSTNode, bool]] = [(node, False)]
        push = stack.append
        pop = stack.pop
        while stack:
            current, children_done = pop()
            if children_done:
                env = self.call(current, env)
                continue
            kind = type(current)
            if kind in _LEAVES:
                continue
            if kind is cst.Call:
                push((current, True))
            children: List[cst.CSTNode] = []
            for name in _FIELDS_CACHE.get(kind) or _child_fields(kind):
                value = getattr(current, name)
                if isinstance(value, cst.CSTNode):
                    if type(value) not in _LEAVES:
                        children.append(value)
                elif isinstance(value, (tuple, list)):
                    children.extend(item for item in value if isinstance(item, cst.CSTNode)
                                    and type(item) not in _LEAVES)
            for child in reversed(children):
                push((child, False))
        return env

    def call(self, call: cst.Call, env: Env) -> Env:
        for hook in self.hooks:
            hook(call, env, self)
        for model in self.value_models:
            leaves = getattr(model, "leaves_when_missing", None)
            if leaves is not None and leaves(call, env, self):
                env = env.with_found(chain_calls(call))
                break
        func = call.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) \
                and func.attr.value in _DICT_MUTATORS:
            name = func.value.value
            current = env.vals.get(name)
            if current is not None:
                return env.set_value(name, self.mutate(current, func.attr.value, call, env))
        for model in self.value_models:
            updated = model.mutated(call, env, self)
            if updated is not None:
                return env.set_value(*updated)
        return env

    def mutate(self, current: Value, method: str, call: cst.Call, env: Env) -> Value:
        args = call.args
        if isinstance(current, DictVal):
            if method == "update":
                result = current
                for arg in args:
                    if arg.keyword is not None:
                        result = result.with_key(arg.keyword.value, self.origins(arg.value, env))
                    else:
                        other, _ = self.evaluate(arg.value, env)
                        result = result.merged(other if isinstance(other, DictVal) else OPAQUE)
                return result
            if method == "setdefault" and args:
                key = self.key_of(args[0].value)
                if key is None:
                    return DictVal(current.must, current.may, True, current.values)
                if key in current.must:
                    return current
                origin = self.origins(args[1].value, env) if len(args) > 1 \
                    else frozenset({Origin("expr", node=cst.Name("None"))})
                return current.with_key(key, origin)
            if method == "pop" and args:
                key = self.key_of(args[0].value)
                return current.without_key(key) if key is not None else current
            if method == "clear":
                return DictVal()
            return current
        if isinstance(current, ListVal):
            if method == "append" and args:
                row, _ = self.evaluate(args[0].value, env)
                return current.appended(row if isinstance(row, DictVal) else OPAQUE)
            if method == "extend" and args:
                rows, _ = self.evaluate(args[0].value, env)
                return current.extended(rows if isinstance(rows, ListVal) else ListVal((), True))
        return current

    def key_of(self, node: cst.CSTNode) -> Optional[str]:
        value = string_value(node)
        if value is None and isinstance(node, cst.Name):
            value = self.constants.get(node.value)
        return value

    def origins(self, node: cst.CSTNode, env: Env) -> Origins:
        """Where the value of `node` comes from: a bare name resolves to its
        reaching definitions (so aliases are followed); anything else is itself."""
        if isinstance(node, cst.Name) and node.value in env.defs:
            return env.defs[node.value]
        return frozenset({Origin("expr", node=node, defs=env.defs)})

    def evaluate(self, node: Optional[cst.CSTNode], env: Env) -> Tuple[Optional[Value], Origins]:
        """(abstract dict/list value or None when not a container, origins)."""
        if node is None:
            return NONE, frozenset()
        origins = self.origins(node, env)
        return self.value_of(node, env), origins

    def value_of(self, node: cst.CSTNode, env: Env) -> Optional[Value]:
        if isinstance(node, cst.Name):
            if node.value == "None":
                return NONE
            return env.vals.get(node.value)
        if isinstance(node, cst.Dict):
            result = DictVal()
            for element in node.elements:
                if isinstance(element, cst.StarredDictElement):
                    inner = self.value_of(element.value, env)
                    result = result.merged(inner if isinstance(inner, DictVal) else OPAQUE)
                    continue
                key = self.key_of(element.key)
                if key is None:
                    result = DictVal(result.must, result.may, True, result.values)
                else:
                    result = result.with_key(key, self.origins(element.value, env))
            return result
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Name) and func.value == "dict":
                result = DictVal()
                for arg in node.args:
                    if arg.keyword is not None:
                        result = result.with_key(arg.keyword.value, self.origins(arg.value, env))
                    else:
                        inner = self.value_of(arg.value, env)
                        result = result.merged(inner if isinstance(inner, DictVal) else OPAQUE)
                return result
            if isinstance(func, cst.Attribute) and func.attr.value == "copy" and not node.args:
                inner = self.value_of(func.value, env)
                return inner if isinstance(inner, (DictVal, ListVal)) else None
            if isinstance(func, cst.Name) and func.value == "list" and len(node.args) == 1:
                inner = self.value_of(node.args[0].value, env)
                return inner if isinstance(inner, ListVal) else None
            if self.functions is not None and isinstance(func, cst.Name) \
                    and func.value not in env.defs:
                returned = self.functions.value_of(func.value, node, env, self)
                if returned is not None:
                    return returned
            for model in self.value_models:
                value = model.value_of(node, env, self)
                if value is not None:
                    return value
            return None
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            left = self.value_of(node.left, env)
            right = self.value_of(node.right, env)
            if isinstance(left, DictVal) or isinstance(right, DictVal):
                left = left if isinstance(left, DictVal) else OPAQUE
                right = right if isinstance(right, DictVal) else OPAQUE
                return left.merged(right)
            return None
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            left = self.value_of(node.left, env)
            right = self.value_of(node.right, env)
            if isinstance(left, ListVal) and isinstance(right, ListVal):
                return left.extended(right)
            return None
        if isinstance(node, cst.IfExp):
            return join_values(self.value_of(node.body, env), self.value_of(node.orelse, env))
        if isinstance(node, (cst.List, cst.Tuple)):
            rows = []
            opaque = False
            for element in node.elements:
                if isinstance(element, cst.StarredElement):
                    inner = self.value_of(element.value, env)
                    if isinstance(inner, ListVal):
                        rows.extend(inner.rows)
                        opaque = opaque or inner.opaque
                    else:
                        opaque = True
                    continue
                row = self.value_of(element.value, env)
                rows.append(row if isinstance(row, DictVal) else OPAQUE)
            return ListVal(tuple(rows), opaque)
        if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
            row = self.value_of(node.elt, self._comprehension_env(node, env))
            return ListVal((row if isinstance(row, DictVal) else OPAQUE,))
        if isinstance(node, cst.DictComp):
            return OPAQUE
        return None

    def _comprehension_env(self, node, env: Env) -> Env:
        clause = node.for_in
        while clause is not None:
            env = self.bind_target(clause.target, None, env)
            clause = clause.inner_for_in
        return env


_MAX_PAIRS = 32


def literal_pairs(node: cst.For) -> Optional[List[Tuple[str, cst.CSTNode, cst.CSTNode]]]:
    """(key, key node, value node) of each pair when `node` is
    `for k, v in [("a", x), ("b", y)]` or `for k, v in {"a": x}.items()` with
    literal string keys and a body that does not rebind `k`; else None."""
    target = node.target
    if not (isinstance(target, (cst.Tuple, cst.List)) and len(target.elements) == 2
            and all(not isinstance(e, cst.StarredElement) for e in target.elements)
            and isinstance(target.elements[0].value, cst.Name)):
        return None
    iterable = node.iter
    pairs: List[Tuple[str, cst.CSTNode, cst.CSTNode]] = []
    if isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Attribute) \
            and iterable.func.attr.value == "items" and not iterable.args \
            and isinstance(iterable.func.value, cst.Dict):
        for element in iterable.func.value.elements:
            if not isinstance(element, cst.DictElement):
                return None
            key = string_value(element.key)
            if key is None:
                return None
            pairs.append((key, element.key, element.value))
    elif isinstance(iterable, (cst.List, cst.Tuple)):
        for element in iterable.elements:
            pair = element.value
            if isinstance(element, cst.StarredElement) or not isinstance(
                    pair, (cst.Tuple, cst.List)) or len(pair.elements) != 2 \
                    or any(isinstance(e, cst.StarredElement) for e in pair.elements):
                return None
            key = string_value(pair.elements[0].value)
            if key is None:
                return None
            pairs.append((key, pair.elements[0].value, pair.elements[1].value))
    else:
        return None
    if not pairs or len(pairs) > _MAX_PAIRS or _rebinds(node.body, target.elements[0].value.value):
        return None
    return pairs


def _rebinds(body: cst.CSTNode, name: str) -> bool:
    """Does `body` assign `name` (a target, a nested loop's target, `del`)?"""
    stack: List[cst.CSTNode] = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign)):
            if name in {n.value for n in _names_in(node.target)}:
                return True
        if isinstance(node, (cst.For, cst.CompFor)) and name in {
                n.value for n in _names_in(node.target)}:
            return True
        if isinstance(node, cst.NamedExpr) and isinstance(node.target, cst.Name) \
                and node.target.value == name:
            return True
        stack.extend(iter_children(node))
    return False


def _names_in(node: cst.CSTNode) -> Iterator[cst.Name]:
    if isinstance(node, cst.Name):
        yield node
    elif isinstance(node, (cst.Tuple, cst.List)):
        for element in node.elements:
            yield from _names_in(element.value)


def chain_calls(call: cst.Call) -> FrozenSet[cst.CSTNode]:
    """`call` and the calls of the chain it ends (`q.eq(...).single().execute()`)."""
    found = []
    node: cst.CSTNode = call
    while isinstance(node, (cst.Call, cst.Attribute, cst.Subscript)):
        if isinstance(node, cst.Call):
            found.append(node)
            node = node.func
        else:
            node = node.value
    return frozenset(found)


_COPIES = frozenset({"list", "dict", "tuple"})


def lookup_call(node: cst.CSTNode, defs, depth: int = 4) -> Optional[cst.Call]:
    """The one call whose result `node` is (or is read from): `row`, `res.data[0]`,
    `await db.select_one(...)`, following names through their reaching
    definitions; None when the value may come from several calls or from
    anything else (a `None` initialiser does not count: a found row is not None)."""
    while True:
        if isinstance(node, (cst.Attribute, cst.Subscript)):
            node = node.value
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Name) \
                and node.func.value in _COPIES and len(node.args) == 1 and not node.args[0].star:
            node = node.args[0].value  # `list(res.data)`, `dict(res.data[0])`: the same rows
        elif isinstance(node, cst.BooleanOperation) and isinstance(node.operator, cst.Or) \
                and isinstance(node.right, (cst.List, cst.Dict, cst.Tuple)) \
                and not getattr(node.right, "elements", ()):
            node = node.left  # `res.data or []`
        else:
            break
    if isinstance(node, cst.Await):
        node = node.expression
    if isinstance(node, cst.Call):
        return node
    if not isinstance(node, cst.Name) or depth == 0:
        return None
    found: Optional[cst.Call] = None
    for origin in defs.get(node.value, ()):
        if origin.kind != "expr" or origin.node is None:
            return None
        if isinstance(origin.node, cst.Name) and origin.node.value == "None":
            continue
        call = lookup_call(origin.node, origin.defs or {}, depth - 1)
        if call is None or (found is not None and call is not found):
            return None
        found = call
    return found


def _none_comparison(test: cst.CSTNode) -> Optional[Tuple[str, bool]]:
    """`x is None` -> ("x", True); `x is not None` / `x != None` -> ("x", False)."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    if not isinstance(test.left, cst.Name):
        return None
    target = test.comparisons[0]
    if not (isinstance(target.comparator, cst.Name) and target.comparator.value == "None"):
        return None
    if isinstance(target.operator, (cst.Is, cst.Equal)):
        return test.left.value, True
    if isinstance(target.operator, (cst.IsNot, cst.NotEqual)):
        return test.left.value, False
    return None


def _equality(test: cst.CSTNode) -> Optional[Tuple[Tuple[cst.CSTNode, cst.CSTNode], bool]]:
    """`a == b` -> ((a, b), True); `a != b` -> ((a, b), False)."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    if isinstance(target.operator, cst.Equal):
        return (test.left, target.comparator), True
    if isinstance(target.operator, cst.NotEqual):
        return (test.left, target.comparator), False
    return None


def _column_of(node: cst.CSTNode) -> Optional[Tuple[cst.CSTNode, str]]:
    """`row["col"]`, `row.get("col")`, `row.col` -> (row, "col")."""
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 \
            and isinstance(node.slice[0].slice, cst.Index):
        column = string_value(node.slice[0].slice.value)
        return (node.value, column) if column else None
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
            and node.func.attr.value == "get" and node.args:
        column = string_value(node.args[0].value)
        return (node.func.value, column) if column else None
    if isinstance(node, cst.Attribute) and isinstance(node.value, (cst.Name, cst.Subscript)):
        return node.value, node.attr.value
    return None


def _held_comparisons(test: cst.CSTNode, truth: bool) -> FrozenSet[cst.CSTNode]:
    """The `==`/`!=` comparisons in `test` known to hold when `test` is
    `truth` (through `not`, `and`, `or`, as `refine` puts them in `found`)."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return _held_comparisons(test.expression, not truth)
    if isinstance(test, cst.BooleanOperation):
        if isinstance(test.operator, cst.And) == truth:  # `a and b` true, `a or b` false
            return _held_comparisons(test.left, truth) | _held_comparisons(test.right, truth)
        return frozenset()
    equality = _equality(test)
    if equality is not None and truth == equality[1]:
        return frozenset({test})
    return frozenset()


def _base_name(node: cst.CSTNode) -> Optional[str]:
    """`agent`, `res.data[0]`, `row.parent` -> the variable it starts from."""
    while isinstance(node, (cst.Subscript, cst.Attribute)):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _names(nodes: Sequence[cst.CSTNode], name: str) -> bool:
    """Does any of `nodes` mention the variable `name`?"""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name) and node.value == name:
            return True
        stack.extend(node.children)
    return False


def _row_comparisons(test: cst.CSTNode) -> List[Tuple[cst.CSTNode, str, cst.CSTNode,
                                                     cst.CSTNode]]:
    """(row, column, the other side, the comparison) for each
    `row["col"] ==/!= value` in `test` (through `not`, `and`, `or`)."""
    found = []
    stack = [test]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.BooleanOperation):
            stack.extend((node.left, node.right))
        elif isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
            stack.append(node.expression)
        else:
            equality = _equality(node)
            if equality is None:
                continue
            left, right = equality[0]
            for side, other in ((left, right), (right, left)):
                column = _column_of(side)
                if column is not None:
                    found.append((column[0], column[1], other, node))
    return found
