"""A real uvicorn server on 127.0.0.1 in a background thread, for tests and benchmarks in one process."""

import socket
import threading
import time

import httpx
import uvicorn

from app.config import Settings
from app.main import create_app


class RunningServer:
    """A real uvicorn server on 127.0.0.1 in a background thread, with an httpx client."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        self.client = httpx.Client(base_url=self.base_url, timeout=120)

    def stop(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()

    def wait_for(self, file_id: str, timeout: float = 120) -> dict:
        """Poll the status endpoint until the job ends."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.client.get(f"/api/v1/media/storage/{file_id}/status").json()
            if status["status"] in ("ready", "failed"):
                return status
            time.sleep(0.1)
        raise AssertionError(f"job {file_id} did not end in {timeout} s")
