"""Runs admitted jobs on the heavy-work path, stores their output file atomically and records every transition."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.errors import Busy, DomainError, first_line
from app.limits import Ticket
from app.services.cancellation import Cancelled
from app.services.events import EventBus
from app.services.ffmpeg import RenderFailed
from app.services.files import Files
from app.services.heavy import HeavyWork
from app.services.jobs import Job, Jobs, JobStatus
from app.services.storage import new_file_id

log = logging.getLogger("app.jobs")


@dataclass
class ExtraFile:
    """One more file a job made besides its main output (e.g. each segment of a split), stored under its own id."""

    file: Path
    ext: str
    name: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class JobOutput:
    """What a handler produced: a finished file in the job's work dir, facts about it, and any extra files
    (listed in the facts as `files`: `[{file_id, name}]`)."""

    file: Path
    ext: str
    facts: dict[str, Any] = field(default_factory=dict)
    extra: list[ExtraFile] = field(default_factory=list)


class JobContext:
    """What a handler may use while it runs in a heavy thread."""

    def __init__(self, runner: "JobRunner", job: Job, loop: asyncio.AbstractEventLoop) -> None:
        self._runner = runner
        self._loop = loop
        self.job = job
        self.work_dir = runner.files.storage.work_dir(job.id)
        self._last_progress = 0.0

    def threads(self) -> int:
        """This job's share of the CPU budget, given the heavy work running right now."""
        return self._runner.heavy.threads()

    def progress(self, percent: float) -> None:
        """Record progress (at most every whole percent)."""
        percent = max(0.0, min(99.0, percent))
        if percent - self._last_progress >= 1.0:
            self._last_progress = percent
            try:
                self._runner.jobs.update(self.job.id, progress=round(percent, 1))
                self._runner.announce("progress", self.job)
            except Exception as exc:  # progress is advice: a record store away for a moment never fails the job
                log.warning("progress of job %s not recorded: %s", self.job.id, first_line(exc))

    @contextmanager
    def extra_slot(self, kind: str) -> Iterator[None]:
        """Hold one more slot of `kind` (no heavy slot) for a part of this job, e.g. a video's narration."""
        with self._runner.heavy.extra_slot(kind, self._loop):
            yield


Handler = Callable[[Job, JobContext], JobOutput]
EndHook = Callable[[Job], Awaitable[None]]


def log_transition(job: Job, status: JobStatus, duration_s: float, detail: str = "") -> None:
    """One line per job transition with its id, kind and duration (structured fields for JSON logs)."""
    log.info(
        "job %s %s %s %.3f s%s",
        job.id,
        job.kind,
        status,
        duration_s,
        f": {detail}" if detail else "",
        extra={"job_id": job.id, "kind": job.kind, "status": str(status), "duration_s": round(duration_s, 3)},
    )


def failure_message(exc: BaseException) -> str:
    if isinstance(exc, DomainError | RenderFailed | Cancelled):
        return exc.message
    text = first_line(exc)
    return f"{type(exc).__name__}: {text}" if text else f"The job failed with {type(exc).__name__}."


class JobRunner:
    """Jobs on the heavy-work path: queued → processing → ready (with an output file) or failed."""

    def __init__(
        self,
        jobs: Jobs,
        files: Files,
        heavy: HeavyWork,
        handlers: Mapping[str, Handler],
        end_hooks: Sequence[EndHook] = (),
        events: EventBus | None = None,
        claim_end: Callable[[Job], bool] = lambda _: True,
    ) -> None:
        self.jobs = jobs
        self.files = files
        self.heavy = heavy
        self.handlers = dict(handlers)
        self.end_hooks = list(end_hooks)
        self.events = events or EventBus()
        self.claim_end = claim_end
        """Asked before a job's end is recorded: False when another attempt already ended it (cluster mode)."""
        self._done: dict[str, asyncio.Event] = {}
        self._tickets: dict[str, Ticket] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

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
        """Record an admitted job (its result going to `folder`, made now if missing) and start it; returns at once."""
        job = Job(
            id=new_file_id(),
            kind=kind,
            params=params,
            name=name,
            webhook_url=webhook_url,
            dedup_key=dedup_key,
            folder=folder,
        )
        self.files.folders.ensure(folder)
        self.jobs.create(job)
        log_transition(job, JobStatus.QUEUED, 0.0)
        self.announce("queued", job)
        self._start(job, ticket)
        return job

    async def run_existing(self, job: Job, ticket: Ticket) -> None:
        """Run a job already recorded (taken from the cluster's queue) with its ticket; return when it ended."""
        self.jobs.update(job.id, status=JobStatus.QUEUED, progress=0.0, started_at=None, error=None)
        self._start(job, ticket)
        await asyncio.shield(self._tasks[job.id])

    async def fail_existing(self, job: Job, message: str) -> None:
        """End a recorded job failed without running it (cluster: its attempts are used up)."""
        if await asyncio.to_thread(self._fail, job, message, time.monotonic()):
            await self._after(job.id)

    def _start(self, job: Job, ticket: Ticket) -> None:
        self._done[job.id] = asyncio.Event()
        self._tickets[job.id] = ticket
        self._tasks[job.id] = asyncio.create_task(self._run(job, ticket))

    async def _run(self, job: Job, ticket: Ticket) -> None:
        queued_at = time.monotonic()
        started: float | None = None
        try:
            async with self.heavy.slot(ticket) as slot:
                started = time.monotonic()
                self.jobs.update(job.id, status=JobStatus.PROCESSING, started_at=time.time())
                log_transition(job, JobStatus.PROCESSING, started - queued_at, "time spent queued")
                self.announce("progress", job)
                context = JobContext(self, job, asyncio.get_running_loop())
                output = await slot.run(self.handler_for(job), job, context)
                if not await asyncio.to_thread(self._finish, job, output):
                    return
                log_transition(job, JobStatus.READY, time.monotonic() - started)
        except asyncio.CancelledError:
            if not self.heavy.stopping:
                self._fail(job, "The job was cancelled.", started or queued_at)
            raise
        except Exception as exc:
            if self.heavy.stopping and isinstance(exc, Cancelled):
                return  # left unfinished: the next start fails or requeues it
            if not self._fail(job, failure_message(exc), started or queued_at):
                return
            if not isinstance(exc, DomainError | RenderFailed | Cancelled):
                log.exception("job %s %s raised", job.id, job.kind)
        finally:
            self._tickets.pop(job.id, None)
            self._tasks.pop(job.id, None)
            event = self._done.pop(job.id, None)
            if event:
                event.set()
        await self._after(job.id)

    def handler_for(self, job: Job) -> Handler:
        """The handler of the job's operation when one is registered under that name, else of its kind."""
        operation = job.params.get("operation")
        if isinstance(operation, str) and operation in self.handlers:
            return self.handlers[operation]
        return self.handlers[job.kind]

    def _finish(self, job: Job, output: JobOutput) -> bool:
        """Commit the output files (into the job's folder, as it stands now), then mark the job ready: nothing
        half-written is ever reported ready. False (nothing committed) when another attempt already ended it."""
        job = self.jobs.get(job.id) or job  # renamed or moved while it ran
        if not self.claim_end(job):
            self.files.storage.discard_work(job.id)
            return False
        if output.extra:
            listed = []
            for extra in output.extra:
                extra_id = new_file_id()
                self.files.add(
                    extra_id, extra.file, extra.ext, extra.name, extra.facts, source_job=job.id, folder=job.folder
                )
                listed.append({"file_id": extra_id, "name": extra.name})
            output.facts["files"] = listed
        self.files.add(job.id, output.file, output.ext, job.name, output.facts, source_job=job.id, folder=job.folder)
        self.jobs.update(job.id, status=JobStatus.READY, progress=100.0, output_file_id=job.id, finished_at=time.time())
        self.announce("ready", job)
        return True

    def announce(self, event: str, job: Job) -> None:
        """Publish `event` for `job` to the live event stream, with its record as it stands now."""
        if self.events.subscribers:
            self.events.publish(event, self.jobs.get(job.id) or job)

    async def _after(self, job_id: str) -> None:
        final = self.jobs.get(job_id)
        if final is not None:
            for hook in self.end_hooks:
                await hook(final)

    def _fail(self, job: Job, message: str, since: float) -> bool:
        """Record the job failed with `message`; False when another attempt already ended it."""
        self.files.storage.discard_work(job.id)
        if not self.claim_end(job):
            return False
        self.jobs.update(job.id, status=JobStatus.FAILED, error=message, finished_at=time.time())
        log_transition(job, JobStatus.FAILED, time.monotonic() - since, message)
        self.announce("failed", replace(job, status=JobStatus.FAILED, error=message))  # replace: when deleted
        return True

    def cancel_queued(self, job_id: str) -> bool:
        """Cancel a job still waiting for its slots; False when it already runs or ended."""
        job = self.jobs.get(job_id)
        ticket = self._tickets.get(job_id)
        if job is None or job.status != JobStatus.QUEUED or ticket is None or ticket.granted.is_set():
            return False
        self.heavy.admission.release(ticket)
        self._tasks[job_id].cancel()
        return True

    async def wait(self, job_id: str, timeout: float) -> Job | None:
        """Wait for a job to end (at most `timeout` s) and return its record."""
        event = self._done.get(job_id)
        if event is not None:
            with suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        return self.jobs.get(job_id)

    def fail_interrupted(self, message: str) -> list[Job]:
        """Jobs left queued or running by a previous process end `failed`."""
        jobs = self.jobs.unfinished()
        for job in jobs:
            self._fail(job, message, time.monotonic())
        return jobs

    def requeue_interrupted(self, message: str) -> list[Job]:
        """REQUEUE_INTERRUPTED: run again what a previous process left unfinished, while there is room."""
        requeued = []
        for job in self.jobs.unfinished():
            try:
                ticket = self.heavy.admit(job.kind)
            except Busy:
                self._fail(job, message, time.monotonic())
                continue
            self.files.storage.discard_work(job.id)
            self.jobs.update(job.id, status=JobStatus.QUEUED, progress=0.0, started_at=None)
            log_transition(job, JobStatus.QUEUED, 0.0, "again after a restart")
            self.announce("queued", job)
            self._start(job, ticket)
            requeued.append(job)
        return requeued

    async def shutdown(self) -> None:
        """Stop without touching unfinished records: the next start decides what happens to them."""
        self.events.close()
        await self.heavy.shutdown()
        for task in list(self._tasks.values()):
            task.cancel()
        for task in list(self._tasks.values()):
            with suppress(BaseException):
                await task
