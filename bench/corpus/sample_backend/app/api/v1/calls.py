"""Calls: list, create, get, transcript."""
from typing import Optional
from uuid import uuid4

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from app.core.auth import get_current_user, get_db
from app.core.database import DatabaseService
from app.core.exceptions import NotFoundError

router = APIRouter(prefix="/calls", tags=["calls"])


class CallIn(BaseModel):
    agent_id: str
    to_number: str
    metadata: dict = {}


@router.get("")
async def list_calls(status: Optional[str] = None, agent_id: Optional[str] = None,
                     current_user: dict = Depends(get_current_user),
                     db: DatabaseService = Depends(get_db)):
    filters = {"clerk_org_id": current_user["clerk_org_id"]}
    if status:
        filters["status"] = status
    if agent_id:
        filters["agent_id"] = agent_id
    return db.select("calls", filters, order="-started_at")


@router.post("")
async def create_call(body: CallIn, current_user: dict = Depends(get_current_user),
                      db: DatabaseService = Depends(get_db)):
    clerk_org_id = current_user["clerk_org_id"]
    agent = db.select_one("agents", {"id": body.agent_id, "clerk_org_id": clerk_org_id})
    if not agent:
        raise NotFoundError("agent")
    call = {"id": str(uuid4()), "agent_id": agent["id"], "to_number": body.to_number,
            "status": "queued", "metadata": body.metadata, "clerk_org_id": clerk_org_id}
    return db.insert("calls", call)


@router.get("/{call_id}")
async def get_call(call_id: str, current_user: dict = Depends(get_current_user),
                   db: DatabaseService = Depends(get_db)):
    call = db.get_call(call_id, org_id=current_user["clerk_org_id"])
    if not call:
        raise NotFoundError("call")
    return call


@router.get("/{call_id}/transcript")
async def get_transcript(call_id: str, current_user: dict = Depends(get_current_user),
                         db: DatabaseService = Depends(get_db)):
    call = db.get_call(call_id)  # expect: ORG106
    if not call:
        raise NotFoundError("call")
    return db.select("transcript_segments", {"call_id": call["id"]}, order="offset_ms")


@router.get("/search/by-number")
async def search_by_number(number: str = Query(...), current_user: dict = Depends(get_current_user),
                           db: DatabaseService = Depends(get_db)):
    filters = {}
    filters["to_number"] = number
    return db.select("calls", filters)  # expect: ORG101


@router.delete("/{call_id}")
async def delete_call(call_id: str, current_user: dict = Depends(get_current_user),
                      db: DatabaseService = Depends(get_db)):
    filters = {"id": call_id, "clerk_org_id": current_user["clerk_org_id"]}
    db.delete("transcript_segments", {"call_id": call_id, "clerk_org_id": current_user["clerk_org_id"]})
    db.delete("calls", filters)
    return {"deleted": call_id}
