"""Report areas: which section of the audit report each file belongs to.

Configured `[[tool.orgscope-lint.report.sections]]` (title + path globs) win,
first match first; without them the areas follow the package layout: the
directories right below the common package (`app/core`, `app/api`, ...).
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Dict, List, Sequence

from ..config import _glob_match

# Seed-like reading order: foundations first, then the surface, then the rest.
_PREFERRED = ("core", "auth", "db", "database", "models", "api", "routes", "routers",
              "endpoints", "views", "services", "webhooks", "tasks", "workers", "jobs")
_TITLES = {"api": "API", "db": "Database access", "core": "Core", "tasks": "Background tasks",
           "workers": "Background workers", "jobs": "Background jobs"}


@dataclass
class Area:
    title: str
    base: str  # directory the item labels are relative to
    paths: List[str] = field(default_factory=list)


def assign_areas(paths: Sequence[str], sections: Sequence) -> List[Area]:
    if sections:
        return _configured(paths, sections)
    return _from_layout(paths)


def _common_dir(paths: Sequence[str]) -> str:
    dirs = [posixpath.dirname(p) for p in paths]
    if not dirs:
        return ""
    common = posixpath.commonpath(dirs) if all(dirs) else ""
    return common


def _configured(paths: Sequence[str], sections: Sequence) -> List[Area]:
    areas = [Area(section.title, "") for section in sections]
    other = Area("Other files", "")
    for path in paths:
        for section, area in zip(sections, areas):
            if any(_glob_match(path, pattern) for pattern in section.paths):
                area.paths.append(path)
                break
        else:
            other.paths.append(path)
    for area in areas + [other]:
        area.base = _common_dir(area.paths)
    return [a for a in areas + [other] if a.paths]


def _from_layout(paths: Sequence[str]) -> List[Area]:
    base = _common_dir(paths)
    groups: Dict[str, List[str]] = {}
    for path in paths:
        rest = path[len(base) + 1:] if base else path
        head, _, tail = rest.partition("/")
        groups.setdefault(head if tail else "", []).append(path)
    areas = []
    for name in sorted(groups, key=_order):
        directory = posixpath.join(base, name) if name else base
        if name:
            title = _TITLES.get(name, name.replace("_", " ").capitalize())
            title = f"{title} (`{directory}`)"
        else:
            title = f"Top-level modules (`{base}`)" if base else "Top-level modules"
        areas.append(Area(title, directory, sorted(groups[name])))
    return areas


def _order(name: str):
    if not name:
        return (2, 0, "")  # the package's own modules (main.py, ...) last
    if name in _PREFERRED:
        return (0, _PREFERRED.index(name), name)
    return (1, 0, name)
