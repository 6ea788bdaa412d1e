"""`fastapi run server.py` and `fastapi dev server.py` as the fork's guide says: the same server, engines that
end with it (`kill -9` and `--reload` restarts included), and an `import server` that starts nothing."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from app.limits import available_cores
from tests.support.cli_server import ROOT, CliServer, ended, settings_env, wait_until
from tests.support.waits import WAIT_S


@pytest.fixture
def cli_servers(tmp_path: Path) -> Iterator[list[CliServer]]:
    servers: list[CliServer] = []
    yield servers
    for server in servers:
        server.stop()


def test_importing_server_builds_no_app_and_starts_no_process() -> None:
    check = (
        "import psutil, server; "
        "assert not server._built, 'built at import'; "
        "assert 'app' in dir(server); "
        "assert psutil.Process().children() == [], psutil.Process().children()"
    )
    done = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=WAIT_S)
    assert done.returncode == 0, done.stderr


def test_fastapi_run_serves_the_app_and_its_engine_ends_when_the_server_is_killed(
    tmp_path: Path, test_model_dir: Path, cli_servers: list[CliServer]
) -> None:
    server = CliServer("run", settings_env(tmp_path / "media", test_model_dir), tmp_path / "run.log")
    cli_servers.append(server)
    engine = server.engine_pid()
    health = server.get("/health")
    assert health is not None and health.status_code == 200
    assert health.json()["tts"]["available"] is True
    log = server.log.read_text()
    assert "speech engine process" in log  # the app's own log, as with python server.py
    cores = len(available_cores())  # CPU_USAGE_LIMIT=1.0, no MAX_CPU_THREADS: every core
    assert "CPU Optimization: Max TTS: 2, Max Video: 1, Max Heavy Tasks: 3, Max Audio: 2, Max STT: 1" in log
    assert f"Optimized CPU configuration: {cores} cores available, using {cores} threads (limit: {cores})" in log

    os.kill(server.process.pid, signal.SIGKILL)
    wait_until(lambda: ended(engine), "the engine process to end after its server was killed")


def test_fastapi_dev_reload_leaves_no_engine_behind_and_a_killed_supervisor_stops_the_server(
    tmp_path: Path, test_model_dir: Path, cli_servers: list[CliServer]
) -> None:
    watched = tmp_path / "watched"
    watched.mkdir()
    env = settings_env(tmp_path / "media", test_model_dir)
    server = CliServer("dev", env, tmp_path / "dev.log", "--reload-dir", str(watched))
    cli_servers.append(server)
    first = server.engine_pid()

    (watched / "edited.py").write_text("x = 1\n")  # a code change: uvicorn restarts the app
    second = wait_until(lambda: another_engine(server, first), "a new engine after the reload")
    assert ended(first), "the engine of the app before the reload is still running"

    worker = psutil.Process(second).ppid()  # the server process uvicorn's reloader started
    os.kill(server.process.pid, signal.SIGKILL)
    wait_until(lambda: ended(second) and ended(worker), "the server and its engine to end after the supervisor")


def another_engine(server: CliServer, old: int) -> int | None:
    """The engine pid the server reports, once it is not `old`."""
    status = server.status() or {}
    pid = (status.get("engine_process") or {}).get("pid")
    return pid if isinstance(pid, int) and pid != old else None
