"""Provider webhooks: no user JWT, so the admin client and external ids are used."""
from datetime import datetime, timezone

from app.core.database import get_admin_db


def handle_call_ended(payload: dict) -> None:
    admin_db = get_admin_db()
    call = admin_db.select_one("calls", {"provider_call_id": payload["call_id"]})
    if not call:
        return
    admin_db.update("calls", {"id": call["id"]},
                    {"status": "ended", "ended_at": datetime.now(timezone.utc).isoformat(),
                     "duration_s": payload.get("duration")})
    admin_db.bulk_insert("transcript_segments", [
        {"call_id": call["id"], "clerk_org_id": call["clerk_org_id"], "offset_ms": seg["offset_ms"],
         "text": seg["text"]}
        for seg in payload.get("transcript", [])
    ])


def handle_batch_finished(payload: dict) -> None:
    admin_db = get_admin_db()
    for campaign in admin_db.select("campaigns", {}):
        if campaign.get("batch_id") == payload["batch_id"]:
            admin_db.update("campaigns", {"id": campaign["id"]}, {"status": "finished"})
