"""Serves the app: `python server.py` with uvicorn on HOST:PORT, or `fastapi run server.py` / `fastapi dev server.py`.

Importing this module builds nothing: FastAPI's CLI finds `app` here, built from the settings on first access
(module `__getattr__`); the engines start with the server, in the app's lifespan, as with `python server.py`.
"""

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from app.config import Settings, load_settings
from app.main import create_app
from app.parent_watch import exit_now, when_parent_ends
from app.serving import MediaServer, end_event_streams

STOP_GRACE_S = 30.0
"""A server whose supervisor ended stops as after Ctrl+C; past this it exits at once (its children follow)."""

_built: dict[str, FastAPI] = {}
_build_lock = threading.Lock()


def settings_or_exit() -> Settings:
    """The settings; on an invalid one, a line naming each bad variable and exit code 2."""
    try:
        return load_settings()
    except ValidationError as exc:
        for error in exc.errors():
            variable = "_".join(str(p) for p in error["loc"]).upper()
            print(f"Invalid setting {variable}: {error['msg']} (got {error.get('input')!r})", file=sys.stderr)
        sys.exit(2)


def _stop_when_supervisor_ends() -> None:
    """In a server started by `--reload` or `--workers`: stop (closing the engines) when the supervisor ends."""
    supervisor = multiprocessing.parent_process()
    if supervisor is None or supervisor.pid is None:
        return

    def stop() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        threading.Timer(STOP_GRACE_S, exit_now).start()

    when_parent_ends(stop, supervisor.pid)


def _end_event_streams_on_stop() -> None:
    """uvicorn's own server (the CLI's) waits for open responses before the app stops: end the event streams
    first, as `MediaServer` does, so a `--reload` restart with a browser open never hangs."""
    original = uvicorn.Server.shutdown
    if getattr(original, "ends_event_streams", False):
        return

    async def shutdown(self: uvicorn.Server, sockets: Any = None) -> None:
        for built in _built.values():
            end_event_streams(built)
        await original(self, sockets)

    shutdown.ends_event_streams = True  # type: ignore[attr-defined]
    uvicorn.Server.shutdown = shutdown  # type: ignore[method-assign]


def cli_app() -> FastAPI:
    """The app FastAPI's CLI serves: built once, on first access, from the settings."""
    with _build_lock:
        if "app" not in _built:
            _built["app"] = create_app(settings_or_exit())
            _end_event_streams_on_stop()
            _stop_when_supervisor_ends()
        return _built["app"]


def __getattr__(name: str) -> Any:
    if name == "app":
        return cli_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "app"])


def main() -> None:
    settings = settings_or_exit()
    config = uvicorn.Config(
        create_app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False
    )
    server = MediaServer(config)  # ends the live event streams when it stops, so stopping never hangs on them
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn raises Ctrl+C again once it has stopped
        server.run()
    if not server.started:
        sys.exit(3)  # as uvicorn.run does when the app fails to start


if __name__ == "__main__":
    main()
