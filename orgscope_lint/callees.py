"""How a call names its callee, as one file's analysis sees it: small frozen
(picklable, cacheable) values that the project stage resolves to a project
function with `resolve.Resolver`. No libcst here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class NameCallee:
    """`get_call(...)`: a global or imported name (a function, or a class: its
    constructor)."""

    name: str


@dataclass(frozen=True)
class AttributeCallee:
    """`telephony.release(...)`: an attribute of an imported name (a module, a
    class, or a module-level instance of a class)."""

    base: str
    method: str


@dataclass(frozen=True)
class SelfCallee:
    """`self.sync(...)` inside a method of `cls` (its qualified name)."""

    cls: str
    method: str


@dataclass(frozen=True)
class InstanceCallee:
    """`service = telephony.TelephonyService(); service.assign_number(...)`: a
    method of the class (as written) a local was constructed from."""

    cls: str
    method: str


@dataclass(frozen=True)
class ReceiverCallee:
    """`db.get_call(...)` on a DB receiver (an instance of a receiver class)."""

    method: str


Callee = Union[NameCallee, AttributeCallee, SelfCallee, InstanceCallee, ReceiverCallee]
