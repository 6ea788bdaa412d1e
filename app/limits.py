"""Admission control and the CPU budget.

`Admission` decides atomically, at request time, whether a job starts now, waits in the bounded
waiting room, or is refused with `Busy` (HTTP 429 + Retry-After). `CpuBudget` sizes threads,
priority and cores for heavy work so the API and the machine stay responsive.
"""

import asyncio
import heapq
import logging
import math
import os
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from app.cgroups import CgroupLimits
from app.errors import Busy, ServiceUnavailable
from app.jobs.kinds import typical_duration_s
from app.memory_room import MemoryRoom
from app.resources import affinity_cores

log = logging.getLogger("app.limits")

MAX_RETRY_AFTER_S = 600
MAX_PROMISES = 10_000  # refusals remembered per kind for spreading Retry-After


def _cgroup_cpu_limit() -> float | None:
    """CPUs allowed by this process's cgroup quota (the tightest up its tree, v1 or v2); None when unlimited."""
    limit = CgroupLimits.read().cpu
    return None if limit is None else limit.value


def available_cores() -> list[int]:
    """The CPU ids this process may use (affinity), cut to the cgroup quota."""
    ids = affinity_cores()
    limit = _cgroup_cpu_limit()
    if limit is not None:
        ids = ids[: max(1, math.floor(limit))]
    return ids


@dataclass(frozen=True)
class CpuBudget:
    """How much CPU heavy work may use: threads in all, at which nice, on which cores."""

    cores: int
    threads: int
    nice: int
    pinned_cores: tuple[int, ...]

    @classmethod
    def from_limits(cls, max_cpu_threads: int, cpu_usage_limit: float, nice: int) -> "CpuBudget":
        ids = available_cores()
        cores = len(ids)
        threads = max(1, math.floor(cores * cpu_usage_limit))
        if max_cpu_threads > 0:
            threads = min(max_cpu_threads, threads)
        pinned: tuple[int, ...] = ()
        if cores > 1:
            pinned = tuple(ids[-max(1, math.ceil(cores * cpu_usage_limit)) :])
        return cls(cores=cores, threads=threads, nice=nice, pinned_cores=pinned)

    def threads_per_job(self, running: int) -> int:
        """The budget shared among the jobs running now, never below one."""
        return max(1, self.threads // max(1, running))

    def enter_heavy_process(self) -> None:
        """For a child process started outside the heavy pool: the same nice and cores."""
        try:
            os.nice(max(0, self.nice - os.nice(0)))
            if self.pinned_cores:
                os.sched_setaffinity(0, self.pinned_cores)
        except OSError:
            pass

    def enter_heavy_thread(self) -> None:
        """Lower this thread's priority and pin it; its OpenMP team and children inherit both."""
        tid = threading.get_native_id()
        try:
            current = os.getpriority(os.PRIO_PROCESS, tid)
            if current < self.nice:
                os.setpriority(os.PRIO_PROCESS, tid, self.nice)
        except (AttributeError, OSError) as exc:
            log.warning("could not lower the priority of heavy thread %s: %s", tid, exc)
        if self.pinned_cores:
            try:
                os.sched_setaffinity(tid, self.pinned_cores)
            except (AttributeError, OSError) as exc:
                log.warning("could not pin heavy thread %s: %s", tid, exc)


@dataclass
class Ticket:
    """One admitted job's claim on slots; `granted` is set when its slots are held."""

    kind: str
    granted: asyncio.Event = field(default_factory=asyncio.Event)
    released: bool = False


class RetryPromises:
    """The times refused clients were told to come back, per kind, so that each new refusal is staggered after
    them: one job's share per client already told to come back before then; never more than the work ahead
    needs, however many clients ignore the figure. A promise lasts until its time; a named client that comes
    back early replaces its own promise instead of adding one."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._promised: dict[str, list[float]] = defaultdict(list)  # heaps of the times refused clients return
        self._promised_to: dict[str, dict[str, float]] = defaultdict(dict)  # the same, for clients that say who

    def promise(self, kind: str, client: str | None, share: float, opens_in: float, needed: float) -> int:
        """Retry-After in seconds: `opens_in` (when a place likely opens) staggered by `share` per client promised
        before, capped by `needed` (the work ahead) and MAX_RETRY_AFTER_S."""
        now = self._clock()
        promised, named = self._promised[kind], self._promised_to[kind]
        while promised and promised[0] <= now:
            heapq.heappop(promised)
        for name in [name for name, at in named.items() if at <= now]:
            del named[name]
        named.pop(client or "", None)
        staggered = opens_in + (len(promised) + len(named)) * share
        retry = int(min(MAX_RETRY_AFTER_S, max(1, math.ceil(min(staggered, needed)))))
        if client:
            named[client] = now + retry
        elif len(promised) < MAX_PROMISES:
            heapq.heappush(promised, now + retry)
        return retry


@dataclass
class KindStats:
    running: int = 0
    queued: int = 0
    peak_running: int = 0
    peak_queued: int = 0


class Admission:
    """Semaphores per kind plus a global heavy cap and one bounded waiting room."""

    def __init__(
        self,
        caps: dict[str, int],
        heavy_cap: int,
        max_queued: int,
        clock: Callable[[], float] = time.monotonic,
        max_queue_wait_s: float = math.inf,
        max_queue_wait_async_s: float = math.inf,
        memory: MemoryRoom | None = None,
    ) -> None:
        self.caps = dict(caps)
        self.memory = memory
        self.heavy_cap = heavy_cap
        self.max_queued = max_queued
        self.max_queue_wait_s = max_queue_wait_s
        self.max_queue_wait_async_s = max_queue_wait_async_s
        self._lock = threading.Lock()
        self._stats: dict[str, KindStats] = {kind: KindStats() for kind in caps}
        self._heavy_running = 0
        self._peak_heavy = 0
        self._waiting: deque[Ticket] = deque()
        self._extra_waiting: deque[tuple[str, asyncio.Event]] = deque()
        self._durations: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=20))
        self.promises = RetryPromises(clock)
        self.rejected = 0

    def _fits(self, kind: str) -> bool:
        if self._stats[kind].running >= self.caps[kind] or self._heavy_running >= self.heavy_cap:
            return False
        return self.memory is None or self.memory.fits(kind, alone=self._heavy_running == 0)

    def _start(self, ticket: Ticket) -> None:
        stats = self._stats[ticket.kind]
        stats.running += 1
        stats.peak_running = max(stats.peak_running, stats.running)
        self._heavy_running += 1
        self._peak_heavy = max(self._peak_heavy, self._heavy_running)
        if self.memory is not None:
            self.memory.start(id(ticket), ticket.kind)
        ticket.granted.set()

    def _can_start(self, kind: str) -> bool:
        return not self._waiting and self._fits(kind)

    def mean_duration(self, kind: str) -> float:
        """The recent mean run time of `kind` (a default guess before any ran)."""
        recent = self._durations[kind]
        return sum(recent) / len(recent) if recent else typical_duration_s(kind)

    def _work_ahead_s(self, kind: str) -> float:
        """Seconds of `kind` work running and queued, spread over the kind's slots."""
        stats = self._stats[kind]
        return (stats.running + stats.queued) * self.mean_duration(kind) / self.caps[kind]

    def _estimated_start_s(self, kind: str) -> float:
        """When one more `kind` job would likely start: once the work ahead beyond the free slots is done."""
        stats = self._stats[kind]
        beyond = max(0, stats.running + stats.queued + 1 - self.caps[kind])
        return beyond * self.mean_duration(kind) / self.caps[kind]

    def queue_bound_s(self, detached: bool) -> float:
        """How late a queued job may start: MAX_QUEUE_WAIT_S for a client that waits for its answer,
        MAX_QUEUE_WAIT_ASYNC_S (default none) for one answered at once with 202 (`detached`)."""
        return self.max_queue_wait_async_s if detached else self.max_queue_wait_s

    def _can_wait(self, kind: str, finish_within_s: float | None, bound_s: float) -> bool:
        """A place in the room, and a start within `bound_s` (and an end within the caller's wait)."""
        if len(self._waiting) >= self.max_queued:
            return False
        start = self._estimated_start_s(kind)
        if start > bound_s:
            return False
        return finish_within_s is None or start + self.mean_duration(kind) <= finish_within_s

    def admit(
        self, kind: str, finish_within_s: float | None = None, client: str | None = None, detached: bool = False
    ) -> Ticket:
        """Start now, wait in the room, or raise `Busy`: decided under one lock, nothing awaited.
        `finish_within_s`: the caller waits that long for the end (wait=true); `client`: who is asking, so
        that one who comes back early is not promised a second time; `detached`: the caller is answered at
        once (202) and polls, so its queued start is bounded by MAX_QUEUE_WAIT_ASYNC_S, not MAX_QUEUE_WAIT_S."""
        self._check_memory(kind)
        with self._lock:
            ticket = Ticket(kind)
            if self._can_start(kind):
                self._start(ticket)
                return ticket
            bound = self.queue_bound_s(detached)
            if self._can_wait(kind, finish_within_s, bound):
                self._waiting.append(ticket)
                stats = self._stats[kind]
                stats.queued += 1
                stats.peak_queued = max(stats.peak_queued, stats.queued)
                return ticket
            busy = self._refuse(kind, client, bound)
        raise busy

    def can_start(self, kind: str) -> bool:
        """Whether one more `kind` job would start now (a worker takes work from the queue only then)."""
        with self._lock:
            return self._can_start(kind)

    def _door_bound_s(self) -> float:
        """At the door a request's body is unread: the looser of the two time bounds."""
        return max(self.max_queue_wait_s, self.max_queue_wait_async_s)

    def has_room(self, kind: str) -> bool:
        """Whether some request for `kind` could be admitted now (nothing admitted, nothing promised)."""
        with self._lock:
            return self._can_start(kind) or self._can_wait(kind, None, self._door_bound_s())

    def _check_memory(self, kind: str) -> None:
        """503 naming both figures when even alone a `kind` job cannot fit the memory limit."""
        reason = self.memory.too_small(kind) if self.memory is not None else None
        if reason is not None:
            raise ServiceUnavailable(reason)

    def check_room(self, kind: str, client: str | None = None) -> None:
        """Raise `Busy` when `admit(kind)` would, admitting nothing: refuses a request before its body is read."""
        self._check_memory(kind)
        with self._lock:
            bound = self._door_bound_s()
            if self._can_start(kind) or self._can_wait(kind, None, bound):
                return
            busy = self._refuse(kind, client, bound)
        raise busy

    def _refuse(self, kind: str, client: str | None, bound_s: float) -> Busy:
        self.rejected += 1
        retry = self._promise_retry(kind, client, bound_s)
        return Busy(
            f"The server is busy with {kind} jobs (all slots and the waiting room are taken); retry in {retry} s.",
            retry_after=retry,
        )

    def _promise_retry(self, kind: str, client: str | None, bound_s: float) -> int:
        """Seconds until the room likely has a place for one more client (see `RetryPromises`)."""
        share = self.mean_duration(kind) / self.caps[kind]
        if len(self._waiting) >= self.max_queued:  # the room is full: a place opens as the queued jobs start
            opens_in = (self._stats[kind].queued + 1) * share
        else:  # the room has places, but this job would start later than its time bound
            opens_in = max(0.0, self._estimated_start_s(kind) - bound_s) + share
        return self.promises.promise(kind, client, share, opens_in, self._work_ahead_s(kind) + share)

    def _dispatch(self) -> None:
        for kind, event in list(self._extra_waiting):
            if self._stats[kind].running < self.caps[kind]:
                self._extra_waiting.remove((kind, event))
                self._stats[kind].running += 1
                self._stats[kind].peak_running = max(self._stats[kind].peak_running, self._stats[kind].running)
                event.set()
        for ticket in list(self._waiting):
            if self._fits(ticket.kind):
                self._waiting.remove(ticket)
                self._stats[ticket.kind].queued -= 1
                self._start(ticket)

    def release(self, ticket: Ticket, duration_s: float | None = None) -> None:
        """Give back a ticket's slots (or its place in the room) and start whoever now fits."""
        with self._lock:
            if ticket.released:
                return
            ticket.released = True
            if ticket.granted.is_set():
                self._stats[ticket.kind].running -= 1
                self._heavy_running -= 1
                if self.memory is not None:
                    self.memory.end(id(ticket))
                if duration_s is not None:
                    self._durations[ticket.kind].append(duration_s)
            elif ticket in self._waiting:
                self._waiting.remove(ticket)
                self._stats[ticket.kind].queued -= 1
            self._dispatch()

    @asynccontextmanager
    async def extra_slot(self, kind: str) -> AsyncIterator[None]:
        """Hold one more slot of `kind` (no heavy slot) inside a running job, e.g. narration in a video."""
        event = asyncio.Event()
        with self._lock:
            if self._stats[kind].running < self.caps[kind] and not self._extra_waiting:
                self._stats[kind].running += 1
                stats = self._stats[kind]
                stats.peak_running = max(stats.peak_running, stats.running)
                event.set()
            else:
                self._extra_waiting.append((kind, event))
        try:
            await event.wait()
            yield
        finally:
            with self._lock:
                if (kind, event) in self._extra_waiting:
                    self._extra_waiting.remove((kind, event))
                elif event.is_set():
                    self._stats[kind].running -= 1
                self._dispatch()

    def running(self, kind: str | None = None) -> int:
        with self._lock:
            return self._heavy_running if kind is None else self._stats[kind].running

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "heavy": {
                    "running": self._heavy_running,
                    "cap": self.heavy_cap,
                    "peak_running": self._peak_heavy,
                },
                "queued_total": len(self._waiting),
                **({"memory": self.memory.snapshot()} if self.memory is not None else {}),
                "max_queued": self.max_queued,
                "rejected": self.rejected,
                "kinds": {
                    kind: {
                        "running": s.running,
                        "queued": s.queued,
                        "cap": self.caps[kind],
                        "peak_running": s.peak_running,
                        "peak_queued": s.peak_queued,
                        "recent_durations_s": [round(d, 3) for d in self._durations[kind]],
                    }
                    for kind, s in self._stats.items()
                },
            }
