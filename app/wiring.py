"""What the three roots share: the `Services` bundle and the builders of the long-lived services they all run.

The local app (`app.composition`), the cluster web node (`app.cluster.web_services`) and the cluster worker
(`app.cluster.worker`) are thin roots over these builders. Each builder that opens something registers its
closing on the caller's `AsyncExitStack`, so a root closes everything in reverse, even after a failed start.
Nothing here imports a root or HTTP code.
"""

import asyncio
import functools
import logging
import math
from contextlib import AsyncExitStack
from dataclasses import dataclass

import psutil

from app.config import Settings
from app.errors import EngineUnavailable
from app.guide_log import guide_lines
from app.limits import Admission, CpuBudget
from app.memory_room import MemoryRoom
from app.resources import Resources
from app.services.child_process import ChildProcess
from app.services.ffmpeg import Ffmpeg
from app.services.files import Files
from app.services.heavy import HeavyWork
from app.services.jobs import Jobs
from app.services.metrics import Metrics
from app.services.ports import FrameAnswers, JobAdmission, JobQueue, SpeechAnswers, TranscriptAnswers
from app.services.runner import Handler
from app.services.stt.align_job import make_align_handler
from app.services.stt.job import make_transcribe_handler
from app.services.stt.service import SttService
from app.services.system_stats import SystemStats, tree_rss_bytes
from app.services.tts.engine_process import start_engine_process, tts_service_on
from app.services.tts.job import make_tts_handler
from app.services.tts.service import TtsService
from app.services.video.job import make_video_handler
from app.tools.catalog import all_tools
from app.tools.table import tool_handlers

log = logging.getLogger("app")


@dataclass(frozen=True, kw_only=True)
class Services:
    """Everything routes and middleware may use; built once per app by its root."""

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
    frames: FrameAnswers
    inline_transcripts: TranscriptAnswers


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


def cpu_budget(settings: Settings, resources: Resources | None = None, announce: bool = True) -> CpuBudget:
    """The CPU budget of heavy work; `announce` logs the limits once, at the start of a root that runs jobs."""
    budget = CpuBudget.from_limits(settings.max_cpu_threads, settings.cpu_usage_limit, settings.heavy_nice)
    if announce:
        for line in describe_limits(settings, budget, resources):
            log.info(line)
    return budget


def memory_room(resources: Resources) -> MemoryRoom | None:
    """Admission by memory where a cgroup sets a limit (Docker `-m`, Kubernetes, systemd MemoryMax=)."""
    if not resources.memory_from_cgroup or resources.memory_bytes is None:
        return None
    return MemoryRoom(resources.memory_bytes, functools.partial(tree_rss_bytes, psutil.Process()))


def settings_ffmpeg(settings: Settings) -> Ffmpeg:
    """The ffmpeg binary FFMPEG_BINARY names, else imageio-ffmpeg's."""
    return Ffmpeg.locate(settings.ffmpeg_binary)


def local_admission(settings: Settings, max_queued: int | None = None, memory: MemoryRoom | None = None) -> Admission:
    """Admission on this machine's caps (and its memory, where a limit is set); `max_queued` replaces
    MAX_QUEUED_JOBS (a worker's room is its own)."""
    return Admission(
        settings.kind_caps(),
        settings.max_concurrent_heavy_tasks,
        settings.max_queued_jobs if max_queued is None else max_queued,
        max_queue_wait_s=settings.max_queue_wait_s,
        max_queue_wait_async_s=settings.max_queue_wait_async_s or math.inf,
        memory=memory,
    )


def heavy_work(stack: AsyncExitStack, settings: Settings, admission: Admission, budget: CpuBudget) -> HeavyWork:
    """The heavy thread pool and time limits over `admission`; shut down with the stack."""
    heavy = HeavyWork(admission, budget, settings.max_concurrent_heavy_tasks, settings.job_timeout_s)
    stack.push_async_callback(heavy.shutdown)
    return heavy


def speech_to_text(stack: AsyncExitStack, settings: Settings, budget: CpuBudget) -> SttService:
    """Whisper, whose process starts on the first transcription; closed with the stack."""
    stt = SttService.from_settings(settings, budget)
    stack.push_async_callback(asyncio.to_thread, stt.close)
    return stt


async def speech(
    stack: AsyncExitStack, settings: Settings, budget: CpuBudget, engine: ChildProcess | None = None
) -> tuple[ChildProcess | None, TtsService]:
    """The given engine process (not closed here), or one started here (closed with the stack); the TTS
    service on it, or an unavailable service saying why the process could not start."""
    if engine is None:
        try:
            engine = await asyncio.to_thread(start_engine_process, settings, budget)
        except EngineUnavailable as exc:
            log.warning("TTS unavailable: %s", exc.message)
            return None, TtsService.unavailable(settings, exc.message)
        stack.push_async_callback(asyncio.to_thread, engine.close)
    return engine, tts_service_on(engine, settings)


def job_handlers(tts: TtsService, ffmpeg: Ffmpeg, files: Files, stt: SttService) -> dict[str, Handler]:
    """Every job's handler, by kind and by operation (the tools, transcription, alignment)."""
    handlers = {"tts": make_tts_handler(tts, ffmpeg), "video": make_video_handler(tts, ffmpeg, files, stt=stt)}
    handlers.update(tool_handlers(all_tools(), ffmpeg, files, stt))
    handlers["transcribe"] = make_transcribe_handler(stt, files)
    handlers["align_script"] = make_align_handler(stt, files)
    return handlers
