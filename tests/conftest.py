"""Fixtures that build real things: the random-weight Kokoro model, one speech engine process and started
servers on loopback."""

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.limits import CpuBudget
from app.services.child_process import ChildProcess
from app.services.tts.engine_process import start_engine_process
from tests.support.local_server import RunningServer
from tests.support.tiers import pytest_collection_modifyitems, pytest_runtest_setup  # noqa: F401 (hooks: the tiers)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))  # the load test script, run by test_system
INSTALLED_MODEL_CACHE = Settings().model_cache_dir
"""MODEL_CACHE_DIR as the server reads it: where `make install` / `make voices` put the Kokoro voice pack."""
os.environ["MODEL_CACHE_DIR"] = str(Path("~/.cache/media-api-tests/model-cache").expanduser())
os.environ["KOKORO_VOICES_URL"] = ""
"""Test servers see only what a test gives them, and never fetch the voice pack from the registry."""
ENGINE_WORKERS = 8
"""Threads of the shared engine process: more than any test server's MAX_CONCURRENT_HEAVY_TASKS."""


@pytest.fixture(scope="session")
def slow_tier() -> None:
    """Requested by a fixture that starts a server or loads a model on its own: its tests go to the slow tier
    (tests/support/tiers.py), out of `make test-fast`."""


@pytest.fixture(scope="session")
def test_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.make_test_model import make_test_model  # torch and kokoro: only for tests that need them

    return make_test_model(tmp_path_factory.mktemp("kokoro-test-model"))


ServerFactory = Callable[..., RunningServer]
ENGINE_SETTINGS = {
    "tts_engine",
    "kokoro_model_dir",
    "kokoro_repo_id",
    "kokoro_onnx_model",
    "kokoro_onnx_voices",
    "warmup",
    "heavy_nice",
}
"""Overrides that change the engine itself: a server given one starts its own engine process."""


def torch_test_settings(storage_path: Path, model_dir: Path, **overrides: Any) -> Settings:
    """The random-weight torch model, no warm-up, every core (CPU_USAGE_LIMIT=1.0) at the normal priority
    (HEAVY_NICE=0: work beside the suite does not starve it) to keep the suite fast. The load test exercises the
    real budgets; a story about priority asks for a nice of its own (and gets its own engine)."""
    values = {
        "storage_path": storage_path,
        "tts_engine": "torch",
        "kokoro_model_dir": model_dir,
        "warmup": False,
        "cpu_usage_limit": 1.0,
        "heavy_nice": 0,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture(scope="session")
def test_engine(tmp_path_factory: pytest.TempPathFactory, test_model_dir: Path) -> Iterator[ChildProcess]:
    """One speech engine process on the test model, shared by every test server (same warm-up, same budget)."""
    settings = torch_test_settings(
        tmp_path_factory.mktemp("engine"), test_model_dir, max_concurrent_heavy_tasks=ENGINE_WORKERS
    )
    engine = start_engine_process(settings, CpuBudget.from_limits(0, 1.0, settings.heavy_nice))
    yield engine
    engine.close()


def running(engine: ChildProcess) -> ChildProcess:
    """The shared engine, started again if a test stopped or killed it (a stopping server kills its calls)."""
    engine.start()
    return engine


@pytest.fixture
def server_factory(tmp_path: Path, test_model_dir: Path, test_engine: ChildProcess) -> Iterator[ServerFactory]:
    """Start servers with the test model and any setting overridden; all stopped after the test."""
    servers: list[RunningServer] = []

    def start(**overrides: Any) -> RunningServer:
        storage = overrides.pop("storage_path", tmp_path / f"media{len(servers)}")
        engine = None if ENGINE_SETTINGS & overrides.keys() else running(test_engine)
        server = RunningServer(torch_test_settings(storage, test_model_dir, **overrides), engine)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def torch_server(
    tmp_path_factory: pytest.TempPathFactory, test_model_dir: Path, test_engine: ChildProcess
) -> Iterator[RunningServer]:
    """One shared server on the random-weight torch model with roomy limits."""
    settings = torch_test_settings(tmp_path_factory.mktemp("media"), test_model_dir, max_queued_jobs=50)
    server = RunningServer(settings, running(test_engine))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def onnx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One shared server on the real int8 ONNX model, with a share of two threads (chunks side by side)."""
    settings = Settings(
        storage_path=tmp_path_factory.mktemp("onnx-media"),
        tts_engine="onnx",
        max_queued_jobs=20,
        cpu_usage_limit=1.0,
        max_cpu_threads=2,
    )
    server = RunningServer(settings)
    yield server
    server.stop()
