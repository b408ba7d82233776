"""What `init` learns of a Django project from one file (stdlib `ast`): ORM
use as evidence, a tenant model (a model named like a tenant that other
models point at) and its key, permission classes (auth), and task /
management-command paths (system contexts). Kept apart from init.py, which
renders `settings` into the starting config."""
from __future__ import annotations

import ast

from .base import Detection

_TENANT_NAMES = ("Organization", "Organisation", "Workspace", "Team", "Account", "Tenant",
                 "Company")


def detect(tree: ast.Module, text: str) -> Detection:
    found = Detection()
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
        elif isinstance(node, ast.FunctionDef) and any(
                getattr(d, "id", getattr(d, "attr", "")) in ("shared_task", "task")
                or isinstance(d, ast.Call) and getattr(d.func, "attr", getattr(
                    d.func, "id", "")) in ("shared_task", "task")
                for d in node.decorator_list):
            found.settings.setdefault("django:tasks", []).append(node.name)
    return found


def top_lines(detection: Detection) -> list:
    """Top-level keys for a Django project (the tenant FK and permission classes)."""
    settings = detection.settings
    lines = []
    if settings.get("django:tenant-key"):
        key = max(set(settings["django:tenant-key"]), key=settings["django:tenant-key"].count)
        lines.append(f'tenant-key = "{key}"  # the foreign key to the tenant model')
    if settings.get("django:auth"):
        names = ", ".join(f'"{n}"' for n in sorted(set(settings["django:auth"])))
        lines.append(f"auth-dependencies = [{names}]  # DRF permission classes")
    return lines


def db_lines(detection: Detection) -> list:
    """`[db]` keys: the tenant model, and the membership permission classes as
    candidate scoping helpers (commented: only the user knows which check membership)."""
    settings = detection.settings
    lines = []
    if settings.get("django:tenant-model"):
        lines.append(f'tenant-model = "{settings["django:tenant-model"][0]}"')
    if settings.get("django:auth"):
        names = ", ".join(f'"{n}"' for n in sorted(set(settings["django:auth"])))
        lines.append(f"# scoping-helpers = [{names}]  # those that check membership "
                     "of the organization in the URL")
    return lines
