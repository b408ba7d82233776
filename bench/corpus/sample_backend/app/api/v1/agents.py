"""Agents CRUD."""
from typing import Optional
from uuid import uuid4

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from app.core.auth import get_current_user, get_db
from app.core.database import DatabaseService
from app.core.exceptions import NotFoundError

router = APIRouter(prefix="/agents", tags=["agents"])


class AgentIn(BaseModel):
    name: str
    voice_id: Optional[str] = None
    prompt: str = ""
    inbound_phone_number_id: Optional[str] = None


@router.get("")
async def list_agents(current_user: dict = Depends(get_current_user),
                      db: DatabaseService = Depends(get_db)):
    clerk_org_id = current_user["clerk_org_id"]
    return db.select("agents", {"clerk_org_id": clerk_org_id}, order="-created_at")


@router.post("")
async def create_agent(body: AgentIn, current_user: dict = Depends(get_current_user),
                       db: DatabaseService = Depends(get_db)):
    clerk_org_id = current_user["clerk_org_id"]
    if body.voice_id and not db.get_voice(body.voice_id, org_id=clerk_org_id):
        raise NotFoundError("voice")
    row = {"id": str(uuid4()), "name": body.name, "prompt": body.prompt,
           "voice_id": body.voice_id, "clerk_org_id": clerk_org_id}
    return db.insert("agents", row)


@router.get("/{agent_id}")
async def get_agent(agent_id: str, current_user: dict = Depends(get_current_user),
                    db: DatabaseService = Depends(get_db)):
    agent = db.select_one("agents", {"id": agent_id, "clerk_org_id": current_user["clerk_org_id"]})
    if not agent:
        raise NotFoundError("agent")
    return agent


@router.patch("/{agent_id}")
async def update_agent(agent_id: str, body: AgentIn, current_user: dict = Depends(get_current_user),
                       db: DatabaseService = Depends(get_db)):
    clerk_org_id = current_user["clerk_org_id"]
    filters = {"id": agent_id, "clerk_org_id": clerk_org_id}
    if not db.select_one("agents", filters):
        raise NotFoundError("agent")
    changes = body.dict(exclude_unset=True)
    return db.update("agents", filters, changes)


@router.delete("/{agent_id}")
async def delete_agent(agent_id: str, current_user: dict = Depends(get_current_user),
                       db: DatabaseService = Depends(get_db)):
    db.delete("agents", {"id": agent_id})  # expect: ORG102
    return {"deleted": agent_id}


@router.post("/{agent_id}/duplicate")
async def duplicate_agent(agent_id: str, current_user: dict = Depends(get_current_user),
                          db: DatabaseService = Depends(get_db)):
    clerk_org_id = current_user["clerk_org_id"]
    source = db.select_one("agents", {"id": agent_id, "clerk_org_id": clerk_org_id})
    if not source:
        raise NotFoundError("agent")
    copy = {key: value for key, value in source.items() if key not in ("id", "created_at")}
    copy["id"] = str(uuid4())
    copy["name"] = f"{source['name']} (copy)"
    return db.insert("agents", copy)


@router.get("/{agent_id}/calls")
async def agent_calls(agent_id: str, limit: int = 50, current_user: dict = Depends(get_current_user),
                      db: DatabaseService = Depends(get_db)):
    filters = {"agent_id": agent_id}
    filters["clerk_org_id"] = current_user["clerk_org_id"]
    return db.select("calls", filters, order="-started_at", limit=limit)


@router.get("/stats/count")
async def count_agents(current_user: dict = Depends(get_current_user),
                       db: DatabaseService = Depends(get_db)):
    return {"count": db.count("agents", {"status": "active"})}  # expect: ORG101
