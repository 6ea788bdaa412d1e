"""Runs admitted jobs: waits for their slots, does the heavy work in a bounded thread pool,
stores the result atomically and records every transition."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import Busy, DomainError, first_line
from app.limits import Admission, CpuBudget, Ticket
from app.services.ffmpeg import RenderFailed
from app.services.jobs import FAILED, PROCESSING, QUEUED, READY, Job, JobStore
from app.services.storage import MEDIA_TYPES, FileStorage, new_file_id

log = logging.getLogger("app.jobs")


@dataclass
class JobOutput:
    """What a handler produced: a finished file in the job's work dir and facts about it."""

    file: Path
    ext: str
    info: dict = field(default_factory=dict)


class JobContext:
    """What a handler may use while it runs in a worker thread."""

    def __init__(self, runner: "JobRunner", job: Job) -> None:
        self._runner = runner
        self.job = job
        self.work_dir = runner.storage.work_dir(job.id)
        self._last_progress = 0.0

    def threads(self) -> int:
        """This job's share of the CPU budget, given the heavy jobs running right now."""
        return self._runner.budget.threads_per_job(self._runner.admission.running())

    def progress(self, percent: float) -> None:
        """Record progress; raises `ServerStopping` once the server shuts down, so heavy work ends early."""
        if self._runner.stopping:
            raise ServerStopping("The server is stopping.")
        percent = max(0.0, min(99.0, percent))
        if percent - self._last_progress >= 1.0:
            self._last_progress = percent
            self._runner.store.update(self.job.id, progress=round(percent, 1))

    @contextmanager
    def extra_slot(self, kind: str) -> Iterator[None]:
        """Hold one more slot of `kind` (no heavy slot) for a part of this job."""
        manager = self._runner.admission.extra_slot(kind)
        loop = self._runner.loop
        asyncio.run_coroutine_threadsafe(manager.__aenter__(), loop).result()
        try:
            yield
        finally:
            asyncio.run_coroutine_threadsafe(manager.__aexit__(None, None, None), loop).result()


class ServerStopping(Exception):
    """Raised inside a running job when the server shuts down; the job stays unfinished for the next start."""


Handler = Callable[[Job, JobContext], JobOutput]
EndHook = Callable[[Job], Awaitable[None]]


def log_transition(job: Job, status: str, duration_s: float, detail: str = "") -> None:
    """One line per job transition with its id, kind and duration (structured fields for JSON logs)."""
    log.info(
        "job %s %s %s %.3f s%s",
        job.id,
        job.kind,
        status,
        duration_s,
        f": {detail}" if detail else "",
        extra={"job_id": job.id, "kind": job.kind, "status": status, "duration_s": round(duration_s, 3)},
    )


def failure_message(exc: BaseException) -> str:
    if isinstance(exc, DomainError | RenderFailed):
        return exc.message
    text = first_line(exc)
    return f"{type(exc).__name__}: {text}" if text else f"The job failed with {type(exc).__name__}."


class JobRunner:
    def __init__(
        self,
        store: JobStore,
        storage: FileStorage,
        admission: Admission,
        budget: CpuBudget,
        handlers: dict[str, Handler],
        workers: int,
    ) -> None:
        self.store = store
        self.storage = storage
        self.admission = admission
        self.budget = budget
        self.handlers = handlers
        self.executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="heavy", initializer=budget.enter_heavy_thread
        )
        self.end_hooks: list[EndHook] = []
        self._done: dict[str, asyncio.Event] = {}
        self._tickets: dict[str, Ticket] = {}
        self._tasks: dict[str, asyncio.Task] = {}
        try:
            self.loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None
        self.stopping = False

    def submit(
        self, kind: str, params: dict, ticket: Ticket, name: str | None = None, webhook_url: str | None = None
    ) -> Job:
        """Record an admitted job and start it; returns at once."""
        self.loop = asyncio.get_running_loop()
        job = Job(id=new_file_id(), kind=kind, params=params, name=name, webhook_url=webhook_url)
        self.store.create(job)
        log_transition(job, QUEUED, 0.0)
        self._start(job, ticket)
        return job

    def _start(self, job: Job, ticket: Ticket) -> None:
        self._done[job.id] = asyncio.Event()
        self._tickets[job.id] = ticket
        self._tasks[job.id] = asyncio.create_task(self._run(job, ticket))

    def record_file(self, kind: str, produced: Path, ext: str, info: dict, name: str | None) -> Job:
        """A file that needs no processing (an upload): stored and ready at once."""
        job = Job(id=new_file_id(), kind=kind, status=READY, progress=100.0, name=name, result=info)
        job.filename = self.storage.commit(job.id, produced, ext)
        job.media_type = MEDIA_TYPES.get(ext, "application/octet-stream")
        job.started_at = job.finished_at = time.time()
        self.store.create(job)
        log_transition(job, READY, 0.0, "stored upload")
        return job

    async def _run(self, job: Job, ticket: Ticket) -> None:
        queued_at = time.monotonic()
        started = None
        try:
            await ticket.granted.wait()
            started = time.monotonic()
            self.store.update(job.id, status=PROCESSING, started_at=time.time())
            log_transition(job, PROCESSING, started - queued_at, "time spent queued")
            context = JobContext(self, job)
            output = await asyncio.get_running_loop().run_in_executor(
                self.executor, self.handlers[job.kind], job, context
            )
            filename = self.storage.commit(job.id, output.file, output.ext)
            self.store.update(
                job.id,
                status=READY,
                progress=100.0,
                filename=filename,
                media_type=MEDIA_TYPES.get(output.ext, "application/octet-stream"),
                result=output.info,
                finished_at=time.time(),
            )
            log_transition(job, READY, time.monotonic() - started)
        except asyncio.CancelledError:
            if not self.stopping:
                self._fail(job, "The job was cancelled.", started or queued_at)
            raise
        except Exception as exc:
            self._fail(job, failure_message(exc), started or queued_at)
            if not isinstance(exc, DomainError):
                log.exception("job %s %s raised", job.id, job.kind)
        finally:
            duration = time.monotonic() - started if started else None
            self.admission.release(ticket, duration)
            self._tickets.pop(job.id, None)
            self._tasks.pop(job.id, None)
            event = self._done.pop(job.id, None)
            if event:
                event.set()
        final = self.store.get(job.id)
        if final is not None:
            for hook in self.end_hooks:
                await hook(final)

    def _fail(self, job: Job, message: str, since: float) -> None:
        self.storage.discard_work(job.id)
        self.store.update(job.id, status=FAILED, error=message, finished_at=time.time())
        log_transition(job, FAILED, time.monotonic() - since, message)

    def cancel_queued(self, job_id: str) -> bool:
        """Cancel a job still waiting for its slots; False when it already runs or ended."""
        job = self.store.get(job_id)
        ticket = self._tickets.get(job_id)
        if job is None or job.status != QUEUED or ticket is None or ticket.granted.is_set():
            return False
        self.admission.release(ticket)
        self._tasks[job_id].cancel()
        return True

    async def wait(self, job_id: str, timeout: float) -> Job | None:
        """Wait for a job to end (at most `timeout` s) and return its record."""
        event = self._done.get(job_id)
        if event is not None:
            with suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        return self.store.get(job_id)

    def fail_interrupted(self, message: str) -> list[Job]:
        """Jobs left queued or running by a previous process end `failed` (or are returned to re-run)."""
        jobs = self.store.unfinished()
        for job in jobs:
            self.storage.discard_work(job.id)
            self.store.update(job.id, status=FAILED, error=message, finished_at=time.time())
            log_transition(job, FAILED, 0.0, message)
        return jobs

    def requeue_interrupted(self, message: str) -> list[Job]:
        """REQUEUE_INTERRUPTED: run again what a previous process left unfinished, while there is room."""
        self.loop = asyncio.get_running_loop()
        requeued = []
        for job in self.store.unfinished():
            try:
                ticket = self.admission.admit(job.kind)
            except Busy:
                self.storage.discard_work(job.id)
                self.store.update(job.id, status=FAILED, error=message, finished_at=time.time())
                log_transition(job, FAILED, 0.0, message)
                continue
            self.storage.discard_work(job.id)
            self.store.update(job.id, status=QUEUED, progress=0.0, started_at=None)
            log_transition(job, QUEUED, 0.0, "again after a restart")
            self._start(job, ticket)
            requeued.append(job)
        return requeued

    async def shutdown(self) -> None:
        """Stop without touching unfinished records: the next start decides what happens to them."""
        self.stopping = True
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.to_thread(self.executor.shutdown, wait=True, cancel_futures=True)
