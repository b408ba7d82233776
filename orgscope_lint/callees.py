"""How a call names its callee, as one file's analysis sees it: small frozen
(picklable, cacheable) values that the project stage resolves to a project
function with `resolve.Resolver`. No libcst here.

A project has one per call site, and a warm run unpickles every one of them:
they have slots (no `__dict__`) and pickle as their class and fields, which
keeps cache entries small and the garbage collector's work down."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union


class _Value:
    __slots__: tuple = ()

    def __reduce__(self):
        return type(self), tuple(getattr(self, name) for name in self.__slots__)


@dataclass(frozen=True)
class NameCallee(_Value):
    """`get_call(...)`: a global or imported name (a function, or a class: its
    constructor)."""

    __slots__ = ("name",)
    name: str


@dataclass(frozen=True)
class AttributeCallee(_Value):
    """`telephony.release(...)`: an attribute of an imported name (a module, a
    class, or a module-level instance of a class)."""

    __slots__ = ("base", "method")
    base: str
    method: str


@dataclass(frozen=True)
class SelfCallee(_Value):
    """`self.sync(...)` inside a method of `cls` (its qualified name)."""

    __slots__ = ("cls", "method")
    cls: str
    method: str


@dataclass(frozen=True)
class InstanceCallee(_Value):
    """`service = telephony.TelephonyService(); service.assign_number(...)`: a
    method of the class (as written) a local was constructed from."""

    __slots__ = ("cls", "method")
    cls: str
    method: str


@dataclass(frozen=True)
class ReceiverCallee(_Value):
    """`db.get_call(...)` on a DB receiver (an instance of a receiver class)."""

    __slots__ = ("method",)
    method: str


Callee = Union[NameCallee, AttributeCallee, SelfCallee, InstanceCallee, ReceiverCallee]
