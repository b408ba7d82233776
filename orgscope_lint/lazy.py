"""Modules imported on first attribute use.

Config validation reads every preset's settings table on every run, warm runs
included, and a warm run must not pay for libcst (every file comes from the
result cache). Preset modules therefore reach libcst and the tree analyses
through `lazy("...")`: the real import happens the first time a per-file
analysis touches an attribute, and each attribute is then a plain lookup.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    __slots__ = ("_name", "_module", "__dict__")

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_module", None)

    def _load(self) -> ModuleType:
        module = self._module
        if module is None:
            module = importlib.import_module(self._name)
            object.__setattr__(self, "_module", module)
        return module

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._load(), attr)
        self.__dict__[attr] = value  # later lookups skip __getattr__
        return value

    def __repr__(self) -> str:
        state = "loaded" if self._module is not None else "not loaded"
        return f"<lazy module {self._name!r} ({state})>"


def lazy(name: str) -> Any:
    """`cst = lazy("libcst")`: a stand-in that imports `name` on first use."""
    return LazyModule(name)
