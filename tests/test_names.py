"""Tests for the ORG301 binding pass (orgscope_lint.analysis.names)."""

import ast
import sys
import textwrap

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from libcst.metadata import MetadataWrapper, PositionProvider
from pyflakes import checker, messages

from orgscope_lint.analysis.names import NameReport, UndefinedName, analyze_names


def analyze(source: str, **kwargs) -> NameReport:
    return analyze_names(cst.parse_module(textwrap.dedent(source)), **kwargs)


def undefined(source: str, **kwargs) -> list:
    return [u.name for u in analyze(source, **kwargs).undefined]


# One snippet per shape; none of them reads an undefined name.
VALID = {
    "import": """
        import os
        import os.path
        import xml.dom.minidom
        import collections.abc as cabc
        from json import dumps as to_json
        os.getcwd(), os.path.join("a"), xml.dom, cabc.Mapping, to_json({})
    """,
    "import-fallback": """
        try:
            import simplejson as json
        except ImportError:
            import json
        json.dumps({})
    """,
    "import-in-function": """
        def f():
            import os
            from os import sep as separator
            return os.sep, separator
    """,
    "type-checking-import": """
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from app.models import Agent
        def f(agent: "Agent") -> "list[Agent]":
            return [agent]
    """,
    "function-uses-name-bound-later": """
        def f():
            return helper(CONSTANT)
        def helper(value):
            return value
        CONSTANT = 1
    """,
    "conditional-def": """
        import sys
        if sys.platform == "win32":
            def f(): return 1
        else:
            def f(): return 2
        f()
    """,
    "global": """
        def setup():
            global counter
            counter = 1
        def read():
            return counter
    """,
    "nonlocal": """
        def outer():
            total = 0
            def add(n):
                nonlocal total
                total += n
                return total
            return add
    """,
    "class-body-sees-own-names": """
        class A:
            x = 1
            y = x + 1
            def f(self, default=x):
                return default
            g = staticmethod(f)
            print(__module__, __qualname__)
    """,
    "property-setter": """
        class A:
            @property
            def value(self):
                return 1
            @value.setter
            def value(self, new):
                pass
    """,
    "method-uses-class-and-dunder-class": """
        class A:
            def f(self):
                return A, __class__, super().__init__()
    """,
    "class-keywords-and-bases": """
        import abc
        class A(abc.ABC, metaclass=abc.ABCMeta):
            pass
        class B(A):
            pass
    """,
    "comprehensions": """
        xs = [[1]]
        ys = [x * 2 for x in xs if x]
        zs = [y for x in xs for y in x if y]
        d = {k: v for k, v in {}.items()}
        s = {b for b in xs}
        g = (a for a in xs)
    """,
    "class-body-comprehension-first-iterable": """
        class A:
            xs = [1]
            ys = [x for x in xs]
    """,
    "lambda": """
        d = 1
        f = lambda a, *b, c=d, **e: (a, b, c, e)
        g = lambda: lambda x: x + d
    """,
    "walrus": """
        if (n := len("x")) > 0:
            print(n)
        [last := i for i in range(3)]
        print(last)
        def f(items):
            if any((hit := item) for item in items):
                return hit
    """,
    "except-as": """
        try:
            pass
        except (ValueError, TypeError) as error:
            print(error)
    """,
    "except-as-restores-previous-binding": """
        e = 1
        try:
            pass
        except Exception as e:
            pass
        print(e)
    """,
    "with-as": """
        with open("f") as handle, open("g") as (first, second):
            print(handle, first, second)
    """,
    "for-targets": """
        for i, (j, *k) in []:
            print(i, j, k)
        else:
            pass
        print(i)
    """,
    "augmented-assignment": """
        x = 0
        x += 1
        def f(items):
            items[0] += 1
    """,
    "match": """
        def f(p):
            match p:
                case {"k": v, **rest}:
                    return v, rest
                case [a, *others]:
                    return a, others
                case Point(x=0, y=yy) as pt:
                    return yy, pt
                case str() | bytes():
                    return None
                case _:
                    return None
        class Point:
            pass
    """,
    "match-captures-outlive-match": """
        match 1:
            case [a]:
                pass
            case b:
                pass
        print(a, b)
    """,
    "annotated-assignment": """
        x: int = 1
        y: int
        y = 2
        print(x, y)
    """,
    "future-annotations": """
        from __future__ import annotations
        def f(a: Later) -> Later:
            return a
        class Later:
            child: Later
    """,
    "string-annotation-forward-reference": """
        from typing import List
        def f(a: "Later") -> "List[Later]":
            return [a]
        class Later:
            children: List["Later"]
    """,
    "literal-strings-are-not-names": """
        from typing import Literal
        import typing
        x: Literal["not_a_name"] = "not_a_name"
        y: typing.Literal["nor_this"] = "nor_this"
    """,
    "annotated-metadata-is-not-an-annotation": """
        from typing import Annotated
        x: Annotated[int, "some words"] = 1
    """,
    "builtins-and-module-dunders": """
        print(len([]), __name__, __file__, __doc__, __spec__, __loader__,
              __package__, __path__, __builtins__, __annotations__, __dict__)
    """,
    "name-error-guard": """
        try:
            unicode
        except NameError:
            unicode = str
    """,
    "del-in-conditional-code": """
        x = 1
        if x:
            del x
        print(x)
    """,
    "del-then-rebind": """
        x = 1
        del x
        x = 2
        print(x)
    """,
    "fstrings": """
        x = 1
        print(f"{x!r:>{x}}", f"{'nested' + f'{x}'}")
    """,
    "keywords-and-attributes-are-not-reads": """
        dict(a=1).items()
        "".join([]).strip
    """,
    "locals": """
        def f(a):
            return locals()
    """,
    "type-parameters": """
        def f[T](a: T) -> T:
            return a
        class C[T]:
            def m(self) -> T: ...
        type Alias[K] = dict[K, int]
        type Forward = LaterClass
        class LaterClass:
            pass
    """,
}

# (source, the undefined names in source order)
INVALID = {
    "seed-missing-import": (
        """
        from app.core.exceptions import NotFoundError

        def export_calls(current_user, db):
            org_id = current_user.get("clerk_org_id")
            if not org_id:
                raise ValidationError("no org")
            calls = db.select("calls", {"clerk_org_id": org_id})
            if not calls:
                raise NotFoundError("no calls")
            return calls
        """,
        ["ValidationError"],
    ),
    "use-before-binding-at-module-level": ("print(x)\nx = 1\n", ["x"]),
    "class-names-invisible-in-methods": (
        """
        class A:
            limit = 10
            def f(self):
                return limit
        """,
        ["limit"],
    ),
    "class-names-invisible-in-lambdas": (
        """
        class A:
            x = 1
            f = lambda self: x
        """,
        ["x"],
    ),
    "class-name-in-own-body": ("class A:\n    me = A\n", ["A"]),
    "comprehension-variable-does-not-leak": ("[i for i in range(3)]\nprint(i)\n", ["i"]),
    "comprehension-condition": ("[x for x in range(3) if y]\n", ["y"]),
    "walrus-does-not-leak-the-loop-variable": (
        "[y := i for i in range(3)]\nprint(y, i)\n",
        ["i"],
    ),
    "except-name-unbound-after-handler": (
        """
        try:
            pass
        except Exception as err:
            pass
        print(err)
        """,
        ["err"],
    ),
    "except-type": ("try:\n    pass\nexcept MissingError:\n    pass\n", ["MissingError"]),
    "del-then-read": ("x = 1\ndel x\nprint(x)\n", ["x"]),
    "del-of-unbound-name": ("def f():\n    del missing\n", ["missing"]),
    "annotation-without-value-binds-nothing": ("x: int\nprint(x)\n", ["x"]),
    "string-annotations": (
        'def f(a: "Missing") -> "List[Other]":\n    pass\n',
        ["Missing", "List", "Other"],
    ),
    "annotated-type-is-checked": (
        'from typing import Annotated\nx: Annotated["Missing", "doc"] = 1\n',
        ["Missing"],
    ),
    "future-annotations-are-still-checked": (
        "from __future__ import annotations\ndef f(a: Missing) -> None:\n    pass\n",
        ["Missing"],
    ),
    "decorator": ("@missing_decorator\ndef f():\n    pass\n", ["missing_decorator"]),
    "base-class": ("class A(MissingBase):\n    pass\n", ["MissingBase"]),
    "default": ("def f(a=missing_default):\n    pass\n", ["missing_default"]),
    "lambda-body": ("f = lambda a: a + b\n", ["b"]),
    "lambda-default": ("f = lambda a=c: a\n", ["c"]),
    "sibling-function-locals": (
        "def f():\n    x = 1\ndef g():\n    return x\n",
        ["x"],
    ),
    "fstring": ('print(f"{missing}")\n', ["missing"]),
    "augmented-assignment-reads": ("def f():\n    total += 1\n", ["total"]),
    "store-targets-read-their-object": (
        "missing_obj.attr = 1\nmissing_map[key] = 2\n",
        ["missing_obj", "missing_map", "key"],
    ),
    "with": ("with missing_cm() as handle:\n    pass\n", ["missing_cm"]),
    "raise-from": ("raise ValueError() from missing_cause\n", ["missing_cause"]),
    "match-class-and-value-patterns": (
        """
        match 1:
            case Missing():
                pass
            case Color.RED:
                pass
        """,
        ["Missing", "Color"],
    ),
    "name-error-guard-does-not-cover-functions": (
        """
        try:
            def f():
                return missing
        except NameError:
            pass
        """,
        ["missing"],
    ),
    "dunder-class-outside-a-class": ("print(__class__)\n", ["__class__"]),
    "source-order-across-deferred-bodies": (
        "def f():\n    return late\nprint(early)\n",
        ["late", "early"],
    ),
    "source-order-everywhere": (
        """
        @dec_a
        def f(x: "StrAnn" = default_b) -> ret_c:
            return [elt_d for _ in iter_e]
        if test_f: suite_g; suite_h
        elif test_i:
            pass
        else:
            body_j
        try:
            pass
        except exc_k:
            body_l
        finally:
            body_m
        target_n[idx_o] = value_p
        lam = lambda: lam_q
        match subj_r:
            case pat_s.V if guard_t:
                body_u
        """,
        [
            "dec_a", "StrAnn", "default_b", "ret_c", "elt_d", "iter_e", "test_f", "suite_g",
            "suite_h", "test_i", "body_j", "exc_k", "body_l", "body_m", "target_n", "idx_o",
            "value_p", "lam_q", "subj_r", "pat_s", "guard_t", "body_u",
        ],
    ),
    "one-line-clauses": (
        "try: a\nexcept b: c\nelse: d\nfinally: e\nfor f in g: h\nelse: i\n",
        ["a", "b", "c", "d", "e", "g", "h", "i"],
    ),
    "type-parameters-do-not-leak": (
        "def f[T](a: T) -> T:\n    return a\nprint(T)\n",
        ["T"],
    ),
    "type-alias-value": ("type A = Missing\n", ["Missing"]),
    "star-import-names-still-reported": ('from os.path import *\njoin("a", "b")\n', ["join"]),
}

if sys.version_info < (3, 14):
    # Annotations are evaluated when the function is defined (before 3.14).
    INVALID["eager-annotation-forward-reference"] = (
        "def f(a: Later):\n    pass\nclass Later:\n    pass\n",
        ["Later"],
    )


@pytest.mark.parametrize("source", VALID.values(), ids=VALID.keys())
def test_valid(source):
    assert undefined(source) == []


@pytest.mark.parametrize("source, expected", INVALID.values(), ids=INVALID.keys())
def test_invalid(source, expected):
    assert undefined(source) == expected


def pyflakes_undefined(source: str) -> set:
    tree = ast.parse(source)
    return {
        m.message_args[0]
        for m in checker.Checker(tree).messages
        if isinstance(m, (messages.UndefinedName, messages.ImportStarUsage))
    }


def _parses_here(source: str) -> bool:
    try:
        ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return False
    return True


# pyflakes reads `ast`, so the comparison covers the snippets this interpreter
# can parse (PEP 695 snippets join in on 3.12+; their exact results are
# asserted by the VALID/INVALID tests above on every version).
ALL_SNIPPETS = {key: source for key, source in
                {**VALID, **{key: source for key, (source, _) in INVALID.items()}}.items()
                if _parses_here(source)}


@pytest.mark.parametrize("source", ALL_SNIPPETS.values(), ids=ALL_SNIPPETS.keys())
def test_never_more_than_pyflakes(source):
    source = textwrap.dedent(source)
    assert set(undefined(source)) <= pyflakes_undefined(source)


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # generated code calls literals
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_generated_programs(source):
    """Never a name pyflakes does not report; findings in source order."""
    try:
        compile(source, "<generated>", "exec")
        module = cst.parse_module(source)
    except Exception:  # valid for the grammar, not for the compiler or libcst
        return
    found = analyze_names(module).undefined
    assert {u.name for u in found} <= pyflakes_undefined(source)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    starts = [positions[u.annotation_string or u.node].start for u in found]
    assert starts == sorted(starts, key=lambda p: (p.line, p.column))


def test_reported_node_is_the_reading_name():
    module = cst.parse_module("def f():\n    return missing.attr\n")
    (found,) = analyze_names(module).undefined
    returned = module.body[0].body.body[0].body[0].value
    assert found == UndefinedName("missing", returned.value)
    assert found.node is returned.value
    assert found.annotation_string is None


def test_string_annotation_names_point_at_the_string():
    module = cst.parse_module('x: "Missing" = 1\n')
    (found,) = analyze_names(module).undefined
    assert found.name == "Missing"
    assert found.annotation_string is module.body[0].body[0].annotation.annotation


def test_unicode_identifiers_are_normalised():
    assert undefined("ｗｉｄｔｈ = 1\nprint(width)\nprint(ｈｅｉｇｈｔ)\n") == ["height"]


@pytest.mark.parametrize(
    "statement, kwargs, expected",
    [
        ("from os.path import *", {}, "os.path"),
        ("from . import *", {"module_name": "app.api.export"}, "app.api"),
        ("from .models import *", {"module_name": "app.api.export"}, "app.api.models"),
        ("from ..core import *", {"module_name": "app.api.export"}, "app.core"),
        ("from . import *", {"module_name": "app.api", "is_package": True}, "app.api"),
        ("from .x import *", {"module_name": "app.api", "is_package": True}, "app.api.x"),
        ("from .models import *", {}, ".models"),
        ("from ...core import *", {"module_name": "app.api.export"}, "...core"),
    ],
)
def test_star_imports(statement, kwargs, expected):
    assert analyze(statement + "\n", **kwargs).star_imports == [expected]


def test_star_import_in_function_is_not_module_level():
    assert analyze("def f():\n    from os import *\n").star_imports == []


def test_defined_top_level():
    report = analyze(
        """
        import os.path
        from a import b as c
        x = y = 1
        declared: int
        gone = 1
        del gone
        if os:
            maybe = 1
        def f():
            global set_later
            local = 1
        class K:
            attr = 1
        try:
            pass
        except Exception as exc:
            pass
        squares = [i * i for i in range(3)]
        """
    )
    assert report.defined_top_level == {
        "os", "c", "x", "y", "maybe", "f", "set_later", "K", "squares",
    }


@pytest.mark.parametrize(
    "source, expected",
    [
        ("x = 1\n", None),
        ("__all__ = ['a', 'b']\n", ["a", "b"]),
        ("__all__ = ('a',) + ('b',)\n", ["a", "b"]),
        ("__all__: list = ['a']\n__all__ += ['b']\n", ["a", "b"]),
        ("__all__ = ['a']\n__all__.extend(['b'])\n__all__.append('c')\n", ["a", "b", "c"]),
        ("__all__ = ['a'] + other.__all__\n", None),
        ("def f():\n    __all__ = ['local']\n", None),
    ],
)
def test_dunder_all(source, expected):
    assert analyze(source).dunder_all == expected


# Deeper than a recursive walker survives at the default recursion limit, but
# within what libcst's native parser accepts (it crashes on `a + a + ...` 10k long).
@pytest.mark.parametrize(
    "expression",
    [
        "(" + "\n".join(['"s"'] * 1_500) + ")",
        " + ".join(["a"] * 1_500),
        "a" + ".b" * 1_500,
        "a" + "[a]" * 1_500,
        "a" + "()" * 1_500,
    ],
    ids=["implicit-concatenation", "binary-chain", "attribute-chain", "subscripts", "calls"],
)
def test_deep_nesting_does_not_exhaust_the_stack(expression):
    source = f"a = 1\nx = {expression}\nprint(missing)\n"
    assert undefined(source) == ["missing"]


def test_deep_nesting_in_annotations():
    source = "a = 1\nx: " + " | ".join(["a"] * 1_500) + " | missing = 1\n"
    assert undefined(source) == ["missing"]


def test_deep_nesting_with_several_findings_in_source_order():
    source = "def f():\n    return late\nx = " + " + ".join(["a"] * 1_500) + "\n"
    assert undefined(source) == ["late"] + ["a"] * 1_500
