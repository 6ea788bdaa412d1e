"""Job events across the cluster: workers and web nodes publish them on a Redis channel; every web node relays
them into its own `EventBus` (the live stream) and wakes the requests that wait for those jobs."""

import asyncio
import json
import logging
from collections import defaultdict
from dataclasses import asdict
from typing import Any

import redis
import redis.asyncio

from app.cluster import keys
from app.services.events import EventBus
from app.services.jobs import Job, JobStatus

log = logging.getLogger("app.cluster")
RECONNECT_S = 1.0


def encode(name: str, job: Job) -> str:
    return json.dumps({"event": name, "job": asdict(job)})


def decode(data: str) -> tuple[str, Job]:
    body: dict[str, Any] = json.loads(data)
    values = dict(body["job"])
    values["status"] = JobStatus(values["status"])
    return str(body["event"]), Job(**values)


class PublishedEvents(EventBus):
    """The bus a worker's runner announces on: every event goes to the channel (Redis trouble is only logged:
    an event is never worth failing a job)."""

    def __init__(self, client: redis.Redis) -> None:
        super().__init__()
        self._redis = client

    @property
    def subscribers(self) -> int:
        return 1

    def publish(self, name: str, job: Job) -> None:
        try:
            self._redis.publish(keys.EVENTS, encode(name, job))
        except redis.RedisError as exc:
            log.warning("job event %s of %s not published: %s", name, job.id, exc)


class EventRelay:
    """A web node's listener: channel → local bus, and the end of each job → the requests waiting for it."""

    def __init__(self, url: str, bus: EventBus) -> None:
        self._url = url
        self.bus = bus
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self.connected = asyncio.Event()

    def waiter(self, job_id: str) -> asyncio.Event:
        event = asyncio.Event()
        self._waiters[job_id].add(event)
        return event

    def forget(self, job_id: str, event: asyncio.Event) -> None:
        waiting = self._waiters.get(job_id)
        if waiting is not None:
            waiting.discard(event)
            if not waiting:
                del self._waiters[job_id]

    def deliver(self, data: str) -> None:
        name, job = decode(data)
        self.bus.publish(name, job)
        if job.status in (JobStatus.READY, JobStatus.FAILED):
            for event in self._waiters.get(job.id, ()):
                event.set()

    async def run(self) -> None:
        """Listen until cancelled, reconnecting after Redis restarts."""
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.connected.clear()
                log.warning("job events: %s; listening again in %g s", exc, RECONNECT_S)
                await asyncio.sleep(RECONNECT_S)

    async def _listen(self) -> None:
        client = redis.asyncio.Redis.from_url(self._url, decode_responses=True)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(keys.EVENTS)
                self.connected.set()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self.deliver(str(message["data"]))
        finally:
            await client.aclose()
