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


def torch_test_settings(storage_path: Path, model_dir: Path, **overrides) -> Settings:
    """The random-weight torch model, no warm-up, every core (CPU_USAGE_LIMIT=1.0) to keep the suite fast;
    servers built from these share one engine process. The load test exercises the real budgets."""
    values = {
        "storage_path": storage_path,
        "tts_engine": "torch",
        "kokoro_model_dir": model_dir,
        "warmup": False,
        "cpu_usage_limit": 1.0,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def server_factory(tmp_path: Path, test_model_dir: Path) -> Iterator[ServerFactory]:
    """Start servers with the test model and any setting overridden; all stopped after the test."""
    servers: list[RunningServer] = []

    def start(**overrides) -> RunningServer:
        storage = overrides.pop("storage_path", tmp_path / f"media{len(servers)}")
        server = RunningServer(torch_test_settings(storage, test_model_dir, **overrides))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def torch_server(tmp_path_factory: pytest.TempPathFactory, test_model_dir: Path) -> Iterator[RunningServer]:
    """One shared server on the random-weight torch model with roomy limits."""
    server = RunningServer(torch_test_settings(tmp_path_factory.mktemp("media"), test_model_dir, max_queued_jobs=50))
    yield server
    server.stop()
