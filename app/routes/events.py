"""Live job events as Server-Sent Events, for the web page and for integrations that prefer a stream to polling."""

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.deps import RunnerDep
from app.routes.responses import record_status
from app.services.events import EventBus, JobEvent, SubscriptionEnded
from app.services.inputs import Record

router = APIRouter(prefix="/api/v1/media", tags=["jobs"])

HEARTBEAT_S = 15.0
"""A comment line this often keeps proxies and idle timeouts from closing a quiet stream."""
RETRY_MS = 3000
"""How long an EventSource waits before it reconnects."""
STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "text/event-stream: `event: queued|progress|ready|failed` and `data:` the job's status "
        "(JobStatusBody, as GET /api/v1/media/storage/{file_id}/status gives it); `: keep-alive` comments",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


def server_sent(event: JobEvent) -> str:
    body = record_status(Record(event.job.id, event.job, None)).model_dump_json(exclude_unset=True)
    return f"event: {event.name}\ndata: {body}\n\n"


async def job_event_stream(bus: EventBus, heartbeat_s: float = HEARTBEAT_S) -> AsyncIterator[str]:
    """Every job event from now on, a comment every `heartbeat_s` when quiet; ends when the bus closes (the
    server stops) or this listener fell too far behind. The first chunk says the subscription is in place."""
    with bus.subscribe() as subscription:
        yield f"retry: {RETRY_MS}\n: connected\n\n"
        while True:
            try:
                event = await subscription.next(heartbeat_s)
            except SubscriptionEnded:
                return
            yield ": keep-alive\n\n" if event is None else server_sent(event)


@router.get("/jobs/events", response_class=StreamingResponse, responses=STREAM_RESPONSES)
async def job_events(runner: RunnerDep) -> StreamingResponse:
    """Server-Sent Events of every job: `queued`, `progress` (also when it starts), `ready`, `failed`.

    A client that falls far behind is disconnected (an EventSource reconnects by itself); the stream ends
    when the server stops."""
    return StreamingResponse(
        job_event_stream(runner.events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
