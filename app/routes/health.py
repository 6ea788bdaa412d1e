"""Liveness and what the server can do right now."""

import asyncio

import psutil
from fastapi import APIRouter

from app.cluster.admission import NO_WORKER
from app.deps import ServicesDep, SttDep, TtsDep
from app.errors import ServiceUnavailable
from app.routes.models import ClusterHealth, Health
from app.services.system_stats import MB
from app.wiring import Services

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
async def health(tts: TtsDep, stt: SttDep, services: ServicesDep) -> Health:
    resources = services.system_stats.resources.describe()
    body = Health.model_validate(
        {
            "status": "ok",
            "tts": tts.health(),
            "stt": stt.describe(),
            "resources": resources,
            "models_resident_mb": models_resident_mb(services),
        }
    )
    if services.settings.backend == "cluster":
        body.cluster = await asyncio.to_thread(_cluster_health, services)
    return body


def models_resident_mb(services: Services) -> dict[str, float | None]:
    """The memory each model's process holds now (MB, RSS); None when it is not loaded here."""
    engine = services.engine.pid if services.engine is not None else None
    whisper = services.stt.process.pid if services.stt.process is not None else None
    return {"tts_engine": _rss_mb(engine), "whisper": _rss_mb(whisper)}


def _rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        return round(psutil.Process(pid).memory_info().rss / MB, 1)
    except psutil.Error:
        return None


def _cluster_health(services: Services) -> ClusterHealth:
    """How many workers are live; with none (or Redis away), why no job can start."""
    bucket = None
    check = getattr(services.files.storage, "check", None)
    try:
        if check is not None:
            check()
    except ServiceUnavailable as exc:
        bucket = exc.message
    try:
        workers = len(services.admission.snapshot()["workers"])
    except ServiceUnavailable as exc:
        return ClusterHealth(workers=0, reason=exc.message, bucket=bucket)
    return ClusterHealth(workers=workers, reason=None if workers else NO_WORKER, bucket=bucket)
