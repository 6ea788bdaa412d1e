"""A whole cluster on loopback for tests and scripts: real Redis, a real S3 server, web nodes (`python server.py`)
and workers (`python -m app.worker`) as processes, each with its own storage directory and log."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.servers import RedisServer, S3Server, die_with_parent, free_port
from tests.support.tiers import refuse_in_fast_tier
from tests.support.waits import WAIT_S

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "media-test"


class Process:
    """One node: its command, environment and log; started, killed (-9) or stopped (SIGTERM) at will."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], directory: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.log = directory / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        refuse_in_fast_tier(f"starts a cluster process ({self.name})")
        with open(self.log, "ab") as out:  # the process has its own copy of the descriptor
            self.process = subprocess.Popen(
                self.args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """`kill -9`, and its child processes (the engine's) with it, as a machine dying would."""
        if self.process and self.alive:
            for child in _children(self.process.pid):
                _signal(child, signal.SIGKILL)
            self.process.kill()
            self.process.wait(30)

    def stop(self) -> None:
        if self.process and self.alive:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""


def _children(pid: int) -> list[int]:
    import psutil

    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


class WebNode(Process):
    def __init__(self, name: str, env: dict[str, str], directory: Path) -> None:
        self.port = free_port()
        super().__init__(name, [sys.executable, "server.py"], {**env, "PORT": str(self.port)}, directory)
        self.url = f"http://127.0.0.1:{self.port}"
        self.client = httpx.Client(base_url=self.url, timeout=WAIT_S)

    def start(self) -> None:
        super().start()
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if not self.alive:
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            try:
                if self.client.get("/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /health:\n{self.tail()}")

    def kill(self) -> None:
        super().kill()
        self.client.close()

    def stop(self) -> None:
        super().stop()
        self.client.close()

    def workers(self) -> int:
        cluster: dict[str, Any] = self.client.get("/health").json()["cluster"]
        return int(cluster["workers"])


class Cluster:
    """Redis, S3, web nodes and workers in `directory`; `settings` are environment variables for every node."""

    def __init__(self, directory: Path, **settings: str) -> None:
        self.directory = directory
        self.redis = RedisServer(directory / "redis").start()
        self.s3 = S3Server(directory / "s3").start()
        self.s3.make_bucket(BUCKET)
        self.settings = settings
        self.webs: list[WebNode] = []
        self.workers: list[Process] = []

    def environment(self, name: str, **overrides: str) -> dict[str, str]:
        return {
            **os.environ,
            "BACKEND": "cluster",
            "REDIS_URL": self.redis.url,
            **self.s3.environment(BUCKET),
            "STORAGE_PATH": str(self.directory / name / "storage"),
            "HOST": "127.0.0.1",
            "HF_HUB_OFFLINE": "1",
            **self.settings,
            **overrides,
        }

    def add_web(self, **overrides: str) -> WebNode:
        name = f"web{len(self.webs) + 1}"
        node = WebNode(name, self.environment(name, **overrides), self.directory / name)
        node.start()
        self.webs.append(node)
        return node

    def add_worker(self, wait: bool = True, **overrides: str) -> Process:
        name = f"worker{len(self.workers) + 1}"
        args = [sys.executable, "-m", "app.worker"]
        node = Process(name, args, self.environment(name, **overrides), self.directory / name)
        before = self.live_workers()
        node.start()
        self.workers.append(node)
        if wait:
            self.wait_for_workers(before + 1, node)
        return node

    def live_workers(self) -> int:
        return self.webs[0].workers() if self.webs else 0

    def wait_for_workers(self, count: int, node: Process | None = None, timeout_s: float = WAIT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while self.live_workers() != count:
            if node is not None and not node.alive:
                raise RuntimeError(f"{node.name} exited:\n{node.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{count} workers were not live within {timeout_s:g} s")
            time.sleep(0.1)

    def stop(self) -> None:
        for node in [*self.webs, *self.workers]:
            node.stop()
        self.s3.stop()
        self.redis.stop()
