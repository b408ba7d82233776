"""Rule registry: every rule class, in code order."""
from __future__ import annotations

import difflib
from typing import Dict, Iterable, List, Optional, Tuple, Type

from .base import Example, Rule
from .db import (ConditionalScope, InsertWithoutTenant, UnfilteredScan, UnscopedRead,
                 UnscopedWrapperCall, UnscopedWrite)
from .names import UndefinedName
from .parse import ParseError
from .routes import (ClientTenantHeader, PrivilegedClientInRoute, TenantFromRequest,
                     UnauthenticatedRoute)
from .schema import PolicyNotTenantScoped, TableWithoutRls
from .suppression import UnusedSuppression

RULES: List[Type[Rule]] = sorted([
    ParseError, UnscopedRead, UnscopedWrite, InsertWithoutTenant, ConditionalScope,
    UnfilteredScan, UnscopedWrapperCall, UndefinedName,
    UnauthenticatedRoute, TenantFromRequest, ClientTenantHeader, PrivilegedClientInRoute,
    TableWithoutRls, PolicyNotTenantScoped,
    UnusedSuppression,
], key=lambda r: r.code)

BY_CODE: Dict[str, Type[Rule]] = {r.code: r for r in RULES}


def get_rule(code_or_name: str) -> Optional[Type[Rule]]:
    key = code_or_name.strip()
    return BY_CODE.get(key.upper()) or next((r for r in RULES if r.name == key), None)


def unknown_codes(codes: Iterable[Tuple[str, str, bool]]) -> List[str]:
    """One message per code that names no rule: `(code, where, exact)` with
    `exact` when a prefix (`ORG1`, which selects a family) is not allowed."""
    problems = []
    for code, where, exact in codes:
        known = code in BY_CODE if exact else any(c.startswith(code) for c in BY_CODE if code)
        if known:
            continue
        hint = difflib.get_close_matches(code.upper(), list(BY_CODE), n=1, cutoff=0.6)
        problems.append(f"{where}: unknown rule code {code!r}"
                        + (f" (did you mean {hint[0]}?)" if hint else "")
                        + "; see `orgscope-lint rules`")
    return problems


__all__ = ["Example", "Rule", "RULES", "BY_CODE", "get_rule", "unknown_codes"]
