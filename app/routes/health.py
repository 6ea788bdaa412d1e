"""Liveness and what the server can do right now."""

from fastapi import APIRouter, Depends

from app.deps import get_tts
from app.services.tts.service import TtsService

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(tts: TtsService = Depends(get_tts)) -> dict:
    return {"status": "ok", "tts": tts.describe()}
