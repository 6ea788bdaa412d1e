"""Fixtures that build real things: the random-weight Kokoro model and started servers on loopback."""

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from local_server import RunningServer  # noqa: E402
from make_test_model import make_test_model  # noqa: E402

from app.config import Settings  # noqa: E402


@pytest.fixture(scope="session")
def test_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_model(tmp_path_factory.mktemp("kokoro-test-model"))


ServerFactory = Callable[..., RunningServer]


@pytest.fixture
def server_factory(tmp_path: Path, test_model_dir: Path) -> Iterator[ServerFactory]:
    """Start servers with the test model and any setting overridden; all stopped after the test.

    Test servers may use every core (CPU_USAGE_LIMIT=1.0) to keep the suite fast; the load test
    and its scripted version exercise the real budgets."""
    servers: list[RunningServer] = []

    def start(**overrides) -> RunningServer:
        values = {
            "storage_path": tmp_path / f"media{len(servers)}",
            "tts_engine": "torch",
            "kokoro_model_dir": test_model_dir,
            "warmup": False,
            "cpu_usage_limit": 1.0,
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
            cpu_usage_limit=1.0,
        )
    )
    yield server
    server.stop()
