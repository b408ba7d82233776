"""Version 1 of the HTTP API."""
from fastapi import APIRouter

from app.api.v1 import agents, calls, campaigns, contacts, export, knowledge_bases

api_router = APIRouter(prefix="/api/v1")
for module in (agents, calls, campaigns, contacts, export, knowledge_bases):
    api_router.include_router(module.router)
