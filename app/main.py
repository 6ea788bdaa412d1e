"""Builds the FastAPI app; lifespan creates the long-lived objects once and keeps them on app.state."""

import asyncio
import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from app.admission_gate import AdmissionGate, admission_kinds
from app.config import Settings, load_settings
from app.error_handlers import install_error_handlers
from app.limits import Admission, CpuBudget
from app.logging_setup import configure_logging
from app.request_log import RequestLogMiddleware
from app.routes import health, jobs, openai_speech, storage, system, tts, upload, video
from app.routes.responses import ERROR_RESPONSES
from app.security import require_api_key
from app.services.ffmpeg import ffmpeg_binary
from app.services.jobs import INTERRUPTED, SqliteJobStore
from app.services.metrics import Metrics
from app.services.retention import sweep_forever
from app.services.runner import JobRunner
from app.services.storage import LocalStorage
from app.services.system_stats import SystemStats
from app.services.tts.direct import DirectSpeech
from app.services.tts.engine_process import start_tts_service
from app.services.tts.job import make_tts_handler
from app.services.video.job import make_video_handler
from app.services.webhooks import WebhookSender

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
    ffmpeg = ffmpeg_binary(settings.ffmpeg_binary)
    runner = JobRunner(store, storage_backend, admission, budget, {}, settings.max_concurrent_heavy_tasks)
    tts_service, engine_process = await asyncio.to_thread(start_tts_service, settings, budget)
    runner.handlers["tts"] = make_tts_handler(tts_service, ffmpeg)
    runner.handlers["video"] = make_video_handler(tts_service, ffmpeg, store, storage_backend)
    system_stats = SystemStats(budget, admission, tts_service, settings, engine_process)
    metrics = Metrics(admission, system_stats)
    webhooks = WebhookSender(store, settings.webhook_secret)
    runner.end_hooks.extend([system_stats.on_job_end, metrics.on_job_end, webhooks])
    if settings.requeue_interrupted:
        runner.requeue_interrupted(INTERRUPTED)
    else:
        runner.fail_interrupted(INTERRUPTED)
    app.state.budget = budget
    app.state.storage = storage_backend
    app.state.store = store
    app.state.admission = admission
    app.state.runner = runner
    app.state.tts = tts_service
    app.state.ffmpeg = ffmpeg
    app.state.system_stats = system_stats
    app.state.metrics = metrics
    app.state.direct_speech = DirectSpeech(tts_service, runner, budget, ffmpeg)
    sweeper = None
    app.openapi()  # builds every route's handler now rather than on its first request, in the middle of a burst
    gc.collect()
    gc.freeze()  # what startup built lives as long as the app: no full collection walks it again mid-request
    if settings.file_ttl_hours > 0:
        sweeper = asyncio.create_task(sweep_forever(store, storage_backend, settings.file_ttl_hours))
    try:
        yield
    finally:
        if sweeper:
            sweeper.cancel()
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
    protected = (
        tts.router,
        storage.router,
        upload.router,
        video.router,
        jobs.router,
        openai_speech.router,
        system.router,
    )
    app.add_middleware(AdmissionGate, kinds=admission_kinds(protected))
    app.add_middleware(RequestLogMiddleware)
    app.include_router(health.router)
    for router in protected:
        app.include_router(router, dependencies=[Depends(require_api_key)], responses=ERROR_RESPONSES)
    return app
