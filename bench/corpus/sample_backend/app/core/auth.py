"""Clerk JWT verification and the current-user dependency."""
from typing import Any, Dict, Optional

import jwt
from fastapi import Depends, Header, HTTPException, status

from app.core.config import settings
from app.core.database import DatabaseService, get_admin_db


def verify_clerk_jwt(token: str) -> Dict[str, Any]:
    try:
        claims = jwt.decode(token, options={"verify_signature": False}, issuer=settings.clerk_issuer)
    except jwt.PyJWTError as exc:
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail=str(exc))
    org_id = claims.get("org_id")
    claims["_effective_org_id"] = org_id or claims.get("sub")
    return claims


async def get_current_user(authorization: Optional[str] = Header(None)) -> Dict[str, Any]:
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="missing token")
    claims = verify_clerk_jwt(authorization.removeprefix("Bearer "))
    admin_db = get_admin_db()
    user = admin_db.select_one("users", {"clerk_user_id": claims["sub"]})
    return {
        "user_id": claims["sub"],
        "clerk_org_id": claims["_effective_org_id"],
        "client_id": (user or {}).get("client_id"),
        "role": claims.get("org_role", "member"),
    }


async def require_admin_role(current_user: dict = Depends(get_current_user)) -> dict:
    if current_user.get("role") != "org:admin":
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="admin only")
    return current_user


def get_db(current_user: dict = Depends(get_current_user)) -> DatabaseService:
    return DatabaseService(org_id=current_user["clerk_org_id"])
