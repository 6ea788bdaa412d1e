"""Builds the app; `python server.py` serves it with uvicorn on HOST:PORT."""

import contextlib
import sys

import uvicorn
from pydantic import ValidationError

from app.config import load_settings
from app.main import create_app
from app.serving import MediaServer


def main() -> None:
    try:
        settings = load_settings()
    except ValidationError as exc:
        for error in exc.errors():
            variable = "_".join(str(p) for p in error["loc"]).upper()
            print(f"Invalid setting {variable}: {error['msg']} (got {error.get('input')!r})", file=sys.stderr)
        sys.exit(2)
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
