"""Fixtures that build real things: the random-weight Kokoro model and started servers on loopback."""

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from make_test_model import make_test_model  # noqa: E402

from app.config import Settings  # noqa: E402
from app.main import create_app  # noqa: E402


@pytest.fixture(scope="session")
def test_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_model(tmp_path_factory.mktemp("kokoro-test-model"))


class RunningServer:
    """A real uvicorn server on 127.0.0.1 in a background thread, with an httpx client."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_config=None, lifespan="on", timeout_graceful_shutdown=1)
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


ServerFactory = Callable[..., RunningServer]


@pytest.fixture
def server_factory(tmp_path: Path, test_model_dir: Path) -> Iterator[ServerFactory]:
    """Start servers with the test model and any setting overridden; all stopped after the test."""
    servers: list[RunningServer] = []

    def start(**overrides) -> RunningServer:
        values = {
            "storage_path": tmp_path / f"media{len(servers)}",
            "tts_engine": "torch",
            "kokoro_model_dir": test_model_dir,
            "warmup": False,
            **overrides,
        }
        server = RunningServer(Settings(**values))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def torch_server(tmp_path_factory: pytest.TempPathFactory, test_model_dir: Path) -> Iterator[RunningServer]:
    """One shared server on the random-weight torch model with roomy limits."""
    server = RunningServer(
        Settings(
            storage_path=tmp_path_factory.mktemp("media"),
            tts_engine="torch",
            kokoro_model_dir=test_model_dir,
            max_queued_jobs=50,
        )
    )
    yield server
    server.stop()
