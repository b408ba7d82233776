"""VALID / INVALID examples of the shapes real code builds its filters and rows
in (ORG101-ORG103): filters and rows returned by project helpers (in the
module or another one), filled by a `for` over literal pairs, passed into a
function that runs them, closures run by a helper, and queries kept in a
variable and run later (reported where they are built)."""
from __future__ import annotations

from .base import Example

_SUPABASE = {"db": {"presets": ["dbservice", "supabase"]}}
_SQLALCHEMY = {"db": {"presets": ["sqlalchemy"]}, "tenant-key": "tenant_id"}
_MODELS = {"app/models.py": (
    "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n"
    "class Base(DeclarativeBase):\n"
    "    pass\n"
    "class Agent(Base):\n"
    "    __tablename__ = 'agents'\n"
    "    id: Mapped[int] = mapped_column(primary_key=True)\n"
    "    tenant_id: Mapped[int] = mapped_column()\n")}
_FILTERS = {"app/filters.py": (
    "def tenant_filter(org, **extra):\n"
    "    return {'clerk_org_id': org, **extra}\n"
    "def legacy_filter(org, **extra):\n"
    "    return {'organization': org, **extra}\n")}
_STORE = {"app/store.py": (
    "def save_row(db, row):\n"
    "    db.insert('agents', row)  # expect: ORG103\n")}
_STORE_VALID = {"app/store.py": (
    "def save_row(db, row):\n"
    "    db.insert('agents', row)\n")}

READS_VALID = (
    # a filter returned by a helper of the module
    """
    def _tenant_filter(org, **extra):
        return {"clerk_org_id": org, **extra}

    def get_agent(db, agent_id, org):
        return db.select_one("agents", _tenant_filter(org, id=agent_id))
    """,
    # ... or of another module
    Example(
        """
        from app.filters import tenant_filter

        def get_agent(db, agent_id, org):
            return db.select_one("agents", tenant_filter(org, id=agent_id))
        """,
        files=_FILTERS,
    ),
    # a filter filled by a loop over literal (key, value) pairs
    """
    def get_agent(db, agent_id, org):
        filters = {}
        for key, value in [("clerk_org_id", org), ("id", agent_id)]:
            filters[key] = value
        return db.select_one("agents", filters)
    """,
    Example(
        """
        def get_agent(supabase, agent_id, org):
            query = supabase.table("agents").select("*")
            for column, value in {"clerk_org_id": org, "id": agent_id}.items():
                query = query.eq(column, value)
            return query.execute()
        """,
        config=_SUPABASE,
    ),
    # a closure run by a helper sees the enclosing function's values
    Example(
        """
        from app.tasks import run_safely

        async def get_agent(supabase, agent_id, org):
            def op():
                return supabase.table("agents").select("*").eq("id", agent_id).eq(
                    "clerk_org_id", org).execute()
            return await run_safely(op)
        """,
        config=_SUPABASE,
    ),
)

READS_INVALID = (
    # the helper puts the org under another key: the message says so
    """
    def _tenant_filter(org, **extra):
        return {"organization": org, **extra}

    def get_agent(db, agent_id, org):
        return db.select_one("agents", _tenant_filter(org, id=agent_id))  # expect: ORG101
    """,
    Example(
        """
        from app.filters import legacy_filter

        def get_agent(db, agent_id, org):
            return db.select_one("agents", legacy_filter(org, id=agent_id))  # expect: ORG101
        """,
        files=_FILTERS,
    ),
    Example(
        """
        def get_agent(supabase, agent_id, org):
            query = supabase.table("agents").select("*")  # expect: ORG101
            for column, value in [("org", org), ("id", agent_id)]:
                query = query.eq(column, value)
            return query.execute()
        """,
        config=_SUPABASE,
    ),
    # a query kept in a variable is reported where it is built (the place to
    # add the filter); the message names the line it runs at
    Example(
        """
        from app.logs import log

        def get_agent(supabase, agent_id):
            query = supabase.table("agents").select("*").eq("id", agent_id)  # expect: ORG101
            log(query)
            return query.execute()
        """,
        config=_SUPABASE,
    ),
    Example(
        """
        from sqlalchemy import select
        from app.models import Agent

        async def get_agent(session, tenant_id, agent_id):
            await session.scalars(select(Agent).where(Agent.tenant_id == tenant_id))
            stmt = select(Agent).where(Agent.id == agent_id)  # expect: ORG101
            return (await session.scalars(stmt)).first()
        """,
        config=_SQLALCHEMY, files=_MODELS,
        fixed="""
        from sqlalchemy import select
        from app.models import Agent

        async def get_agent(session, tenant_id, agent_id):
            await session.scalars(select(Agent).where(Agent.tenant_id == tenant_id))
            stmt = select(Agent).where(Agent.id == agent_id, Agent.tenant_id == tenant_id)  # expect: ORG101
            return (await session.scalars(stmt)).first()
        """,
    ),
    # a filter passed into the function that runs it: the finding names the caller
    """
    def fetch(db, filters):
        return db.select("agents", filters)  # expect: ORG101

    def list_named(db, name):
        return fetch(db, {"name": name})
    """,
)

WRITES_VALID = (
    # a callback defined after the load-then-check: the id is verified
    """
    from fastapi import HTTPException
    from app.tasks import run_safely

    async def pause(db, agent_id, org):
        agent = db.select_one("agents", {"id": agent_id, "clerk_org_id": org})
        if not agent:
            raise HTTPException(status_code=404)

        def op():
            return db.update("agents", {"id": agent_id}, {"status": "paused"})
        return await run_safely(op)
    """,
)

WRITES_INVALID = (
    # no guard before the callback; the fix takes the org of the route's
    # auth dependency, read in the enclosing function
    Example(
        """
        from fastapi import Depends
        from app.auth import get_current_user
        from app.tasks import run_safely

        async def pause(agent_id, db=None, current_user: dict = Depends(get_current_user)):
            org = current_user["clerk_org_id"]

            def op():
                return db.update("agents", {"id": agent_id}, {"status": "paused"})  # expect: ORG102
            return await run_safely(op)
        """,
        config={"auth-dependencies": ["get_current_user"]},
        fixed="""
        from fastapi import Depends
        from app.auth import get_current_user
        from app.tasks import run_safely

        async def pause(agent_id, db=None, current_user: dict = Depends(get_current_user)):
            org = current_user["clerk_org_id"]

            def op():
                return db.update("agents", {"id": agent_id, "clerk_org_id": org}, {"status": "paused"})  # expect: ORG102
            return await run_safely(op)
        """,
    ),
    Example(
        """
        from app.tasks import run_safely

        async def pause(supabase, agent_id):
            await run_safely(lambda: supabase.table("agents").update(  # expect: ORG102
                {"status": "paused"}).eq("id", agent_id).execute())
        """,
        config=_SUPABASE,
    ),
)

INSERTS_VALID = (
    """
    def _row(org, **fields):
        return {"clerk_org_id": org, **fields}

    def create(db, org, name):
        return db.insert("agents", _row(org, name=name))
    """,
    # the row is built by the caller, with the tenant key
    Example(
        """
        from app.store import save_row

        def create(db, org, name):
            save_row(db, {"name": name, "clerk_org_id": org})
        """,
        files=_STORE_VALID,
    ),
    Example(
        """
        def save(supabase, row):
            supabase.table("agents").insert(row).execute()

        def create(supabase, org, name):
            save(supabase, {"name": name, "clerk_org_id": org})
        """,
        config=_SUPABASE,
    ),
)

INSERTS_INVALID = (
    # a caller builds the row without the tenant key: found at the insert,
    # the message names the caller
    Example(
        """
        from app.store import save_row

        def create(db, org, name):
            save_row(db, {"name": name, "clerk_org_id": org})

        def create_unowned(db, name):
            save_row(db, {"name": name})
        """,
        files=_STORE,
    ),
    Example(
        """
        def save(supabase, row):
            supabase.table("agents").insert(row).execute()  # expect: ORG103

        def create(supabase, name):
            save(supabase, {"name": name})
        """,
        config=_SUPABASE,
    ),
    Example(
        """
        def create(supabase, clerk_org_id, name):
            supabase.table("agents").select("*").eq("clerk_org_id", clerk_org_id).execute()
            query = supabase.table("agents").insert({"name": name})  # expect: ORG103
            return query.execute()
        """,
        config=_SUPABASE,
        fixed="""
        def create(supabase, clerk_org_id, name):
            supabase.table("agents").select("*").eq("clerk_org_id", clerk_org_id).execute()
            query = supabase.table("agents").insert({"name": name, "clerk_org_id": clerk_org_id})  # expect: ORG103
            return query.execute()
        """,
    ),
)
