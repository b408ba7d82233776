"""Where CI tools expect paths to start: the repository (the GitHub Actions
workspace, else the current directory), which may lie above the project root
that finding paths are relative to."""
from __future__ import annotations

import os
from typing import Mapping, Tuple


def workspace(root: str, environ: Mapping[str, str]) -> Tuple[str, str]:
    """(base directory, prefix for root-relative paths). Outside the
    workspace the project root itself is the base."""
    base = os.path.abspath(environ.get("GITHUB_WORKSPACE") or os.getcwd())
    relative = os.path.relpath(os.path.abspath(root), base)
    if relative == "." or relative.startswith(".."):
        return os.path.abspath(root), ""
    return base, relative.replace(os.sep, "/") + "/"
