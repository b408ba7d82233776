"""Thin wrapper over the Supabase client: the `dbservice` call style."""
from functools import lru_cache
from typing import Any, Dict, List, Optional

from supabase import Client, create_client

from app.core.config import settings

Row = Dict[str, Any]


class DatabaseService:
    """Generic CRUD on tables; callers pass the tenant filter themselves."""

    def __init__(self, org_id: Optional[str] = None, client: Optional[Client] = None):
        self.org_id = org_id
        self.client = client or create_client(settings.supabase_url, settings.supabase_key)

    def _query(self, table: str, filters: Row, columns: str = "*"):
        query = self.client.table(table).select(columns)
        for key, value in filters.items():
            query = query.is_(key, "null") if value is None else query.eq(key, value)
        return query

    def select(self, table: str, filters: Row, columns: str = "*", order: Optional[str] = None,
               limit: Optional[int] = None) -> List[Row]:
        query = self._query(table, filters, columns)
        if order:
            query = query.order(order.lstrip("-"), desc=order.startswith("-"))
        if limit:
            query = query.limit(limit)
        return query.execute().data or []

    def select_one(self, table: str, filters: Row, columns: str = "*") -> Optional[Row]:
        rows = self._query(table, filters, columns).limit(1).execute().data
        return rows[0] if rows else None

    def count(self, table: str, filters: Row) -> int:
        result = self.client.table(table).select("id", count="exact")
        for key, value in filters.items():
            result = result.eq(key, value)
        return result.execute().count or 0

    def insert(self, table: str, data: Row) -> Row:
        return self.client.table(table).insert(data).execute().data[0]

    def bulk_insert(self, table: str, rows: List[Row]) -> List[Row]:
        if not rows:
            return []
        return self.client.table(table).insert(rows).execute().data

    def upsert(self, table: str, data: Row, on_conflict: str = "id") -> Row:
        return self.client.table(table).upsert(data, on_conflict=on_conflict).execute().data[0]

    def update(self, table: str, filters: Row, data: Row) -> List[Row]:
        query = self.client.table(table).update(data)
        for key, value in filters.items():
            query = query.eq(key, value)
        return query.execute().data

    def delete(self, table: str, filters: Row) -> List[Row]:
        query = self.client.table(table).delete()
        for key, value in filters.items():
            query = query.eq(key, value)
        return query.execute().data

    def get_call(self, call_id: str, org_id: Optional[str] = None) -> Optional[Row]:
        effective_org_id = org_id or self.org_id
        filters = {"id": call_id}
        if effective_org_id:
            filters["clerk_org_id"] = effective_org_id
        return self.select_one("calls", filters)

    def get_voice(self, voice_id: str, org_id: Optional[str] = None) -> Optional[Row]:
        filters = {"id": voice_id}
        if org_id:
            filters["clerk_org_id"] = org_id
        return self.select_one("voices", filters)

    def get_campaign(self, campaign_id: str, org_id: str) -> Optional[Row]:
        return self.select_one("campaigns", {"id": campaign_id, "clerk_org_id": org_id})


@lru_cache(maxsize=1)
def get_admin_db() -> DatabaseService:
    """Service-role client: bypasses row-level security."""
    return DatabaseService(client=create_client(settings.supabase_url, settings.service_role_key))
