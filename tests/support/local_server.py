"""A real uvicorn server on 127.0.0.1 in a background thread, for tests and benchmarks in one process."""

import asyncio
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from app.config import Settings
from app.limits import Ticket
from app.main import create_app
from app.services.child_process import ChildProcess
from app.serving import MediaServer
from app.wiring import Services
from tests.support.tiers import refuse_in_fast_tier
from tests.support.waits import WAIT_S


class RunningServer:
    """A real uvicorn server on 127.0.0.1 in a background thread, with an httpx client.

    `engine`: a started speech engine process to share (its owner closes it); None: the app starts its own."""

    def __init__(self, settings: Settings, engine: ChildProcess | None = None) -> None:
        refuse_in_fast_tier("starts a server")
        self.settings = settings
        self.app = create_app(settings, engine)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=1)
        self.server = MediaServer(config)
        self.loop = asyncio.new_event_loop()
        serve = self.server.serve(sockets=[self.sock])
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(serve,), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + WAIT_S
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        self.services: Services = self.app.state.services
        self.client = httpx.Client(base_url=self.base_url, timeout=WAIT_S)

    def stop(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()
        if not self.thread.is_alive():
            self.loop.close()

    @contextmanager
    def hold_slot(self, kind: str) -> Iterator[Ticket]:
        """Take one slot of `kind` through the server's real admission (as a job would), give it back after."""
        ticket = asyncio.run_coroutine_threadsafe(self._admit(kind), self.loop).result(30)
        try:
            yield ticket
        finally:
            self.loop.call_soon_threadsafe(self.services.admission.release, ticket)

    async def _admit(self, kind: str) -> Ticket:
        ticket = self.services.admission.admit(kind)
        await ticket.granted.wait()
        return ticket

    @contextmanager
    def frozen_engine(self) -> Iterator[int]:
        """The speech engine process stopped (SIGSTOP) for the block: every call to it waits; its pid."""
        pid = self.services.engine.pid if self.services.engine else None
        assert pid is not None, "the speech engine process is not running"
        os.kill(pid, signal.SIGSTOP)
        try:
            yield pid
        finally:
            os.kill(pid, signal.SIGCONT)

    def wait_for(self, file_id: str, timeout: float = WAIT_S) -> dict:
        """Poll the status endpoint until the job ends."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.client.get(f"/api/v1/media/storage/{file_id}/status").json()
            if status["status"] in ("ready", "failed"):
                return status
            time.sleep(0.1)
        raise AssertionError(f"job {file_id} did not end in {timeout} s")
