"""`fastapi run server.py` / `fastapi dev server.py` as a person types them, in a subprocess on a free port."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
CEILING_S = 600.0
"""Long enough for a loaded machine to start the engine; the tests wait on events, never on this."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_env(storage: Path, model_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a server on the random-weight torch model: the settings as variables."""
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TTS_ENGINE": "torch",
        "KOKORO_MODEL_DIR": str(model_dir),
        "WARMUP": "false",
        "STORAGE_PATH": str(storage),
        "MODEL_CACHE_DIR": str(storage / "cache"),
        "CPU_USAGE_LIMIT": "1.0",
        "HEAVY_NICE": "0",
        **extra,
    }


def wait_until(condition: Callable[[], Any], what: str) -> Any:
    """Poll `condition` until it gives something true, and give it back; fail after the ceiling."""
    deadline = time.monotonic() + CEILING_S
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def ended(pid: int) -> bool:
    """True once the process has exited (a zombie nobody reaps counts as ended)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


class CliServer:
    """`python -m fastapi MODE server.py --port P ...` with its output in `log`; `stop()` kills what is left."""

    def __init__(self, mode: str, env: dict[str, str], log: Path, *args: str) -> None:
        self.port = free_port()
        self.log = log
        self.base_url = f"http://127.0.0.1:{self.port}"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "fastapi", mode, "server.py", "--port", str(self.port), *args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def get(self, path: str) -> httpx.Response | None:
        """The answer to a GET, None while nothing answers."""
        try:
            return httpx.get(self.base_url + path, timeout=30)
        except httpx.HTTPError:
            return None

    def status(self) -> dict[str, Any] | None:
        """`/api/v1/system/status` once the server answers; None before (fails at once if the server died)."""
        assert self.process.poll() is None, f"the server exited:\n{self.log.read_text()[-3000:]}"
        answer = self.get("/api/v1/system/status")
        return answer.json() if answer is not None and answer.status_code == 200 else None

    def engine_pid(self) -> int:
        """The speech engine process's pid, once the server is up."""
        status = wait_until(self.status, "the server to answer")
        pid = status["engine_process"]["pid"]
        assert isinstance(pid, int), status["engine_process"]
        return pid

    def stop(self) -> None:
        """Kill the server and every process it started that is still there."""
        try:
            family = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            family = []
        self.process.kill()
        self.process.wait(30)
        for proc in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
