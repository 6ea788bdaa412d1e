"""The one path of heavy work: admit → wait for the slot → run in the heavy executor → release with the duration.

Jobs, the OpenAI inline speech and a video's narration all go through here. Every slot has its kind's
time limit: past it, the work's cancel scope is cancelled (which kills its ffmpeg or engine call), the
caller gets `TimedOut`, and the slot is freed.
"""

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any, TypeVar

from app.errors import DomainError
from app.limits import Admission, CpuBudget, Ticket
from app.services.cancellation import Cancelled, CancelScope, current_scope, kill_on_cancel

log = logging.getLogger("app.heavy")

T = TypeVar("T")
STOP_GRACE_S = 10.0
"""How long a cancelled piece of work may take to notice (its process killed) before its slot is freed anyway."""
STOPPING = "The server is stopping."


class TimedOut(DomainError):
    """Heavy work ran past its kind's time limit and was stopped."""

    status_code = 504


class Slot:
    """Slots granted to one admitted ticket: run work in the executor until the kind's deadline."""

    def __init__(self, heavy: "HeavyWork", ticket: Ticket, limit_s: float) -> None:
        self._heavy = heavy
        self.ticket = ticket
        self.limit_s = limit_s
        self.started = time.monotonic()
        self.scope = CancelScope()

    @property
    def timed_out(self) -> str:
        """What the caller is told when the work ran past the limit."""
        return (
            f"The {self.ticket.kind} job ran past its time limit of {self.limit_s:g} s (JOB_TIMEOUT_S) and was stopped."
        )

    def remaining(self) -> float:
        return self.limit_s - (time.monotonic() - self.started)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a heavy thread with this slot's cancel scope current; `TimedOut` past the deadline."""
        if self._heavy.stopping:
            raise Cancelled(STOPPING)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._heavy.executor, self._in_scope, fn, args)
        try:
            return await asyncio.wait_for(asyncio.shield(future), max(0.0, self.remaining()))
        except TimeoutError:
            message = self.timed_out
            await self._stop(future, message)
            raise TimedOut(message) from None
        except asyncio.CancelledError:
            await self._finish_after_cancel(future)
            raise

    async def _finish_after_cancel(self, future: "asyncio.Future[Any]") -> None:
        """The caller went away (a client disconnected mid-stream): the work in its thread still ends, within
        its time limit, before the slot is given back, so the count of running work stays true. Killing it
        would take the engine process, and every other call in it, down; at shutdown it is killed at once."""
        if self._heavy.stopping:
            await self._stop(future, STOPPING)
            return
        try:
            await asyncio.wait_for(asyncio.shield(future), max(0.0, self.remaining()))
        except TimeoutError:
            await self._stop(future, self.timed_out)
        except BaseException:
            log.debug("work whose caller went away ended with an error", exc_info=True)

    def _in_scope(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self.scope.active():
            self.scope.check()
            return fn(*args)

    async def _stop(self, future: "asyncio.Future[Any]", reason: str) -> None:
        self.scope.cancel(reason)
        with suppress(BaseException):
            await asyncio.wait_for(future, STOP_GRACE_S)


class HeavyWork:
    """Admission, the CPU budget, the heavy thread pool and the time limit of each kind, in one place."""

    def __init__(self, admission: Admission, budget: CpuBudget, workers: int, timeouts: Mapping[str, float]) -> None:
        self.admission = admission
        self.budget = budget
        self.timeouts = dict(timeouts)
        self.executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="heavy", initializer=budget.enter_heavy_thread
        )
        self._slots: set[Slot] = set()
        self.stopping = False

    def admit(
        self, kind: str, finish_within_s: float | None = None, client: str | None = None, detached: bool = False
    ) -> Ticket:
        """Start now, wait in the room, or raise `Busy` at once (see `Admission.admit`)."""
        return self.admission.admit(kind, finish_within_s, client, detached)

    def threads(self) -> int:
        """One piece of work's share of the CPU budget, given the heavy work running right now."""
        return self.budget.threads_per_job(self.admission.running())

    def limit_for(self, kind: str) -> float:
        return self.timeouts.get(kind, max(self.timeouts.values(), default=3600.0))

    @asynccontextmanager
    async def slot(self, ticket: Ticket) -> AsyncIterator[Slot]:
        """Wait for the ticket's slots, hold them for the block, release them with the time they were held."""
        try:
            await ticket.granted.wait()
        except BaseException:
            self.admission.release(ticket)
            raise
        slot = Slot(self, ticket, self.limit_for(ticket.kind))
        self._slots.add(slot)
        try:
            yield slot
        finally:
            self._slots.discard(slot)
            self.admission.release(ticket, time.monotonic() - slot.started)

    async def run(self, ticket: Ticket, fn: Callable[..., T], *args: Any) -> T:
        """The whole path for one piece of work: wait for the slot, run, release."""
        async with self.slot(ticket) as slot:
            return await slot.run(fn, *args)

    @contextmanager
    def extra_slot(self, kind: str, loop: asyncio.AbstractEventLoop) -> Iterator[None]:
        """From a heavy thread: hold one more slot of `kind` (no heavy slot) for a part of the work."""
        manager = self.admission.extra_slot(kind)
        entered = asyncio.run_coroutine_threadsafe(manager.__aenter__(), loop)
        with kill_on_cancel(entered.cancel):
            try:
                entered.result()
            except concurrent.futures.CancelledError:
                scope = current_scope()
                raise Cancelled(scope.reason if scope and scope.reason else STOPPING) from None
        try:
            yield
        finally:
            asyncio.run_coroutine_threadsafe(manager.__aexit__(None, None, None), loop).result()

    async def shutdown(self) -> None:
        """Stop every running piece of work (killing its processes) and the thread pool."""
        self.stopping = True
        for slot in list(self._slots):
            slot.scope.cancel(STOPPING)
        await asyncio.to_thread(self.executor.shutdown, wait=True, cancel_futures=True)
