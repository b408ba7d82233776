"""Application entry point."""
from fastapi import FastAPI

from app.api.v1 import api_router

app = FastAPI(title="sample backend")
app.include_router(api_router)


@app.get("/health")
async def health():
    return {"ok": True}
