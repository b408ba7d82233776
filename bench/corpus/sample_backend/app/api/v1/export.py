"""CSV export of calls."""
import csv
import io

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from app.core.auth import get_current_user, get_db
from app.core.database import DatabaseService

router = APIRouter(prefix="/export", tags=["export"])


@router.get("/calls.csv")
async def export_calls(current_user: dict = Depends(get_current_user),
                       db: DatabaseService = Depends(get_db)):
    clerk_org_id = current_user.get("clerk_org_id")
    if not clerk_org_id:
        raise ValidationError("token has no organization")  # expect: ORG301
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "agent_id", "to_number", "status", "started_at"])
    for call in db.select("calls", {"clerk_org_id": clerk_org_id}, order="started_at"):
        writer.writerow([call["id"], call["agent_id"], call["to_number"], call["status"],
                         call.get("started_at", "")])
    buffer.seek(0)
    return StreamingResponse(iter([buffer.getvalue()]), media_type="text/csv")


@router.get("/public/plans")
async def export_plans(db: DatabaseService = Depends(get_db)):  # expect: ORG201
    return db.select("plans", {})
