"""Rule registry: every rule class, in code order."""
from __future__ import annotations

from typing import Dict, List, Optional, Type

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


__all__ = ["Example", "Rule", "RULES", "BY_CODE", "get_rule"]
