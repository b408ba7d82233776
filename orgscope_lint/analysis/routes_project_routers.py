"""FastAPI routers made by the project: a subclass or a factory of `APIRouter`.

    from polar.routing import APIRouter       # `APIRouter = get_api_router_class(...)`
    router = APIRouter(prefix="/files")

    class VersionedRouter(fastapi.APIRouter): ...
    def make_router(**kw) -> APIRouter: ...
    router = make_router(prefix="/v2")

A constructor still called `APIRouter` is a router wherever it comes from (a
project subclass or factory that keeps the name); in its own module, a class
derived from `APIRouter` and a function annotated to return one are router
constructors too. (A subclass or factory under another name, imported from
another module, is not seen: that needs a project pre-pass.)
"""
from __future__ import annotations

from typing import Optional

import libcst as cst

from .syntax import annotation_names, dotted


def _last(name: Optional[str]) -> str:
    return name.rsplit(".", 1)[-1] if name else ""


def project_router_kind(info, module: cst.Module, func: Optional[str]) -> Optional[str]:
    """"fastapi" when `func` constructs a router the project defines, else None."""
    name = _last(func)
    if not name:
        return None
    if name == "APIRouter":
        return "fastapi"
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef) and stmt.name.value == name:
            if any(_last(dotted(b.value)) == "APIRouter" for b in stmt.bases):
                return "fastapi"
        elif isinstance(stmt, cst.FunctionDef) and stmt.name.value == name \
                and stmt.returns is not None:
            if any(_last(n) == "APIRouter" for n in annotation_names(stmt.returns.annotation)):
                return "fastapi"
    return None
