"""Phone number assignment through the telephony provider."""
from typing import Optional

import httpx

from app.core.config import settings
from app.core.database import DatabaseService
from app.core.exceptions import NotFoundError


class TelephonyService:
    def __init__(self, db: DatabaseService):
        self.db = db
        self.http = httpx.Client(base_url="https://telephony.invalid",
                                 headers={"Authorization": f"Bearer {settings.telephony_api_key}"})

    def assign_number(self, phone_number_id: str, agent_id: str, organization_id: str) -> dict:
        agent = self.db.select_one("agents", {"id": agent_id, "clerk_org_id": organization_id})
        if not agent:
            raise NotFoundError("agent")
        previous = self.db.select_one("agents", {"inbound_phone_number_id": phone_number_id,
                                                 "clerk_org_id": organization_id})
        if previous:
            self.unassign(previous["id"], organization_id)
        self.http.post(f"/numbers/{phone_number_id}/route", json={"agent": agent_id})
        return self.db.update("agents", {"id": agent_id, "clerk_org_id": organization_id},
                              {"inbound_phone_number_id": phone_number_id})

    def unassign(self, old_agent_id: str, organization_id: str) -> None:
        self.db.update("agents", {"id": old_agent_id}, {"inbound_phone_number_id": None})  # expect: ORG102

    def outbound_caller_id(self, agent_id: str, organization_id: Optional[str]) -> Optional[str]:
        agent = self.db.select_one("agents", {"id": agent_id, "clerk_org_id": organization_id})
        if not agent or not agent.get("outbound_phone_number_id"):
            return None
        number = self.db.select_one("phone_numbers", {"id": agent["outbound_phone_number_id"],
                                                      "clerk_org_id": organization_id})
        return number["e164"] if number else None

    def release_all(self, organization_id: str) -> int:
        numbers = self.db.select("phone_numbers", {"clerk_org_id": organization_id})
        for number in numbers:
            self.http.delete(f"/numbers/{number['id']}")
        self.db.delete("phone_numbers", {"clerk_org_id": organization_id})
        return len(numbers)
