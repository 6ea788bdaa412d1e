"""A web node in cluster mode: it admits, records and queues jobs, and answers about any job from Redis and the
bucket; it holds no job state of its own and runs no job."""

import asyncio
import io
import logging
import time
import zipfile
from collections.abc import AsyncIterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import redis
from dramatiq.brokers.redis import RedisBroker

from app.cluster import keys, queue
from app.cluster.admission import ClusterAdmission, ClusterTicket
from app.cluster.events import EventRelay, encode
from app.cluster.redis_errors import redis_unreachable
from app.errors import UnprocessableInput
from app.limits import Ticket
from app.services.events import EventBus
from app.services.ffmpeg import ImageFormat
from app.services.files import Files
from app.services.heavy import TimedOut
from app.services.jobs import Job, Jobs, JobStatus
from app.services.runner import log_transition
from app.services.tts.job import TtsParams
from app.services.tts.service import SpeechRequest

log = logging.getLogger("app.cluster")
ENDED = (JobStatus.READY, JobStatus.FAILED)
POLL_S = 1.0
"""A waiting request reads the job again at least this often (events may be missed while Redis restarts)."""
CANCELLED = "The job was cancelled."


class ClusterRunner:
    """The `JobQueue` of a web node: a job is recorded in Redis, then put on its kind's queue for a worker."""

    def __init__(
        self, jobs: Jobs, files: Files, admission: ClusterAdmission, broker: RedisBroker, client: redis.Redis
    ) -> None:
        self.jobs = jobs
        self.files = files
        self.admission = admission
        self.broker = broker
        self._redis = client
        self.events = EventBus()
        self.relay: EventRelay | None = None

    def submit(
        self,
        kind: str,
        params: dict[str, Any],
        ticket: Ticket,
        name: str | None = None,
        webhook_url: str | None = None,
        dedup_key: str | None = None,
        folder: str | None = None,
    ) -> Job:
        """Record the admitted job and queue it; its place is given back when either fails."""
        assert isinstance(ticket, ClusterTicket)
        job = Job(ticket.job_id, kind, params=params, name=name, webhook_url=webhook_url, dedup_key=dedup_key)
        job.folder = folder
        try:
            with redis_unreachable():
                self.files.folders.ensure(folder)
                self.jobs.create(job)
            queue.enqueue(self.broker, kind, job.id)
        except BaseException:
            with suppress(Exception):
                self.admission.release(ticket)
            raise
        log_transition(job, JobStatus.QUEUED, 0.0)
        self._publish("queued", job)
        return job

    def _publish(self, name: str, job: Job) -> None:
        try:
            self._redis.publish(keys.EVENTS, encode(name, job))
        except redis.RedisError as exc:
            log.warning("job event %s of %s not published: %s", name, job.id, exc)

    async def wait(self, job_id: str, timeout: float) -> Job | None:
        """Wait for the job to end (at most `timeout` s), woken by its event or reading it again every second."""
        deadline = time.monotonic() + timeout
        relay = self.relay
        event = relay.waiter(job_id) if relay else asyncio.Event()
        try:
            while True:
                with redis_unreachable():
                    job = await asyncio.to_thread(self.jobs.get, job_id)
                remaining = deadline - time.monotonic()
                if job is None or job.status in ENDED or remaining <= 0:
                    return job
                with suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), min(remaining, POLL_S))
        finally:
            if relay:
                relay.forget(job_id, event)

    def cancel_queued(self, job_id: str) -> bool:
        """Cancel a job no worker has taken yet; False when one has (or it ended)."""
        job = self.jobs.get(job_id)
        if job is None or job.status != JobStatus.QUEUED:
            return False
        if not self._redis.set(keys.ended(job_id), keys.CANCELLED_BY_WEB, nx=True, ex=7 * 24 * 3600):
            return False
        self.jobs.update(job_id, status=JobStatus.FAILED, error=CANCELLED, finished_at=time.time())
        self._redis.zrem(keys.active(job.kind), job_id)
        log_transition(job, JobStatus.FAILED, 0.0, CANCELLED)
        self._publish("failed", job)
        return True


class ClusterSpeech:
    """The OpenAI-compatible route on a web node: a `tts` job on a worker, waited for, answered and removed."""

    def __init__(self, admission: ClusterAdmission, runner: ClusterRunner, time_limit_s: float) -> None:
        self.admission = admission
        self.runner = runner
        self.time_limit_s = time_limit_s

    async def speak(self, request: SpeechRequest) -> bytes:
        ticket = self.admission.admit("tts")
        return await self._answer(request, ticket)

    async def admit_stream(self, request: SpeechRequest) -> AsyncIterator[bytes]:
        """Admitted now (`Busy` before any byte); the audio follows when the worker has made it."""
        ticket = self.admission.admit("tts")

        async def audio() -> AsyncIterator[bytes]:
            yield await self._answer(request, ticket)

        return audio()

    async def _answer(self, request: SpeechRequest, ticket: Ticket) -> bytes:
        params = TtsParams(speech=request).model_dump(mode="json")
        return await answer_inline(self.runner, "tts", params, ticket, self.time_limit_s)


async def answer_inline(
    runner: ClusterRunner, kind: str, params: dict[str, Any], ticket: Ticket, time_limit_s: float
) -> bytes:
    """Run an admitted job on a worker and give its file's bytes; the job and its file are removed after (an
    answer given in the request itself is not kept)."""
    job = await asyncio.to_thread(runner.submit, kind, params, ticket)
    try:
        final = await runner.wait(job.id, time_limit_s)
        if final is None or final.status == JobStatus.FAILED:
            raise UnprocessableInput(final.error if final and final.error else f"The {kind} job failed.")
        if final.status != JobStatus.READY:
            raise TimedOut(f"The {kind} job was not ready within {time_limit_s:g} s (JOB_TIMEOUT_S).")
        stored = runner.files.get(job.id)
        if stored is None:
            raise UnprocessableInput(f"The {kind} job's file is gone.")
        return await asyncio.to_thread(lambda: runner.files.path(stored).read_bytes())
    finally:
        await asyncio.to_thread(_forget, runner, job.id)


def _forget(runner: ClusterRunner, job_id: str) -> None:
    with suppress(Exception):
        if runner.cancel_queued(job_id):
            return
        runner.files.delete(job_id)
        runner.jobs.delete(job_id)


async def frame_on_worker(
    runner: ClusterRunner,
    admission: ClusterAdmission,
    video_id: str,
    timestamp: float,
    fmt: ImageFormat,
    limit_s: float,
) -> bytes:
    """GET extract-frame in cluster mode: the frame is grabbed by a worker (an extract-frames job of one timestamp)."""
    from app.tools.video import FramesParams

    params = FramesParams(video_id=video_id, format=fmt, timestamps=[timestamp]).model_dump(mode="json")
    archive = await answer_inline(runner, "video", params, admission.admit("video"), limit_s)
    with zipfile.ZipFile(io.BytesIO(archive)) as frames:
        return frames.read(frames.namelist()[0])


class ClusterFrames:
    """`FrameAnswers` of a web node: a worker grabs the frame."""

    def __init__(self, runner: ClusterRunner, admission: ClusterAdmission, limit_s: float) -> None:
        self._runner = runner
        self._admission = admission
        self._limit_s = limit_s

    async def frame(self, video_id: str, source: Path, timestamp: float, fmt: ImageFormat) -> bytes:
        return await frame_on_worker(self._runner, self._admission, video_id, timestamp, fmt, self._limit_s)
