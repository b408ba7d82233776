"""What `init` learns of a Django project from one file (stdlib `ast`): ORM
use as evidence, a tenant model (a model named like a tenant that other
models point at) and its foreign key, and permission classes (auth). Tasks
and management commands are init's own system-context guesses. Kept apart
from init.py, which calls `top_lines` / `db_lines` for the config text."""
from __future__ import annotations

import ast

from .base import Detection

_TENANT_NAMES = ("Organization", "Organisation", "Workspace", "Team", "Account", "Tenant",
                 "Company")


def detect(tree: ast.Module, text: str) -> Detection:
    found = Detection()
    if "django" not in text and "rest_framework" not in text:
        return found  # SQLAlchemy's `db.Model` and other `.objects` are not Django's
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "objects":
            found.evidence += 1
        elif isinstance(node, ast.ClassDef):
            bases = [getattr(b, "attr", getattr(b, "id", "")) for b in node.bases]
            if "BasePermission" in bases:
                found.settings.setdefault("django:auth", []).append(node.name)
            if "Model" in bases and node.name in _TENANT_NAMES:
                found.settings.setdefault("django:tenant-model", []).append(node.name)
                found.evidence += 1
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and \
                getattr(node.value.func, "attr", "") in ("ForeignKey", "OneToOneField"):
            target = node.value.args[0] if node.value.args else None
            name = getattr(target, "id", None) or (
                target.value.rsplit(".", 1)[-1] if isinstance(target, ast.Constant)
                and isinstance(target.value, str) else None)
            if name in _TENANT_NAMES and isinstance(node.targets[0], ast.Name):
                found.settings.setdefault("django:tenant-key", []).append(node.targets[0].id)
    return found


def top_lines(lines: list, settings) -> list:
    """The config lines so far, with the Django model's tenant foreign key as
    `tenant-key` (init's own auth guess lists the DRF permission classes in
    `auth-dependencies`, and those that check the URL's organization as
    commented `scoping-helpers`)."""
    keys = settings.get("django:tenant-key") or []
    result = []
    for line in lines:
        if keys and line.startswith("tenant-key = "):
            key = max(sorted(set(keys)), key=keys.count)
            line = f'tenant-key = "{key}"  # the foreign key to the tenant model'
        result.append(line)
    return result


def db_lines(settings) -> list:
    """`[db]` keys: the tenant model."""
    lines = []
    if settings.get("django:tenant-model"):
        lines.append(f'tenant-model = "{settings["django:tenant-model"][0]}"')
    return lines
