"""Knowledge bases attached to agents."""
from typing import Optional
from uuid import uuid4

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from app.core.auth import get_current_user, get_db
from app.core.database import DatabaseService
from app.core.exceptions import NotFoundError

router = APIRouter(prefix="/knowledge-bases", tags=["knowledge_bases"])


class KnowledgeBaseIn(BaseModel):
    name: str
    description: Optional[str] = None


def find_knowledge_base(db: DatabaseService, kb_id: str, org_id: Optional[str]):
    filters = {"id": kb_id}
    if org_id:
        filters["clerk_org_id"] = org_id
    return db.select_one("knowledge_bases", filters)  # expect: ORG104


@router.get("/{kb_id}")
async def get_knowledge_base(kb_id: str, current_user: dict = Depends(get_current_user),
                             db: DatabaseService = Depends(get_db)):
    kb = find_knowledge_base(db, kb_id, current_user.get("clerk_org_id"))
    if not kb:
        raise NotFoundError("knowledge base")
    return kb


@router.post("")
async def create_knowledge_base(body: KnowledgeBaseIn, current_user: dict = Depends(get_current_user),
                                db: DatabaseService = Depends(get_db)):
    return db.insert("knowledge_bases", {"id": str(uuid4()), "name": body.name,  # expect: ORG103
                                         "description": body.description})


@router.post("/{kb_id}/documents")
async def add_document(kb_id: str, payload: dict, current_user: dict = Depends(get_current_user),
                       db: DatabaseService = Depends(get_db)):
    clerk_org_id = payload.get("clerk_org_id") or current_user.get("clerk_org_id")  # expect: ORG202
    if not find_knowledge_base(db, kb_id, clerk_org_id):
        raise NotFoundError("knowledge base")
    doc = {"id": str(uuid4()), "knowledge_base_id": kb_id, "text": payload.get("text", ""),
           "clerk_org_id": clerk_org_id}
    return db.insert("kb_documents", doc)
