"""Scoping helpers and the reviewer's manual checklist.

A scoping helper loads a row by its id *and* the tenant key and raises when
nothing comes back (`_get_agent_or_404(db, agent_id, clerk_org_id)`): an id
that went through it is verified for the caller's organization. They are
proposed as comments, for the reviewer to know which loads the code trusts.

The checklist holds what no static tool can see, like the environment section
of a hand-made review: the token carries the active organization, webhook
secrets are set, migrations are applied, RLS policies match the tenant column.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import List, Optional

from .auth import AuthGuess
from .source import ProjectSource, called_name, last

_NOT_FOUND = re.compile(r"404|NOT_FOUND|NotFound|DoesNotExist|Http404|Missing", re.I)
_SECRET = re.compile(r"\b[A-Z][A-Z0-9_]*(?:WEBHOOK_SECRET|SIGNING_SECRET|SIGNING_KEY|"
                     r"WEBHOOK_KEY)\b")


@dataclass
class Helper:
    name: str
    where: str
    evidence: str


def _raises_when_missing(node: ast.AST) -> bool:
    for inner in ast.walk(node):
        if isinstance(inner, ast.If) and isinstance(inner.test, ast.UnaryOp) and \
                isinstance(inner.test.op, ast.Not):
            for statement in inner.body:
                if isinstance(statement, ast.Raise) and _NOT_FOUND.search(ast.dump(statement)):
                    return True
                if isinstance(statement, ast.Expr) and last(called_name(statement.value)) == \
                        "abort" and _NOT_FOUND.search(ast.dump(statement)):
                    return True
    return False


def _membership_check(node: ast.AST, tenant_key: str) -> Optional[str]:
    """A permission class or decorator that looks the caller up in the
    organization the URL names: a lookup keyed by the tenant (`organization__slug
    =slug`) and the caller (`user=request.user`), with a URL kwarg
    (`view.kwargs`, `kwargs.get("slug")`) in it. The evidence, or None."""
    stem = tenant_key[:-3] if tenant_key.endswith("_id") else tenant_key
    tenant = re.compile(rf"^{re.escape(stem)}(__\w+|_id)?$")
    text = ast.dump(node)
    if "kwargs" not in text:
        return None
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        words = [k.arg for k in call.keywords if k.arg]
        keyed = next((w for w in words if tenant.match(w)), None)
        caller = next((w for w in words if w in ("user", "user_id", "member", "member_id")
                       or w.startswith("user__")), None)
        if keyed and caller:
            model = called_name(call.func) or ""
            owner = model.split(".")[0] if ".objects." in model else model
            return (f"looks the caller up by `{keyed}` from the URL and `{caller}`"
                    + (f" (`{owner}`)" if owner else ""))
    return None


def guess_scoping_helpers(source: ProjectSource, tenant_key: Optional[str],
                          auth: Optional[AuthGuess] = None) -> List[Helper]:
    """Functions that load by id and tenant and raise when missing; and (Django)
    permission classes and auth decorators that check the caller's membership
    of the organization in the URL."""
    if not tenant_key:
        return []
    found = []
    if auth is not None:
        definitions = {}
        for file in source.code:
            for node in ast.walk(file.tree):
                if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                    definitions.setdefault(node.name, (file, node))
        for judged in auth.permission_classes + auth.decorators:
            if judged.name not in definitions:
                continue
            file, node = definitions[judged.name]
            why = _membership_check(node, tenant_key)
            if why:
                found.append(Helper(judged.name, f"{file.rel}:{node.lineno}", why))
    for file in source.code:
        for qualname, node in file.functions():
            params = [a.arg for a in node.args.args + node.args.kwonlyargs]
            ids = [p for p in params if p == "id" or (p.endswith("_id") and p != tenant_key
                                                      and "org" not in p and "tenant" not in p)]
            tenants = [p for p in params if p == tenant_key or re.search(r"org|tenant", p)]
            if not ids or not tenants or not _raises_when_missing(node):
                continue
            text = ast.dump(node)
            if tenant_key not in text and not any(t in text for t in tenants):
                continue
            found.append(Helper(qualname, f"{file.rel}:{node.lineno}",
                                f"loads by `{ids[0]}` and `{tenants[0]}`, raises when missing"))
    return found


def default_checklist(source: ProjectSource, tenant_key: Optional[str], auth: AuthGuess,
                      schema_globs: List[str]) -> List[str]:
    key = f"`{tenant_key}`" if tenant_key else "the tenant key"
    # the dependency that authenticates (401) and most others go through
    through = [d for j in auth.all_auth for d in j.depends_on]
    ranked = sorted(auth.dependencies, key=lambda j: ("401" not in j.why,
                                                      -through.count(j.name), j.name))
    verifier = ranked[0].name if ranked else None
    items = [f"Identity provider: the session token (JWT) carries the caller's active "
             f"organization, which {f'`{verifier}`' if verifier else 'the auth dependency'} "
             f"returns as {key}."]
    secrets = sorted({m.group(0) for f in source.code for m in _SECRET.finditer(f.text)})
    if secrets or any("webhook" in f.rel.lower() for f in source.code):
        items.append("Webhooks: every endpoint verifies the provider's signature and its secret "
                     "is set in production" + (f" ({', '.join(f'`{s}`' for s in secrets)})"
                                               if secrets else "") + ".")
    if schema_globs:
        items.append("Migrations: every file in " + ", ".join(f"`{g}`" for g in schema_globs)
                     + " is applied to the production database (the checks read the files).")
    items.append(f"Row-level security: policies on tenant tables compare {key} with the "
                 "organization in the token (or enforce the same rule as the application).")
    return items
