"""Campaigns: batches of outbound calls."""
from typing import List
from uuid import uuid4

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from app.core.auth import get_current_user, get_db, require_admin_role
from app.core.database import DatabaseService
from app.core.exceptions import NotFoundError

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


class CampaignIn(BaseModel):
    name: str
    agent_id: str
    contact_ids: List[str]


@router.get("")
async def list_campaigns(current_user: dict = Depends(get_current_user),
                         db: DatabaseService = Depends(get_db)):
    return db.select("campaigns", {"clerk_org_id": current_user["clerk_org_id"]})


@router.get("/all")
async def list_all_campaigns(current_user: dict = Depends(require_admin_role),
                             db: DatabaseService = Depends(get_db)):
    return db.select("campaigns", {})  # expect: ORG105


@router.post("")
async def create_campaign(body: CampaignIn, current_user: dict = Depends(get_current_user),
                          db: DatabaseService = Depends(get_db)):
    clerk_org_id = current_user["clerk_org_id"]
    campaign = db.insert("campaigns", {"id": str(uuid4()), "name": body.name,
                                       "agent_id": body.agent_id, "clerk_org_id": clerk_org_id})
    db.bulk_insert("campaign_contacts", [
        {"campaign_id": campaign["id"], "contact_id": contact_id, "clerk_org_id": clerk_org_id}
        for contact_id in body.contact_ids
    ])
    return campaign


@router.get("/{campaign_id}")
async def get_campaign(campaign_id: str, current_user: dict = Depends(get_current_user),
                       db: DatabaseService = Depends(get_db)):
    campaign = db.get_campaign(campaign_id, current_user["clerk_org_id"])
    if not campaign:
        raise NotFoundError("campaign")
    return campaign


@router.post("/{campaign_id}/pause")
async def pause_campaign(campaign_id: str, current_user: dict = Depends(get_current_user),
                         db: DatabaseService = Depends(get_db)):
    return db.update("campaigns", {"id": campaign_id, "clerk_org_id": current_user["clerk_org_id"]},
                     {"status": "paused"})
