"""Liveness and what the server can do right now."""

from fastapi import APIRouter

from app.deps import SttDep, TtsDep
from app.routes.models import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
async def health(tts: TtsDep, stt: SttDep) -> Health:
    return Health.model_validate({"status": "ok", "tts": tts.describe(), "stt": stt.describe()})
