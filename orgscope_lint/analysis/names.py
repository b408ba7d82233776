"""Name binding pass behind ORG301 undefined-name.

Resolves every name a module reads against the scopes Python searches, with
pyflakes' semantics (pyflakes is the yardstick: this pass must never report a
name that pyflakes does not), but without libcst metadata providers, which cost
several times the parse (DESIGN.md, cost model). The walk is iterative, so
deeply nested expressions cannot exhaust the interpreter stack, and it visits
only nodes that can read or bind a name (never whitespace or tokens).

As in pyflakes, a module is processed top to bottom; function and lambda bodies
are deferred until the module scope is complete, because a function may use a
name the module binds further down.
"""

from __future__ import annotations

import builtins
import sys
import unicodedata
from collections import deque
from dataclasses import dataclass
from typing import Dict, Optional

import libcst as cst

from ..edits import FixDraft, import_draft, render
from ..facts import ImportOptions, NameFacts, UndefinedFact
from ..model import Span


@dataclass(frozen=True)
class UndefinedName:
    name: str
    node: cst.Name
    # Set when the name was read inside a string annotation: ``node`` then comes
    # from parsing that string and is not part of the module tree, so the
    # finding must be positioned at this string literal instead.
    annotation_string: Optional[cst.BaseString] = None


@dataclass
class NameReport:
    undefined: list[UndefinedName]
    star_imports: list[str]
    defined_top_level: set[str]
    dunder_all: list[str] | None


def analyze_names(
    module: cst.Module, *, module_name: str | None = None, is_package: bool = False,
    lazy_annotations: bool | None = None,
) -> NameReport:
    """Find the names ``module`` reads but never binds, plus its exported names.
    ``lazy_annotations``: the target Python evaluates annotations only when
    asked (3.14, PEP 649/749), so a name used only in annotations is not a
    NameError and is not reported; default: as the running interpreter does."""
    binder = _Binder(module_name, is_package)
    if lazy_annotations is not None:
        binder.lazy_annotations = lazy_annotations
        binder.unevaluated_annotations = lazy_annotations
    return binder.run(module)


# Names a module can read without binding them. pyflakes uses the builtins of
# the running interpreter; the module dunders and the builtins added by newer
# Pythons are added so the result does not depend on the interpreter version.
_BUILTINS = frozenset(dir(builtins)) | {
    "__file__", "__name__", "__doc__", "__spec__", "__loader__", "__package__",
    "__path__", "__builtins__", "__annotations__", "__dict__", "__cached__",
    "WindowsError", "aiter", "anext", "EncodingWarning", "BaseExceptionGroup",
    "ExceptionGroup", "PythonFinalizationError", "_IncompleteInputError",
}
# Bound implicitly in every class body.
_CLASS_BODY_NAMES = frozenset({"__module__", "__qualname__", "__firstlineno__"})
# Python 3.14 evaluates annotations lazily, and pyflakes follows the running
# interpreter, as if every module had ``from __future__ import annotations``.
_LAZY_ANNOTATIONS = sys.version_info >= (3, 14)

_MODULE, _CLASS, _FUNCTION, _COMPREHENSION, _TYPE_PARAMS = range(5)
_BOUND, _DECLARED = 1, 2  # _DECLARED: annotated without a value (``x: int``)

Name = cst.Name
Attribute = cst.Attribute
Tuple = cst.Tuple
List = cst.List
StarredElement = cst.StarredElement
SimpleString = cst.SimpleString
ConcatenatedString = cst.ConcatenatedString
Subscript = cst.Subscript
BinaryOperation = cst.BinaryOperation

_LEAVES = frozenset(
    getattr(cst, name)
    for name in (
        "SimpleString", "Integer", "Float", "Imaginary", "Ellipsis",
        "FormattedStringText", "TemplatedStringText", "Pass", "Break",
        "Continue", "MatchSingleton",
    )
    if hasattr(cst, name)
)


class _Scope:
    __slots__ = ("kind", "names")

    def __init__(self, kind: int) -> None:
        self.kind = kind
        self.names: dict[str, int] = {}


class _Binder:
    """One module's binding pass.

    ``_exec`` runs a work stack whose items are libcst nodes (dispatched to the
    ``on_<NodeType>`` handlers) or ``(operation, argument)`` tuples; a handler
    returns the items to run next, in execution order.
    """

    def __init__(self, module_name: str | None, is_package: bool) -> None:
        self.module_name = module_name
        self.is_package = is_package
        self.module_scope = _Scope(_MODULE)
        self.stack = [self.module_scope]
        self.deferred: deque = deque()
        self.found: list = []  # (Name, annotation string or None, statement)
        self.declared_global: set[str] = set()
        self.star_imports: list[str] = []
        self.dunder_all: list[str] | None = None
        self.dunder_all_is_literal = True
        self.lazy_annotations = _LAZY_ANNOTATIONS
        self.postponed = False  # inside an annotation that is evaluated late
        # late annotations are never evaluated by the code itself (target 3.14+)
        self.unevaluated_annotations = False
        self.protected = False  # inside a ``try`` body that catches NameError
        self.saved_protected: list[bool] = []
        self.conditional = 0  # if / while / case / except bodies around us
        self.string: Optional[cst.BaseString] = None  # string annotation being read
        self.statement = None  # the statement (or clause header) being read, to sort findings
        self.handlers = {node_type: getattr(self, method) for node_type, method in _HANDLERS}
        self.STORE = self.op_store
        self.ANNOTATION = self.op_annotation
        self.COND_ENTER = (self.op_conditional, 1)
        self.COND_EXIT = (self.op_conditional, -1)
        self.EXIT_SCOPE = (self.op_exit_scope, None)
        self.ENTER_COMPREHENSION = (self.op_enter_scope, _COMPREHENSION)

    # -- driver -------------------------------------------------------------

    def run(self, module: cst.Module) -> NameReport:
        self._exec(module.body)
        while self.deferred:
            run, argument, stack, conditional, string, statement = self.deferred.popleft()
            self.stack, self.conditional, self.string = stack, conditional, string
            self.statement = statement
            self.protected = self.postponed = False
            run(argument)
        found = [f for f in self.found if _identifier(f[0]) not in self.declared_global]
        defined = {n for n, state in self.module_scope.names.items() if state == _BOUND}
        return NameReport(
            undefined=[
                UndefinedName(_identifier(node), node, string)
                for node, string, _ in _in_source_order(module, found)
            ],
            star_imports=self.star_imports,
            defined_top_level=defined | self.declared_global,
            dunder_all=self.dunder_all if self.dunder_all_is_literal else None,
        )

    def _exec(self, items) -> None:
        work = list(reversed(items))
        pop, extend = work.pop, work.extend
        handlers, load = self.handlers, self._load
        leaves, unknown = _LEAVES, self._unknown
        while work:
            item = pop()
            kind = type(item)
            if kind is Name:
                load(item)
                continue
            if kind is tuple:
                more = item[0](item[1])
            elif kind in leaves:
                continue
            else:
                handler = handlers.get(kind)
                more = handler(item) if handler is not None else unknown(item)
            if more:
                extend(reversed(more))

    def _defer(self, run, argument) -> None:
        self.deferred.append(
            (run, argument, list(self.stack), self.conditional, self.string, self.statement)
        )

    # -- bindings and lookups --------------------------------------------------

    def _load(self, node: cst.Name) -> None:
        name = node.value
        if not name.isascii():
            name = unicodedata.normalize("NFKC", name)
        class_visible = None  # pyflakes' can_access_class_vars
        for scope in reversed(self.stack):
            kind = scope.kind
            if kind == _CLASS:
                if name == "__class__":
                    return
                if class_visible is False:
                    continue
            state = scope.names.get(name)
            if state is not None:
                if state == _BOUND or self.postponed:
                    return
                continue  # ``x: int`` alone binds nothing at run time
            if class_visible is not False:
                class_visible = kind == _COMPREHENSION or kind == _TYPE_PARAMS
        if name in _BUILTINS or self.protected:
            return
        if self.postponed and self.unevaluated_annotations:
            return
        if name in _CLASS_BODY_NAMES and self.stack[-1].kind == _CLASS:
            return
        self.found.append((node, self.string, self.statement))

    def op_load(self, node: cst.Name):
        self._load(node)

    def op_bind(self, node: cst.Name):
        self.stack[-1].names[_identifier(node)] = _BOUND

    def op_declare(self, node: cst.Name):
        self.stack[-1].names.setdefault(_identifier(node), _DECLARED)

    def op_store(self, target):
        kind = type(target)
        if kind is Name:
            self.stack[-1].names[_identifier(target)] = _BOUND
            return None
        if kind is Tuple or kind is List:
            store = self.STORE
            return [(store, element.value) for element in target.elements]
        if kind is StarredElement:
            return ((self.STORE, target.value),)
        return (target,)  # attribute or subscript: its object and index are read

    def op_walrus(self, target):
        if type(target) is not Name:
            return (target,)
        for scope in reversed(self.stack):
            if scope.kind != _COMPREHENSION:
                break
        scope.names[_identifier(target)] = _BOUND
        return None

    def op_delete(self, target):
        kind = type(target)
        if kind is Tuple or kind is List:
            return [(self.op_delete, element.value) for element in target.elements]
        if kind is not Name:
            return (target,)
        if self.conditional:  # may not run: keep the binding (pyflakes does too)
            return None
        scope = self.stack[-1]
        name = _identifier(target)
        if name in scope.names:
            del scope.names[name]
        elif not (self.protected or (scope is self.module_scope and name in _BUILTINS)):
            self.found.append((target, self.string, self.statement))
        return None

    def op_enter_scope(self, kind: int):
        self.stack.append(_Scope(kind))

    def op_exit_scope(self, _):
        self.stack.pop()

    def op_conditional(self, step: int):
        self.conditional += step

    # -- annotations -----------------------------------------------------------

    def op_annotation(self, annotation):
        if self.lazy_annotations:
            self._defer(self._read_annotation, annotation)
        else:
            self._walk_annotation(annotation, postponed=False)

    def op_deferred_annotation(self, annotation):
        self._defer(self._read_annotation, annotation)

    def _read_annotation(self, annotation) -> None:
        self._walk_annotation(annotation, postponed=True)

    def op_type_alias_value(self, value):
        saved, self.postponed = self.postponed, self.lazy_annotations
        self._exec((value,))
        self.postponed = saved

    def _walk_annotation(self, annotation, postponed: bool) -> None:
        """Read a type expression: strings in it are forward references."""
        saved, self.postponed = self.postponed, postponed
        work = [annotation]
        while work:
            node = work.pop()
            kind = type(node)
            if kind is Name:
                self._load(node)
            elif kind is Attribute:
                work.append(node.value)
            elif kind is Subscript:
                values = [element.slice for element in node.slice]
                special = _special_form(node.value)
                if special == "Literal":
                    self._read_plain(values)
                    values = []
                elif special == "Annotated":
                    if len(values) == 1 and type(values[0]) is cst.Index:
                        inner = values[0].value
                        if type(inner) is Tuple and len(inner.elements) > 1:
                            values = [element.value for element in inner.elements]
                    self._read_plain(values[1:])  # metadata, not types
                    values = values[:1]
                work.extend(reversed(values))
                work.append(node.value)
            elif kind is cst.Index:
                work.append(node.value)
            elif kind is BinaryOperation:
                work.append(node.right)
                work.append(node.left)
            elif kind is Tuple or kind is List:
                work.extend(reversed([element.value for element in node.elements]))
            elif kind is SimpleString or kind is ConcatenatedString:
                anchor = node if self.string is None else self.string
                self._defer(self._read_string_annotation, (anchor, node))
            elif kind not in _LEAVES:
                # Calls, slices and the like: names in them are read as usual;
                # strings in them are not parsed (pyflakes would, we stay quiet).
                self._exec((node,))
        self.postponed = saved

    def _read_plain(self, nodes) -> None:
        saved, self.postponed = self.postponed, False
        self._exec(nodes)
        self.postponed = saved

    def _read_string_annotation(self, argument) -> None:
        anchor, node = argument
        try:
            text = node.evaluated_value
        except Exception:  # an unusual literal (or absurdly long concatenation)
            return
        if type(text) is not str:
            return
        try:
            expression = cst.parse_expression(text)
        except Exception:  # not an expression: pyflakes reports a syntax error, not names
            return
        self.string = anchor
        self._walk_annotation(expression, postponed=True)
        self.string = None

    # -- functions, classes, type parameters ---------------------------------------

    def op_type_parameters(self, parameters):
        self.stack.append(_Scope(_TYPE_PARAMS))
        for parameter in parameters.params:
            inner = parameter.param
            self.op_bind(inner.name)
            bound = getattr(inner, "bound", None)
            if bound is not None:
                self._defer(self._read_annotation, bound)
            default = getattr(parameter, "default", None)
            if default is not None:
                self._defer(self._read_annotation, default)

    def op_defer_function(self, node):
        self._defer(self._run_function, node)

    def _run_function(self, node) -> None:
        scope = _Scope(_FUNCTION)
        for parameter in _parameters(node.params):
            scope.names[_identifier(parameter.name)] = _BOUND
        self.stack.append(scope)
        self._exec((node.body,))

    def on_FunctionDef(self, node):
        self.statement = node
        items = [decorator.decorator for decorator in node.decorators]
        type_parameters = getattr(node, "type_parameters", None)
        if type_parameters is not None:
            items.append((self.op_type_parameters, type_parameters))
        parameters = _parameters(node.params)
        annotation = self.ANNOTATION
        for parameter in parameters:
            if parameter.annotation is not None:
                items.append((annotation, parameter.annotation.annotation))
        if node.returns is not None:
            items.append((annotation, node.returns.annotation))
        items.extend(p.default for p in parameters if p.default is not None)
        items.append((self.op_defer_function, node))
        if type_parameters is not None:
            items.append(self.EXIT_SCOPE)
        items.append((self.op_bind, node.name))
        return items

    def on_Lambda(self, node):
        items = [p.default for p in _parameters(node.params) if p.default is not None]
        items.append((self.op_defer_function, node))
        return items

    def on_ClassDef(self, node):
        self.statement = node
        items = [decorator.decorator for decorator in node.decorators]
        type_parameters = getattr(node, "type_parameters", None)
        if type_parameters is not None:
            items.append((self.op_type_parameters, type_parameters))
        items.extend(arg.value for arg in node.bases)
        items.extend(arg.value for arg in node.keywords)
        items.append((self.op_enter_scope, _CLASS))
        items.append(node.body)
        items.append(self.EXIT_SCOPE)
        if type_parameters is not None:
            items.append(self.EXIT_SCOPE)
        items.append((self.op_bind, node.name))
        return items

    def on_TypeAlias(self, node):
        items = []
        if node.type_parameters is not None:
            items.append((self.op_type_parameters, node.type_parameters))
        items.append((self.op_deferred_annotation, node.value))
        if node.type_parameters is not None:
            items.append(self.EXIT_SCOPE)
        items.append((self.op_bind, node.name))
        return items

    # -- statements ----------------------------------------------------------------

    def on_SimpleStatementLine(self, node):
        self.statement = node
        return node.body

    def on_block(self, node):
        return node.body

    def on_clause(self, node):  # else / finally
        self.statement = node
        return (node.body,)

    def on_Expr(self, node):
        if self.stack[-1] is self.module_scope:
            self._note_all_call(node.value)
        return (node.value,)

    def on_Assign(self, node):
        if self.stack[-1] is self.module_scope:
            for target in node.targets:
                if _is_name(target.target, "__all__"):
                    self._note_all(node.value, extend=False)
        store = self.STORE
        items = [node.value]
        items.extend((store, target.target) for target in node.targets)
        return items

    def on_AnnAssign(self, node):
        target, value = node.target, node.value
        annotation = node.annotation.annotation
        items = [(self.ANNOTATION, annotation)]
        if value is not None:
            if self.stack[-1] is self.module_scope and _is_name(target, "__all__"):
                self._note_all(value, extend=False)
            if _special_form(annotation) == "TypeAlias":
                items.append((self.op_type_alias_value, value))
            else:
                items.append(value)
            items.append((self.STORE, target))
        elif type(target) is Name:
            items.append((self.op_declare, target))
        else:
            items.append(target)
        return items

    def on_AugAssign(self, node):
        target = node.target
        if type(target) is not Name:
            return (node.value, (self.STORE, target))
        if (
            target.value == "__all__"
            and self.stack[-1] is self.module_scope
            and type(node.operator) is cst.AddAssign
        ):
            self._note_all(node.value, extend=True)
        return ((self.op_load, target), node.value, (self.STORE, target))

    def on_Return(self, node):
        return (node.value,) if node.value is not None else None

    def on_Raise(self, node):
        items = []
        if node.exc is not None:
            items.append(node.exc)
        if node.cause is not None:
            items.append(node.cause.item)
        return items

    def on_Assert(self, node):
        return (node.test,) if node.msg is None else (node.test, node.msg)

    def on_Del(self, node):
        return ((self.op_delete, node.target),)

    def on_Import(self, node):
        names = self.stack[-1].names
        for alias in node.names:
            if alias.asname is not None:
                names[_identifier(alias.asname.name)] = _BOUND
            else:
                root = alias.name
                while type(root) is Attribute:
                    root = root.value
                names[_identifier(root)] = _BOUND
        return None

    def on_ImportFrom(self, node):
        if isinstance(node.names, cst.ImportStar):
            if self.stack[-1] is self.module_scope:
                self.star_imports.append(self._absolute_module(node))
            return None
        if not node.relative and _is_name(node.module, "__future__"):
            if any(_is_name(alias.name, "annotations") for alias in node.names):
                self.lazy_annotations = True
        names = self.stack[-1].names
        for alias in node.names:
            bound = alias.asname.name if alias.asname is not None else alias.name
            names[_identifier(bound)] = _BOUND
        return None

    def on_Global(self, node):
        # pyflakes drops every undefined-name report of a name declared global
        # or nonlocal anywhere below module level.
        if self.stack[-1] is not self.module_scope:
            self.declared_global.update(_identifier(item.name) for item in node.names)
        return None

    def on_If(self, node):
        self.statement = node
        items = [node.test, self.COND_ENTER, node.body]
        if node.orelse is not None:
            items.append(node.orelse)
        items.append(self.COND_EXIT)
        return items

    on_While = on_If

    def on_For(self, node):
        self.statement = node
        items = [node.iter, (self.STORE, node.target), node.body]
        if node.orelse is not None:
            items.append(node.orelse)
        return items

    def on_With(self, node):
        self.statement = node
        items = []
        for item in node.items:
            items.append(item.item)
            if item.asname is not None:
                items.append((self.STORE, item.asname.name))
        items.append(node.body)
        return items

    def on_Try(self, node):
        self.statement = node
        items = [(self.op_enter_try, _catches_name_error(node.handlers)), node.body]
        items.append((self.op_exit_try, None))
        items.extend(node.handlers)
        if node.orelse is not None:
            items.append(node.orelse)
        if node.finalbody is not None:
            items.append(node.finalbody)
        return items

    def op_enter_try(self, catches_name_error: bool):
        self.saved_protected.append(self.protected)
        self.protected = self.protected or catches_name_error

    def op_exit_try(self, _):
        self.protected = self.saved_protected.pop()

    def on_ExceptHandler(self, node):
        self.statement = node
        items = []
        cell = None
        if node.name is not None and type(node.name.name) is Name:
            cell = [_identifier(node.name.name), None]
            items.append((self.op_bind_exception, cell))
        if node.type is not None:
            items.append(node.type)
        items += (self.COND_ENTER, node.body, self.COND_EXIT)
        if cell is not None:
            items.append((self.op_unbind_exception, cell))
        return items

    def op_bind_exception(self, cell):
        names = self.stack[-1].names
        cell[1] = names.pop(cell[0], None)
        names[cell[0]] = _BOUND

    def op_unbind_exception(self, cell):
        # ``except E as e`` deletes ``e`` when the handler ends.
        names = self.stack[-1].names
        names.pop(cell[0], None)
        if cell[1] is not None:
            names[cell[0]] = cell[1]

    def on_Match(self, node):
        self.statement = node
        return [node.subject, *node.cases]

    def on_MatchCase(self, node):
        self.statement = node
        items = [node.pattern]
        if node.guard is not None:
            items.append(node.guard)
        items += (self.COND_ENTER, node.body, self.COND_EXIT)
        return items

    # -- match patterns ----------------------------------------------------------------

    def on_MatchAs(self, node):
        items = []
        if node.name is not None:
            items.append((self.op_bind, node.name))
        if node.pattern is not None:
            items.append(node.pattern)
        return items

    def on_MatchStar(self, node):
        return ((self.op_bind, node.name),) if node.name is not None else None

    def on_MatchMapping(self, node):
        items = [(self.op_bind, node.rest)] if node.rest is not None else []
        items.extend(node.elements)
        return items

    def on_MatchMappingElement(self, node):
        return (node.key, node.pattern)

    def on_MatchValue(self, node):
        return (node.value,)

    def on_MatchSequence(self, node):
        return node.patterns

    def on_MatchClass(self, node):
        return [node.cls, *node.patterns, *node.kwds]

    def on_MatchSequenceElement(self, node):
        return (node.value,)

    def on_pattern_element(self, node):  # keyword and ``|`` elements
        return (node.pattern,)

    # -- expressions -------------------------------------------------------------------

    def on_Attribute(self, node):
        return (node.value,)

    def on_Subscript(self, node):
        return [node.value, *[element.slice for element in node.slice]]

    def on_Index(self, node):
        return (node.value,)

    def on_Slice(self, node):
        return [part for part in (node.lower, node.upper, node.step) if part is not None]

    def on_Call(self, node):
        return [node.func, *[arg.value for arg in node.args]]

    def on_binary(self, node):
        return (node.left, node.right)

    def on_UnaryOperation(self, node):
        return (node.expression,)

    on_Await = on_UnaryOperation

    def on_Comparison(self, node):
        return [node.left, *[target.comparator for target in node.comparisons]]

    def on_IfExp(self, node):
        return (node.test, node.body, node.orelse)

    def on_sequence(self, node):
        return [element.value for element in node.elements]

    def on_Dict(self, node):
        items = []
        for element in node.elements:
            if type(element) is cst.DictElement:
                items.append(element.key)
            items.append(element.value)
        return items

    def on_StarredElement(self, node):
        return (node.value,)

    def on_Yield(self, node):
        value = node.value
        if value is None:
            return None
        return (value.item,) if type(value) is cst.From else (value,)

    def on_NamedExpr(self, node):
        return (node.value, (self.op_walrus, node.target))

    def on_FormattedString(self, node):
        return node.parts

    def on_FormattedStringExpression(self, node):
        if node.format_spec:
            return [node.expression, *node.format_spec]
        return (node.expression,)

    def on_ListComp(self, node):
        return self._comprehension(node.for_in, (node.elt,))

    def on_DictComp(self, node):
        return self._comprehension(node.for_in, (node.key, node.value))

    def on_StarredDictComp(self, node):
        return self._comprehension(node.for_in, (node.value,))

    def _comprehension(self, comp, results):
        # The first iterable is evaluated in the enclosing scope.
        items = [comp.iter, self.ENTER_COMPREHENSION, (self.STORE, comp.target)]
        items.extend(condition.test for condition in comp.ifs)
        comp = comp.inner_for_in
        while comp is not None:
            items.append(comp.iter)
            items.append((self.STORE, comp.target))
            items.extend(condition.test for condition in comp.ifs)
            comp = comp.inner_for_in
        items.extend(results)
        items.append(self.EXIT_SCOPE)
        return items

    def _unknown(self, node):
        """A node type this pass does not know (newer libcst): bind every name
        in it rather than risk reporting names it defines."""
        names = self.stack[-1].names
        work = [node]
        while work:
            current = work.pop()
            if type(current) is Name:
                names.setdefault(_identifier(current), _BOUND)
            else:
                work.extend(current.children)
        return None

    # -- exported names ------------------------------------------------------------

    def _note_all(self, value, extend: bool) -> None:
        names = _literal_strings(value)
        if names is None:
            self.dunder_all_is_literal = False
            names = []
        if extend and self.dunder_all is not None:
            self.dunder_all = self.dunder_all + names
        else:
            self.dunder_all = names

    def _note_all_call(self, value) -> None:
        """``__all__.extend([...])`` and ``__all__.append("x")``."""
        if type(value) is not cst.Call or type(value.func) is not Attribute:
            return
        func = value.func
        if not _is_name(func.value, "__all__") or len(value.args) != 1:
            return
        method = func.attr.value
        if method == "extend":
            self._note_all(value.args[0].value, extend=True)
        elif method == "append":
            self._note_all(cst.List([cst.Element(value.args[0].value)]), extend=True)

    def _absolute_module(self, node: cst.ImportFrom) -> str:
        module = _dotted(node.module) if node.module is not None else ""
        level = len(node.relative)
        if not level:
            return module
        package = self.module_name.split(".") if self.module_name else []
        if not self.is_package:
            package = package[:-1]
        if len(package) < level:  # unknown package, or above the top level
            return "." * level + module
        base = package[: len(package) - level + 1]
        return ".".join(base + [module] if module else base)


def _identifier(node: cst.Name) -> str:
    """Python reads identifiers NFKC-normalised: ``ｗｉｄｔｈ`` is ``width``."""
    value = node.value
    return value if value.isascii() else unicodedata.normalize("NFKC", value)


def _parameters(params: cst.Parameters) -> list:
    """Parameters in pyflakes' order (star parameters after keyword-only ones)."""
    found = [*params.posonly_params, *params.params, *params.kwonly_params]
    if isinstance(params.star_arg, cst.Param):
        found.append(params.star_arg)
    if params.star_kwarg is not None:
        found.append(params.star_kwarg)
    return found


def _is_name(node, value: str) -> bool:
    return type(node) is Name and node.value == value


def _special_form(node) -> Optional[str]:
    """``Literal`` / ``Annotated`` / ``TypeAlias``, bare or as an attribute."""
    if type(node) is Name:
        return node.value
    if type(node) is Attribute:
        return node.attr.value
    return None


def _catches_name_error(handlers) -> bool:
    for handler in handlers:
        caught = handler.type
        if type(caught) is Tuple:
            if any(_is_name(element.value, "NameError") for element in caught.elements):
                return True
        elif _is_name(caught, "NameError"):
            return True
    return False


def _dotted(node) -> str:
    parts = []
    while type(node) is Attribute:
        parts.append(node.attr.value)
        node = node.value
    parts.append(node.value)
    return ".".join(reversed(parts))


def _literal_strings(node) -> Optional[list]:
    """The strings of a list/tuple literal or a ``+`` of them, else None."""
    operands, work = [], [node]
    while work:
        current = work.pop()
        if type(current) is BinaryOperation and type(current.operator) is cst.Add:
            work.append(current.right)
            work.append(current.left)
        else:
            operands.append(current)
    names = []
    for operand in operands:
        if type(operand) not in (List, Tuple):
            return None
        for element in operand.elements:
            value = element.value
            if type(value) not in (SimpleString, ConcatenatedString):
                return None
            try:
                text = value.evaluated_value
            except Exception:  # an unusual literal (or absurdly long concatenation)
                return None
            if type(text) is not str:
                return None
            names.append(text)
    return names


def _in_source_order(module: cst.Module, found: list) -> list:
    """Sort findings by position without computing positions: by the statement
    they were read in (statements in pre-order), then, inside one statement, by
    a pre-order walk of that statement alone."""
    if len(found) < 2:
        return found
    statement_rank = {id(statement): rank for rank, statement in enumerate(_statements(module))}
    by_statement: dict[int, list] = {}
    for finding in found:
        by_statement.setdefault(id(finding[2]), []).append(finding)
    ranked = []
    for findings in by_statement.values():
        rank = statement_rank[id(findings[0][2])]
        within = _ranks_within(findings[0][2], findings) if len(findings) > 1 else {}
        for finding in findings:
            ranked.append(((rank, within.get(_anchor(finding), 0)), finding))
    ranked.sort(key=lambda pair: pair[0])
    return [finding for _, finding in ranked]


def _anchor(finding) -> int:
    node, string, _ = finding
    return id(node if string is None else string)


def _ranks_within(statement, findings) -> dict[int, int]:
    wanted = {_anchor(finding) for finding in findings}
    rank: dict[int, int] = {}
    work = [statement]
    while work and len(rank) < len(wanted):
        node = work.pop()
        key = id(node)
        if key in wanted:
            rank[key] = len(rank)
        work.extend(reversed(node.children))
    return rank


def _statements(module: cst.Module):
    """Statements and clause headers (elif, else, except, finally, case) in source order."""
    work = list(reversed(module.body))
    while work:
        statement = work.pop()
        yield statement
        work.extend(reversed(_nested_statements(statement)))


def _nested_statements(node) -> list:
    kind = type(node)
    if kind is cst.SimpleStatementLine:
        return []
    nested = []
    body = getattr(node, "body", None)
    if type(body) is cst.IndentedBlock:
        nested.extend(body.body)
    if kind is cst.Match:
        nested.extend(node.cases)
    handlers = getattr(node, "handlers", None)
    if handlers:
        nested.extend(handlers)
    for clause in (getattr(node, "orelse", None), getattr(node, "finalbody", None)):
        if clause is not None:  # elif, else, finally
            nested.append(clause)
    return nested


def _handler_table() -> list:
    aliases = {
        "on_block": ("SimpleStatementSuite", "IndentedBlock"),
        "on_clause": ("Else", "Finally"),
        "on_Global": ("Global", "Nonlocal"),
        "on_Import": ("Import", "LazyImport"),
        "on_ImportFrom": ("ImportFrom", "LazyImportFrom"),
        "on_Try": ("Try", "TryStar"),
        "on_ExceptHandler": ("ExceptHandler", "ExceptStarHandler"),
        "on_MatchSequence": ("MatchList", "MatchTuple", "MatchOr"),
        "on_pattern_element": ("MatchKeywordElement", "MatchOrElement"),
        "on_binary": ("BinaryOperation", "BooleanOperation", "ConcatenatedString"),
        "on_sequence": ("Tuple", "List", "Set"),
        "on_ListComp": ("ListComp", "SetComp", "GeneratorExp"),
        "on_FormattedString": ("FormattedString", "TemplatedString"),
        "on_FormattedStringExpression": ("FormattedStringExpression", "TemplatedStringExpression"),
    }
    table = []
    for method in dir(_Binder):
        if not method.startswith("on_"):
            continue
        for node_name in aliases.get(method, (method[3:],)):
            node_type = getattr(cst, node_name, None)
            if node_type is not None:
                table.append((node_type, method))
    return table


_HANDLERS = _handler_table()


# --- the per-file analysis for ORG301 ---------------------------------------------

class NameAnalysis:
    """Undefined names and the module's name facts (`FileFacts.names`) for
    ORG301's project stage (star imports, import suggestions). Needs no flow
    hook: the binding pass is its own."""

    code = "ORG301"  # the only output that needs it

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.report = analyze_names(ctx.module, module_name=ctx.module_name,
                                    is_package=ctx.is_package,
                                    lazy_annotations=ctx.config.defers_annotations())
        # how each missing name could be imported (the module is chosen at project level)
        self.imports = [import_draft(ctx.module, ctx.module_name, ctx.is_package, name)
                        for name in sorted({u.name for u in self.report.undefined})]

    def hooks(self) -> list:
        return []

    def nodes(self, db) -> list:
        nodes = [u.annotation_string or u.node for u in self.report.undefined]
        for draft in self.imports:
            nodes.append(draft.anchor.node)
            nodes.extend(edit.node for option in draft.extend.values()
                         if not isinstance(option, str) for edit in option.edits)
        return nodes

    def finish(self, facts, spans) -> None:
        blank = Span(1, 1, 1, 1)
        module = self.ctx.module
        report = self.report
        facts.names = NameFacts(
            tuple(UndefinedFact(u.name, spans.get(u.annotation_string or u.node, blank),
                                " ".join(module.code_for_node(u.node).split())[:500])
                  for u in report.undefined),
            tuple(report.star_imports), tuple(sorted(report.defined_top_level)),
            tuple(report.dunder_all) if report.dunder_all is not None else None,
            tuple(_modules_imported_from(module, self.ctx.module_name, self.ctx.is_package)),
            _dynamic_namespace(self.ctx.source.text, report.dunder_all),
            self._import_options())

    def _import_options(self) -> Dict[str, ImportOptions]:
        located = self.ctx.located
        options = {}
        for draft in self.imports:
            anchor = render(FixDraft("", (draft.anchor,)), self.ctx.module, located.extents,
                            located.code)
            if isinstance(anchor, str):
                continue
            extend = {target: option if isinstance(option, str) else
                      render(option, self.ctx.module, located.extents, located.code)
                      for target, option in draft.extend.items()}
            options[draft.name] = ImportOptions(draft.name, extend, anchor.edits[0].span,
                                                draft.prefix,
                                                self.ctx.module.default_newline)
        return options


# Module-level code that creates names no static pass can see (`re._constants`
# fills its namespace with `globals().update(...)`, `turtle` with `exec`).
_DYNAMIC_MARKERS = ("globals()", "exec(", "def __getattr__", "sys.modules[__name__]", "vars()")


def _dynamic_namespace(text: str, dunder_all) -> bool:
    """Whether `from module import *` may bind names the binding pass cannot
    see (a cheap text test: it only decides when to stay silent)."""
    if dunder_all is not None:
        return False
    return "__all__" in text or any(marker in text for marker in _DYNAMIC_MARKERS)


def _modules_imported_from(module: cst.Module, module_name: str, is_package: bool) -> list:
    """Modules of the top-level `from m import a, b` statements (the ones a fix
    can extend)."""
    from .module import resolve_relative
    from .syntax import dotted
    found = []
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                base = dotted(small.module) if small.module is not None else None
                found.append(resolve_relative(module_name, is_package, len(small.relative), base))
    return found
