"""The in-process bus of job events (queued, progress, ready, failed) behind `GET /api/v1/media/jobs/events`.

The runner publishes from the event loop and from heavy threads; publishing never blocks and never fails.
Each subscriber has its own bounded buffer: one that falls `limit` events behind is dropped (its stream ends
after what it had buffered, and an EventSource reconnects), so a slow client never holds up a job.
"""

import asyncio
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from app.services.jobs import Job

EVENTS = ("queued", "progress", "ready", "failed")
SUBSCRIBER_LIMIT = 1000
"""Events one subscriber may have waiting before it is dropped."""


@dataclass(frozen=True)
class JobEvent:
    name: str
    job: Job


class SubscriptionEnded(Exception):
    """The bus closed (the server is stopping) or the subscriber fell too far behind, and its buffer is read."""


class Subscription:
    """One listener's buffer, read on the event loop it was made on."""

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: int) -> None:
        self._loop = loop
        self._limit = limit
        self._events: deque[JobEvent] = deque()
        self._wakeup = asyncio.Event()
        self.ended = False
        self.dropped = False

    def offer(self, event: JobEvent | None) -> None:
        """From any thread: queue `event` (None: end) on the subscriber's loop, in publishing order."""
        with suppress(RuntimeError):  # the loop is closed: nobody reads any more
            self._loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: JobEvent | None) -> None:
        if self.ended:
            return
        if event is None:
            self.ended = True
        elif len(self._events) >= self._limit:
            self.ended = self.dropped = True
        else:
            self._events.append(event)
        self._wakeup.set()

    async def next(self, wait_s: float) -> JobEvent | None:
        """The next event; None when none came within `wait_s`; SubscriptionEnded once ended and read out."""
        while not self._events:
            if self.ended:
                raise SubscriptionEnded
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), wait_s)
            except TimeoutError:
                return None
        return self._events.popleft()


class EventBus:
    """Fan-out of job events to every subscription; `close` ends them all (and any made afterwards)."""

    def __init__(self, limit: int = SUBSCRIBER_LIMIT) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._subscriptions: set[Subscription] = set()
        self.closed = False

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    @contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        """A subscription for the running event loop, for the length of the block."""
        subscription = Subscription(asyncio.get_running_loop(), self._limit)
        with self._lock:
            if self.closed:
                subscription.offer(None)
            else:
                self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            with self._lock:
                self._subscriptions.discard(subscription)

    def publish(self, name: str, job: Job) -> None:
        """From any thread, at once: `name` (one of EVENTS) for `job` to every subscriber."""
        event = JobEvent(name, job)
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.offer(event)

    def close(self) -> None:
        """End every stream: the server is stopping."""
        with self._lock:
            self.closed = True
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.offer(None)
