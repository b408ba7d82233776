"""Contact folders and contacts."""
import csv
import io
from typing import List, Optional
from uuid import uuid4

from fastapi import APIRouter, Depends, Header, UploadFile
from pydantic import BaseModel

from app.core.auth import get_current_user, get_db
from app.core.database import DatabaseService
from app.core.exceptions import NotFoundError

router = APIRouter(prefix="/contacts", tags=["contacts"])


class ContactIn(BaseModel):
    name: str
    phone: str
    folder_id: Optional[str] = None


@router.get("/folders")
async def list_folders(current_user: dict = Depends(get_current_user),
                       db: DatabaseService = Depends(get_db)):
    return db.select("contact_folders", {"clerk_org_id": current_user["clerk_org_id"]})


@router.get("")
async def list_contacts(folder_id: Optional[str] = None, x_client_id: Optional[str] = Header(None),
                        current_user: dict = Depends(get_current_user),
                        db: DatabaseService = Depends(get_db)):  # expect: ORG203
    filters = {"clerk_org_id": current_user["clerk_org_id"]}
    if folder_id:
        filters["folder_id"] = folder_id
    return db.select("contacts", filters)


@router.post("")
async def add_contact(body: ContactIn, current_user: dict = Depends(get_current_user),
                      db: DatabaseService = Depends(get_db)):
    row = {"id": str(uuid4()), "name": body.name, "phone": body.phone, "folder_id": body.folder_id}
    row["clerk_org_id"] = current_user["clerk_org_id"]
    return db.insert("contacts", row)


@router.post("/import")
async def import_contacts(file: UploadFile, folder_id: str, current_user: dict = Depends(get_current_user),
                          db: DatabaseService = Depends(get_db)):
    text = (await file.read()).decode("utf-8")
    rows: List[dict] = []
    for record in csv.DictReader(io.StringIO(text)):
        rows.append({"id": str(uuid4()), "name": record.get("name", ""),
                     "phone": record.get("phone", ""), "folder_id": folder_id})
    return db.bulk_insert("contacts", rows)  # expect: ORG103


@router.patch("/{contact_id}")
async def update_contact(contact_id: str, body: ContactIn, current_user: dict = Depends(get_current_user),
                         db: DatabaseService = Depends(get_db)):
    filters = {"id": contact_id}
    filters.update({"clerk_org_id": current_user["clerk_org_id"]})
    if not db.select_one("contacts", filters):
        raise NotFoundError("contact")
    return db.update("contacts", filters, body.dict(exclude_unset=True))


@router.delete("/folders/{folder_id}")
async def delete_folder(folder_id: str, current_user: dict = Depends(get_current_user),
                        db: DatabaseService = Depends(get_db)):
    clerk_org_id = current_user["clerk_org_id"]
    db.delete("contacts", {"folder_id": folder_id, "clerk_org_id": clerk_org_id})
    db.delete("contact_folders", {"id": folder_id, "clerk_org_id": clerk_org_id})
    return {"deleted": folder_id}
