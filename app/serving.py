"""uvicorn's server for this app: when it begins to stop, the app's live event streams end first.

uvicorn waits for open responses to finish before it runs the app's shutdown, and an event stream never
finishes by itself: without this, a server with a client on `/api/v1/media/jobs/events` would not stop
(or only after `timeout_graceful_shutdown`, with its requests cancelled).
"""

import socket

import uvicorn


def end_event_streams(app: object) -> None:
    """Close the job event bus of `app` (a FastAPI app started by `app.main.create_app`), if it is running."""
    services = getattr(getattr(app, "state", None), "services", None)
    if services is not None:
        services.runner.events.close()


class MediaServer(uvicorn.Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        end_event_streams(self.config.app)
        await super().shutdown(sockets)
