"""The job event bus: fan-out in publishing order from any thread, bounded buffers, and an end when it closes."""

import asyncio
import json
import threading

import pytest

from app.routes.events import job_event_stream
from app.services.events import EventBus, JobEvent, Subscription, SubscriptionEnded
from app.services.jobs import Job, JobStatus

WAIT_S = 60.0
"""Far longer than any delivery takes: a test that waits this long has failed."""


def job(number: int, status: JobStatus = JobStatus.PROCESSING, progress: float = 0.0) -> Job:
    return Job(id=f"{number:032x}", kind="audio", status=status, progress=progress, created_at=1.0)


async def read(subscription: Subscription, count: int) -> list[JobEvent]:
    events = []
    for _ in range(count):
        event = await subscription.next(WAIT_S)
        assert event is not None, "an event did not arrive"
        events.append(event)
    return events


async def test_every_subscriber_gets_every_event_in_publishing_order() -> None:
    bus = EventBus()
    with bus.subscribe() as first, bus.subscribe() as second:
        bus.publish("queued", job(1, JobStatus.QUEUED))
        bus.publish("progress", job(1, progress=50))
        bus.publish("ready", job(1, JobStatus.READY, 100))
        for subscription in (first, second):
            assert [event.name for event in await read(subscription, 3)] == ["queued", "progress", "ready"]
    assert bus.subscribers == 0


async def test_events_published_from_threads_arrive_in_the_order_they_were_published() -> None:
    bus = EventBus()
    with bus.subscribe() as subscription:
        bus.publish("queued", job(1, JobStatus.QUEUED))
        worker = threading.Thread(target=lambda: [bus.publish("progress", job(1, progress=p)) for p in range(1, 51)])
        worker.start()
        await asyncio.to_thread(worker.join)
        bus.publish("ready", job(1, JobStatus.READY, 100))
        events = await read(subscription, 52)
    assert [event.name for event in events] == ["queued", *["progress"] * 50, "ready"]
    assert [event.job.progress for event in events[1:-1]] == list(range(1, 51))


async def test_a_subscriber_that_never_reads_is_dropped_and_never_holds_up_the_others() -> None:
    bus = EventBus(limit=5)
    with bus.subscribe() as stalled, bus.subscribe() as reader:
        received = []
        for number in range(20):
            bus.publish("progress", job(1, progress=number))
            received += await read(reader, 1)
        assert [event.job.progress for event in received] == list(range(20))
        assert len(await read(stalled, 5)) == 5, "what it had buffered is still read"
        with pytest.raises(SubscriptionEnded):
            await stalled.next(WAIT_S)
        assert stalled.dropped and not reader.ended


async def test_closing_the_bus_ends_every_subscription_after_what_it_buffered() -> None:
    bus = EventBus()
    with bus.subscribe() as subscription:
        bus.publish("ready", job(1, JobStatus.READY, 100))
        bus.close()
        assert [event.name for event in await read(subscription, 1)] == ["ready"]
        with pytest.raises(SubscriptionEnded):
            await subscription.next(WAIT_S)
    with bus.subscribe() as late, pytest.raises(SubscriptionEnded):
        await late.next(WAIT_S)


async def test_a_quiet_subscription_says_so_instead_of_waiting_forever() -> None:
    bus = EventBus()
    with bus.subscribe() as subscription:
        assert await subscription.next(0.01) is None


def test_publishing_to_a_subscriber_whose_loop_is_gone_is_harmless() -> None:
    bus = EventBus()
    held = []

    async def subscribe_and_leave() -> None:
        subscribed = bus.subscribe()
        held.append(subscribed)
        subscribed.__enter__()  # never left: its loop closes under it

    asyncio.run(subscribe_and_leave())
    assert bus.subscribers == 1
    bus.publish("queued", job(1, JobStatus.QUEUED))
    bus.close()


async def test_the_stream_says_when_it_is_connected_sends_events_and_keeps_alive_when_quiet() -> None:
    bus = EventBus()
    stream = job_event_stream(bus, heartbeat_s=0.01)
    assert (await anext(stream)).endswith(": connected\n\n")
    assert bus.subscribers == 1
    assert await anext(stream) == ": keep-alive\n\n"
    bus.publish("failed", Job(id="f" * 32, kind="tts", status=JobStatus.FAILED, error="boom", created_at=1.0))
    chunk = await anext(stream)
    while chunk == ": keep-alive\n\n":
        chunk = await anext(stream)
    name, data = chunk.rstrip("\n").split("\n")
    assert name == "event: failed"
    body = json.loads(data.removeprefix("data: "))
    assert (body["file_id"], body["status"], body["error"], body["kind"]) == ("f" * 32, "failed", "boom", "tts")
    bus.close()
    with pytest.raises(StopAsyncIteration):
        while True:
            await anext(stream)
    assert bus.subscribers == 0
