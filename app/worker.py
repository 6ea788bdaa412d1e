"""`python -m app.worker`: a cluster worker (BACKEND=cluster), one per machine; SIGTERM or Ctrl+C stops it cleanly
(its unfinished jobs go back on the queue)."""

import asyncio
import faulthandler
import logging
import signal
import sys

from pydantic import ValidationError

from app.cluster.worker import open_worker
from app.config import Settings, load_settings
from app.logging_setup import configure_logging

log = logging.getLogger("app.worker")


async def run(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with open_worker(settings) as worker:
        await worker.serve(stop)
    log.info("worker stopped")


def main() -> None:
    try:
        settings = load_settings()
    except ValidationError as exc:
        for error in exc.errors():
            variable = "_".join(str(p) for p in error["loc"]).upper() or "BACKEND"
            print(f"Invalid setting {variable}: {error['msg']}", file=sys.stderr)
        sys.exit(2)
    if settings.backend != "cluster":
        print("A worker runs in cluster mode only: set BACKEND=cluster, REDIS_URL and S3_*.", file=sys.stderr)
        sys.exit(2)
    configure_logging(settings.log_format, settings.log_level)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack to the log
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
