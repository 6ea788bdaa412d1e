"""Liveness and what the server can do right now."""

from fastapi import APIRouter, Depends

from app.deps import get_tts
from app.services.tts.service import TtsService

router = APIRouter(tags=["health"])


def tts_state(tts: TtsService) -> dict:
    if not tts.available:
        return {"available": False, "reason": tts.unavailable_reason}
    return {
        "available": True,
        "engine": tts.loaded.engine.name,
        "weights": tts.loaded.weights,
        "voices": len(tts.loaded.voices.voices),
        "default_voice": tts.default_voice(),
    }


@router.get("/health")
async def health(tts: TtsService = Depends(get_tts)) -> dict:
    return {"status": "ok", "tts": tts_state(tts)}
