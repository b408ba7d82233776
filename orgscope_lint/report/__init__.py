"""Renderers: turn a `RunResult` into text. They know nothing of libcst."""
from __future__ import annotations

from typing import Callable

Renderer = Callable[..., str]


def renderer(name: str) -> Renderer:
    if name == "json":
        from .json import render
    elif name == "rich":
        from .terminal import render
    elif name == "markdown":
        from .markdown import render
    elif name == "html":
        from .html import render
    elif name == "sarif":
        from .sarif import render
    elif name == "github":
        from .github import render
    else:
        raise KeyError(name)
    return render


FORMATS = ("rich", "json", "sarif", "github", "markdown", "html")
REPORT_FORMATS = ("markdown", "html")  # the audit report, from one report model
