"""The composition root: every long-lived service of one app, built in order and closed in reverse.

`open_services` is entered by the app's lifespan under an `AsyncExitStack`, so a startup that fails half-way
closes what it had already opened. An engine process handed in (tests share one) is used, not closed.
"""

import asyncio
import functools
import logging
import math
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import psutil

from app.config import Settings
from app.errors import EngineUnavailable
from app.guide_log import guide_lines
from app.limits import Admission, CpuBudget
from app.memory_room import MemoryRoom
from app.resources import Resources
from app.services.child_process import ChildProcess
from app.services.database import Database
from app.services.ffmpeg import Ffmpeg
from app.services.files import Files
from app.services.heavy import HeavyWork
from app.services.inline_speech import InlineSpeech
from app.services.jobs import INTERRUPTED, Jobs, SqliteJobs
from app.services.metrics import Metrics
from app.services.ports import JobAdmission, JobQueue, SpeechAnswers
from app.services.retention import sweep_forever
from app.services.runner import Handler, JobRunner
from app.services.sqlite_files import SqliteFileRecords
from app.services.storage import LocalStorage
from app.services.stt.align_job import make_align_handler
from app.services.stt.job import make_transcribe_handler
from app.services.stt.service import SttService
from app.services.system_stats import SystemStats, tree_rss_bytes
from app.services.tts.engine_process import start_engine_process, tts_service_on
from app.services.tts.job import make_tts_handler
from app.services.tts.service import TtsService
from app.services.video.job import make_video_handler
from app.services.webhooks import WebhookSender
from app.tools.catalog import all_tools
from app.tools.table import tool_handlers

log = logging.getLogger("app")


@dataclass(frozen=True)
class Services:
    """Everything routes and middleware may use; built once per app by `open_services`."""

    settings: Settings
    budget: CpuBudget
    admission: JobAdmission
    heavy: HeavyWork
    jobs: Jobs
    files: Files
    ffmpeg: Ffmpeg
    engine: ChildProcess | None
    tts: TtsService
    runner: JobQueue
    inline_speech: SpeechAnswers
    system_stats: SystemStats
    metrics: Metrics
    stt: SttService


def _async_bound(settings: Settings) -> str:
    bound = settings.max_queue_wait_async_s
    return "up to the ceiling" if bound is None else f"within {bound:g} s"


def describe_limits(settings: Settings, budget: CpuBudget, resources: Resources | None = None) -> list[str]:
    """The startup log's lines: caps, threads and the limit that decided them, CPU and memory as seen."""
    resources = resources or Resources.seen()
    timeouts = ", ".join(f"{kind}={seconds:g}" for kind, seconds in settings.job_timeout_s.items())
    caps = " ".join(f"{kind}={cap}" for kind, cap in settings.kind_caps().items())
    return [
        *guide_lines(settings, budget),
        f"caps: {caps} "
        f"heavy={settings.max_concurrent_heavy_tasks} queue={settings.max_queued_jobs} "
        f"(waiting requests starting within {settings.max_queue_wait_s:g} s, submissions "
        f"{_async_bound(settings)}); time limits (s): {timeouts}",
        f"heavy work at nice {budget.nice} on cores {list(budget.pinned_cores) or 'all'}",
        resources.log_line(),
    ]


def memory_room(resources: Resources) -> MemoryRoom | None:
    """Admission by memory where a cgroup sets a limit (Docker `-m`, Kubernetes, systemd MemoryMax=)."""
    if not resources.memory_from_cgroup or resources.memory_bytes is None:
        return None
    return MemoryRoom(resources.memory_bytes, functools.partial(tree_rss_bytes, psutil.Process()))


def job_handlers(tts: TtsService, ffmpeg: Ffmpeg, files: Files, stt: SttService) -> dict[str, Handler]:
    """Every job's handler, by kind and by operation (the tools, transcription, alignment)."""
    handlers = {"tts": make_tts_handler(tts, ffmpeg), "video": make_video_handler(tts, ffmpeg, files, stt=stt)}
    handlers.update(tool_handlers(all_tools(), ffmpeg, files, stt))
    handlers["transcribe"] = make_transcribe_handler(stt, files)
    handlers["align_script"] = make_align_handler(stt, files)
    return handlers


async def _speech(
    stack: AsyncExitStack, settings: Settings, budget: CpuBudget, engine: ChildProcess | None
) -> tuple[ChildProcess | None, TtsService]:
    """The given engine process, or one started here (closed with the stack); the TTS service on it, or
    an unavailable service saying why the process could not start."""
    if engine is None:
        try:
            engine = await asyncio.to_thread(start_engine_process, settings, budget)
        except EngineUnavailable as exc:
            log.warning("TTS unavailable: %s", exc.message)
            return None, TtsService.unavailable(settings, exc.message)
        stack.push_async_callback(asyncio.to_thread, engine.close)
    return engine, tts_service_on(engine, settings)


def _records(stack: AsyncExitStack, settings: Settings) -> tuple[SqliteJobs, Files]:
    storage = LocalStorage(settings.storage_path)
    storage.clear_scratch()
    database = Database(settings.storage_path / "jobs.sqlite3", storage.size)
    stack.callback(database.close)
    return SqliteJobs(database), Files(SqliteFileRecords(database), storage)


@asynccontextmanager
async def open_services(settings: Settings, engine: ChildProcess | None = None) -> AsyncIterator[Services]:
    """Build every service; on exit (or a failed start) stop the work, then close what was opened, in reverse.
    In cluster mode (BACKEND=cluster) the services of a web node instead (`app.cluster.web_services`)."""
    if settings.backend == "cluster":
        from app.cluster.web_services import open_cluster_services  # Redis and boto3 only where they are used

        async with open_cluster_services(settings) as services:
            yield services
        return
    async with AsyncExitStack() as stack:
        budget = CpuBudget.from_limits(settings.max_cpu_threads, settings.cpu_usage_limit, settings.heavy_nice)
        resources = Resources.seen()
        for line in describe_limits(settings, budget, resources):
            log.info(line)
        jobs, files = _records(stack, settings)
        admission = Admission(
            settings.kind_caps(),
            settings.max_concurrent_heavy_tasks,
            settings.max_queued_jobs,
            max_queue_wait_s=settings.max_queue_wait_s,
            max_queue_wait_async_s=settings.max_queue_wait_async_s or math.inf,
            memory=memory_room(resources),
        )
        heavy = HeavyWork(admission, budget, settings.max_concurrent_heavy_tasks, settings.job_timeout_s)
        stack.push_async_callback(heavy.shutdown)
        ffmpeg = Ffmpeg.locate(settings.ffmpeg_binary)
        engine, tts = await _speech(stack, settings, budget, engine)
        system_stats = SystemStats(budget, admission, tts, settings, engine, resources=resources)
        metrics = Metrics(admission, system_stats)
        webhooks = WebhookSender(jobs, settings.webhook_secret, settings.allow_private_urls)
        stt = SttService.from_settings(settings, budget)  # its Whisper process starts on the first transcription
        stack.push_async_callback(asyncio.to_thread, stt.close)
        handlers = job_handlers(tts, ffmpeg, files, stt)
        runner = JobRunner(jobs, files, heavy, handlers, [system_stats.on_job_end, metrics.on_job_end, webhooks])
        stack.push_async_callback(runner.shutdown)
        if settings.requeue_interrupted:
            runner.requeue_interrupted(INTERRUPTED)
        else:
            runner.fail_interrupted(INTERRUPTED)
        if settings.file_ttl_hours > 0:
            sweeper = asyncio.create_task(sweep_forever(jobs, files, settings.file_ttl_hours))
            stack.callback(sweeper.cancel)
        inline_speech = InlineSpeech(tts, heavy, files.storage, ffmpeg)
        yield Services(
            settings,
            budget,
            admission,
            heavy,
            jobs,
            files,
            ffmpeg,
            engine,
            tts,
            runner,
            inline_speech,
            system_stats,
            metrics,
            stt=stt,
        )
