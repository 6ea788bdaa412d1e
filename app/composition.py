"""The root of one machine (BACKEND=local): every long-lived service of one app, built in order and closed in
reverse, over the shared builders of `app.wiring`; in cluster mode, the web node's root instead.

`open_services` is entered by the app's lifespan under an `AsyncExitStack`, so a startup that fails half-way
closes what it had already opened. An engine process handed in (tests share one) is used, not closed.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from app.config import Settings
from app.resources import Resources
from app.services.child_process import ChildProcess
from app.services.database import Database
from app.services.files import Files
from app.services.inline_speech import InlineSpeech
from app.services.inline_transcripts import InlineTranscripts
from app.services.jobs import INTERRUPTED, SqliteJobs
from app.services.metrics import Metrics
from app.services.retention import sweep_forever
from app.services.runner import JobRunner
from app.services.sqlite_files import SqliteFileRecords
from app.services.storage import LocalStorage
from app.services.system_stats import SystemStats
from app.services.webhooks import WebhookSender
from app.tools.frames import LocalFrames
from app.wiring import (
    Services,
    cpu_budget,
    heavy_work,
    job_handlers,
    local_admission,
    memory_room,
    settings_ffmpeg,
    speech,
    speech_to_text,
)


def _records(stack: AsyncExitStack, settings: Settings) -> tuple[SqliteJobs, Files]:
    storage = LocalStorage(settings.storage_path)
    storage.clear_scratch()
    database = Database(settings.storage_path / "jobs.sqlite3", storage.size)
    stack.callback(database.close)
    return SqliteJobs(database), Files(SqliteFileRecords(database), storage)


def _settle_interrupted(runner: JobRunner, settings: Settings) -> None:
    """What a previous process left unfinished runs again (REQUEUE_INTERRUPTED) or ends failed."""
    if settings.requeue_interrupted:
        runner.requeue_interrupted(INTERRUPTED)
    else:
        runner.fail_interrupted(INTERRUPTED)


@asynccontextmanager
async def open_local_services(settings: Settings, engine: ChildProcess | None = None) -> AsyncIterator[Services]:
    """Jobs and files in SQLite and on disk, heavy work in this process's pool and its engine processes."""
    async with AsyncExitStack() as stack:
        resources = Resources.seen()
        budget = cpu_budget(settings, resources)
        jobs, files = _records(stack, settings)
        admission = local_admission(settings, memory=memory_room(resources))
        heavy = heavy_work(stack, settings, admission, budget)
        ffmpeg = settings_ffmpeg(settings)
        engine, tts = await speech(stack, settings, budget, engine)
        system_stats = SystemStats(budget, admission, tts, settings, engine, resources=resources)
        metrics = Metrics(admission, system_stats)
        webhooks = WebhookSender(jobs, settings.webhook_secret, settings.allow_private_urls)
        stt = speech_to_text(stack, settings, budget)
        handlers = job_handlers(tts, ffmpeg, files, stt)
        runner = JobRunner(jobs, files, heavy, handlers, [system_stats.on_job_end, metrics.on_job_end, webhooks])
        stack.push_async_callback(runner.shutdown)
        _settle_interrupted(runner, settings)
        if settings.file_ttl_hours > 0:
            sweeper = asyncio.create_task(sweep_forever(jobs, files, settings.file_ttl_hours))
            stack.callback(sweeper.cancel)
        yield Services(
            settings=settings,
            budget=budget,
            admission=admission,
            heavy=heavy,
            jobs=jobs,
            files=files,
            ffmpeg=ffmpeg,
            engine=engine,
            tts=tts,
            runner=runner,
            inline_speech=InlineSpeech(tts, heavy, files.storage, ffmpeg),
            system_stats=system_stats,
            metrics=metrics,
            stt=stt,
            frames=LocalFrames(heavy, ffmpeg, files.storage),
            inline_transcripts=InlineTranscripts(stt, heavy),
        )


@asynccontextmanager
async def open_services(settings: Settings, engine: ChildProcess | None = None) -> AsyncIterator[Services]:
    """The services of this app's backend: one machine, or a cluster web node (`app.cluster.web_services`)."""
    if settings.backend == "cluster":
        from app.cluster.web_services import open_cluster_services  # Redis and boto3 only where they are used

        async with open_cluster_services(settings) as services:
            yield services
        return
    async with open_local_services(settings, engine) as services:
        yield services
