"""A cluster worker: one per machine, with its own CPU budget and caps; it loads its engines once, heartbeats its
capacity, and takes a job from its kind's queue only when its caps have room for it.

A job is acknowledged on the queue once its end is recorded; a worker killed before that leaves the message
to Dramatiq, which gives it to another worker when this one's heartbeat stops. Each start counts an attempt:
past JOB_MAX_ATTEMPTS the job ends failed instead of killing one more worker.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import redis
from dramatiq.broker import Consumer, MessageProxy
from dramatiq.brokers.redis import RedisBroker

from app.cluster import keys, queue
from app.cluster.catalog import publish_catalog
from app.cluster.events import PublishedEvents
from app.cluster.registry import Heartbeat
from app.cluster.stores import open_cluster_stores
from app.config import Settings
from app.errors import EngineUnavailable
from app.jobs.kinds import JobKind
from app.limits import Admission
from app.services.heavy import HeavyWork
from app.services.jobs import Job, Jobs, JobStatus
from app.services.runner import JobRunner
from app.services.webhooks import WebhookSender
from app.wiring import cpu_budget, heavy_work, job_handlers, local_admission, settings_ffmpeg, speech, speech_to_text

log = logging.getLogger("app.worker")
RECONCILE_EVERY_S = 30.0
ORPHAN_AFTER_S = 60.0
"""A reservation whose job was never recorded (its web node died in between) is given back after this."""
ENDED = (JobStatus.READY, JobStatus.FAILED)
RECORDS_KEPT_S = 7 * 24 * 3600


def too_many_attempts(attempts: int) -> str:
    return (
        f"The job was started {attempts - 1} times and each time the worker running it stopped before it ended "
        "(killed, or out of memory?); it is not tried again (JOB_MAX_ATTEMPTS). Check the workers' logs and "
        "memory, then submit it again."
    )


class JobBookkeeping:
    """The cluster's side of a job's end: exactly one attempt records it; its place and run time go back to
    admission."""

    def __init__(self, client: redis.Redis, worker_id: str) -> None:
        self._redis = client
        self.worker_id = worker_id

    def claim_end(self, job: Job) -> bool:
        """True for the worker that ends the job first, and again for it (a failed commit then records the failure)."""
        before = self._redis.set(keys.ended(job.id), self.worker_id, nx=True, ex=RECORDS_KEPT_S, get=True)
        return before is None or before == self.worker_id

    def already_ended(self, job_id: str) -> bool:
        """Whether the job was cancelled, or ended by an attempt; the claim of an attempt that could not record the
        end (Redis went away, or its worker died in between) is dropped, so that this attempt runs it again."""
        owner = self._redis.get(keys.ended(job_id))
        if owner is None or owner == keys.CANCELLED_BY_WEB:
            return owner is not None
        self._redis.delete(keys.ended(job_id))
        return False

    def start_attempt(self, job_id: str) -> int:
        pipe = self._redis.pipeline(transaction=True)
        pipe.incr(keys.attempts(job_id))
        pipe.expire(keys.attempts(job_id), RECORDS_KEPT_S)
        return int(pipe.execute()[0])

    def undo_attempt(self, job_id: str) -> None:
        """A clean stop gives the job back: that start does not count."""
        self._redis.decr(keys.attempts(job_id))

    async def on_job_end(self, job: Job) -> None:
        await asyncio.to_thread(self._ended, job)

    def _ended(self, job: Job) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.zrem(keys.active(job.kind), job.id)
        if job.status == JobStatus.READY and job.started_at and job.finished_at:
            pipe.lpush(keys.durations(job.kind), round(job.finished_at - job.started_at, 3))
            pipe.ltrim(keys.durations(job.kind), 0, 19)
        pipe.execute()

    def give_back_orphans(self, jobs: Jobs, broker: RedisBroker) -> None:
        """Reservations of jobs that were never recorded or ended without giving their place back; and queued jobs
        with no message (their web node died between recording and queueing them), queued again."""
        before = int((time.time() - ORPHAN_AFTER_S) * 1000)
        for kind in JobKind:
            ids: list[str] = list(self._redis.zrangebyscore(keys.active(kind), "-inf", before))  # type: ignore[arg-type]
            if not ids:
                continue
            with_messages = queue.jobs_with_messages(broker, kind)
            for job_id in ids:
                job = jobs.get(job_id)
                if job is None or job.status in ENDED:
                    self._redis.zrem(keys.active(kind), job_id)
                elif job.status == JobStatus.QUEUED and job_id not in with_messages:
                    log.warning("job %s %s had no message on the queue; queued again", job_id, kind)
                    queue.enqueue(broker, kind, job_id)


@dataclass
class ClusterWorker:
    settings: Settings
    admission: Admission
    heavy: HeavyWork
    broker: RedisBroker
    jobs: Jobs
    runner: JobRunner
    bookkeeping: JobBookkeeping
    heartbeat: Heartbeat
    pool: ThreadPoolExecutor

    async def serve(self, stop: asyncio.Event) -> None:
        """Take and run jobs until `stop` is set; then give back what was taken and not finished."""
        tasks = [asyncio.create_task(self._heartbeat_forever())]
        for kind, cap in self.admission.caps.items():
            for _ in range(cap):
                consumer = self.broker.consume(kind, prefetch=1, timeout=queue.POLL_MS)
                tasks.append(asyncio.create_task(self._consume(kind, consumer)))
        log.info("worker %s taking jobs: %s", self.heartbeat.worker_id, dict(self.admission.caps))
        await stop.wait()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(BaseException):
                await task
        await asyncio.to_thread(self.heartbeat.leave)

    async def _heartbeat_forever(self) -> None:
        reconciled = 0.0
        while True:
            try:
                await asyncio.to_thread(self._beat)
                if time.monotonic() - reconciled > RECONCILE_EVERY_S:
                    await asyncio.to_thread(self.bookkeeping.give_back_orphans, self.jobs, self.broker)
                    reconciled = time.monotonic()
            except Exception as exc:
                log.warning("heartbeat failed: %s", exc)
            await asyncio.sleep(self.settings.worker_heartbeat_s)

    def _beat(self) -> None:
        self.heartbeat.beat({kind: self.admission.running(kind) for kind in self.admission.caps})
        queue.beat(self.broker)

    async def _consume(self, kind: str, consumer: Consumer) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self.admission.can_start(kind):
                await asyncio.sleep(queue.POLL_MS / 1000)
                continue
            try:
                message = await loop.run_in_executor(self.pool, next, consumer)
            except Exception as exc:
                log.warning("taking a %s job failed: %s", kind, exc)
                await asyncio.sleep(1.0)
                continue
            if message is not None:
                await self._take(kind, consumer, message)

    async def _take(self, kind: str, consumer: Consumer, message: MessageProxy) -> None:
        job_id = queue.job_id_of(message)
        try:
            finished = await self._run(kind, job_id)
        except asyncio.CancelledError:
            await self._give_back(consumer, message, job_id)
            raise
        except Exception as exc:
            log.warning("job %s could not be recorded (%s); it goes back on the queue", job_id, exc)
            finished = False
        if finished:
            await self._settle(consumer.ack, message)
        else:
            await self._give_back(consumer, message, job_id)

    async def _run(self, kind: str, job_id: str) -> bool:
        """Run the job once; True when its end is recorded (or it had ended already)."""
        job = await asyncio.to_thread(self.jobs.get, job_id)
        if job is None or job.status in ENDED or await asyncio.to_thread(self.bookkeeping.already_ended, job_id):
            if job is not None:
                await self.bookkeeping.on_job_end(job)
            return True
        attempt = await asyncio.to_thread(self.bookkeeping.start_attempt, job_id)
        if attempt > self.settings.job_max_attempts:
            await self.runner.fail_existing(job, too_many_attempts(attempt))
            return True
        ticket = self.admission.admit(kind)
        await self.runner.run_existing(job, ticket)
        final = await asyncio.to_thread(self.jobs.get, job_id)
        return final is None or final.status in ENDED

    async def _give_back(self, consumer: Consumer, message: MessageProxy, job_id: str) -> None:
        with suppress(Exception):
            await asyncio.to_thread(self.bookkeeping.undo_attempt, job_id)
        await self._settle(lambda m: consumer.requeue([m]), message)

    async def _settle(self, action: Any, message: MessageProxy) -> None:
        """Acknowledge or requeue, retrying while Redis is away (a message never stays taken by a live worker)."""
        while True:
            try:
                await asyncio.shield(asyncio.get_running_loop().run_in_executor(self.pool, action, message))
                return
            except Exception as exc:
                log.warning("the queue did not take the job's outcome (%s); retrying", exc)
                await asyncio.sleep(1.0)


@asynccontextmanager
async def open_worker(settings: Settings) -> AsyncIterator[ClusterWorker]:
    """Everything a worker runs, closed in reverse on exit."""
    async with AsyncExitStack() as stack:
        budget = cpu_budget(settings)
        admission = local_admission(settings, max_queued=sum(settings.kind_caps().values()))
        heavy = heavy_work(stack, settings, admission, budget)
        stores = open_cluster_stores(stack, settings)
        client, broker = stores.client, stores.broker
        engine, tts = await speech(stack, settings, budget)
        if engine is None:
            raise EngineUnavailable(tts.unavailable_reason or "the speech engine did not start")
        await asyncio.to_thread(publish_catalog, client, engine.catalog)
        stt = speech_to_text(stack, settings, budget)
        heartbeat = Heartbeat(
            client, broker.broker_id, admission.caps, admission.heavy_cap, budget.threads, settings.worker_timeout_s
        )
        bookkeeping = JobBookkeeping(client, heartbeat.worker_id)
        webhooks = WebhookSender(stores.jobs, settings.webhook_secret, settings.allow_private_urls)
        handlers = job_handlers(tts, settings_ffmpeg(settings), stores.files, stt)
        runner = JobRunner(
            stores.jobs,
            stores.files,
            heavy,
            handlers,
            [bookkeeping.on_job_end, webhooks],
            PublishedEvents(client),
            bookkeeping.claim_end,
        )
        stack.push_async_callback(runner.shutdown)
        pool = ThreadPoolExecutor(max_workers=sum(admission.caps.values()) + 2, thread_name_prefix="queue")
        stack.callback(pool.shutdown, wait=False, cancel_futures=True)
        yield ClusterWorker(settings, admission, heavy, broker, stores.jobs, runner, bookkeeping, heartbeat, pool)
