"""Builds the FastAPI app; lifespan creates the long-lived objects once and keeps them on app.state."""

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import imageio_ffmpeg
from fastapi import FastAPI

from app.config import Settings, load_settings
from app.error_handlers import install_error_handlers
from app.limits import Admission, CpuBudget
from app.logging_setup import configure_logging
from app.routes import health, storage, tts
from app.services.jobs import INTERRUPTED, SqliteJobStore
from app.services.runner import JobRunner
from app.services.storage import LocalStorage
from app.services.tts.job import make_tts_handler
from app.services.tts.loader import build_tts_service

log = logging.getLogger("app")


def describe_limits(settings: Settings, budget: CpuBudget) -> list[str]:
    cap = settings.max_cpu_threads or "none"
    return [
        f"caps: tts={settings.max_concurrent_tts} video={settings.max_concurrent_video} "
        f"heavy={settings.max_concurrent_heavy_tasks} queue={settings.max_queued_jobs}",
        f"{budget.cores} cores available, using {budget.threads} threads (limit: MAX_CPU_THREADS={cap}, "
        f"CPU_USAGE_LIMIT={settings.cpu_usage_limit})",
        f"heavy work at nice {budget.nice} on cores {list(budget.pinned_cores) or 'all'}",
    ]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    os.environ.setdefault("HF_HUB_OFFLINE", "0" if settings.tts_engine == "torch" else "1")
    budget = CpuBudget.from_limits(settings.max_cpu_threads, settings.cpu_usage_limit, settings.heavy_nice)
    for line in describe_limits(settings, budget):
        log.info(line)
    storage_backend = LocalStorage(settings.storage_path)
    storage_backend.clear_scratch()
    store = SqliteJobStore(settings.storage_path / "jobs.sqlite3")
    admission = Admission(
        {"tts": settings.max_concurrent_tts, "video": settings.max_concurrent_video},
        settings.max_concurrent_heavy_tasks,
        settings.max_queued_jobs,
    )
    ffmpeg = settings.ffmpeg_binary or imageio_ffmpeg.get_ffmpeg_exe()
    runner = JobRunner(store, storage_backend, admission, budget, {}, settings.max_concurrent_heavy_tasks)
    loop = asyncio.get_running_loop()
    tts_service = await loop.run_in_executor(runner.executor, build_tts_service, settings)
    runner.handlers["tts"] = make_tts_handler(tts_service, ffmpeg)
    runner.fail_interrupted(INTERRUPTED)
    app.state.budget = budget
    app.state.storage = storage_backend
    app.state.store = store
    app.state.admission = admission
    app.state.runner = runner
    app.state.tts = tts_service
    app.state.ffmpeg = ffmpeg
    try:
        yield
    finally:
        await runner.shutdown()
        store.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings.log_format, settings.log_level)
    app = FastAPI(
        title="Media API",
        description="Kokoro text to speech and captioned videos for automation tools, with admission control.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for router in (health.router, tts.router, storage.router):
        app.include_router(router)
    return app
