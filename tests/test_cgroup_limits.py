"""The server in a cgroup this test creates (as `docker run --cpus 0.5 -m 1g` or `systemd-run -p CPUQuota=50%
-p MemoryMax=1G` would): it sees the quota and the limit, and says so in /health, the status and its log.
Needs root and writable cgroups (v1 controllers or v2); skipped with the reason elsewhere."""

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.cgroups import mounts
from tests.support.cli_server import ROOT, free_port, settings_env, wait_until

GIB = 1024**3
QUOTA_US, PERIOD_US = 50_000, 100_000  # half a CPU


@dataclass
class MadeGroup:
    """A cgroup made for one test: the directories to join (one per v1 controller, or the v2 one)."""

    dirs: list[Path]
    memory_file: Path
    cpu_file: Path

    def join_command(self) -> str:
        """Shell that moves itself into the group (then execs the command after it)."""
        return "".join(f"echo $$ > '{d}/cgroup.procs'; " for d in self.dirs)


def _make_v1(name: str) -> MadeGroup | None:
    found = {
        c: point
        for version, controllers, point, _ in mounts(Path("/proc/self/mountinfo").read_text())
        if version == 1
        for c in controllers
    }
    if "memory" not in found or "cpu" not in found:
        return None
    memory, cpu = found["memory"] / name, found["cpu"] / name
    memory.mkdir()
    cpu.mkdir(exist_ok=True)
    (memory / "memory.limit_in_bytes").write_text(str(GIB))
    (cpu / "cpu.cfs_period_us").write_text(str(PERIOD_US))
    (cpu / "cpu.cfs_quota_us").write_text(str(QUOTA_US))
    return MadeGroup(sorted({memory, cpu}), memory / "memory.limit_in_bytes", cpu / "cpu.cfs_quota_us")


def _make_v2(name: str) -> MadeGroup | None:
    roots = [point for version, _, point, _ in mounts(Path("/proc/self/mountinfo").read_text()) if version == 2]
    if not roots or not {"cpu", "memory"} <= set((roots[0] / "cgroup.controllers").read_text().split()):
        return None
    (roots[0] / "cgroup.subtree_control").write_text("+cpu +memory")
    group = roots[0] / name
    group.mkdir()
    (group / "memory.max").write_text(str(GIB))
    (group / "cpu.max").write_text(f"{QUOTA_US} {PERIOD_US}")
    return MadeGroup([group], group / "memory.max", group / "cpu.max")


@pytest.fixture
def made_group() -> Iterator[MadeGroup]:
    if os.geteuid() != 0:
        pytest.skip("creating a cgroup needs root")
    name = f"media-api-test-{uuid.uuid4().hex[:8]}"
    try:
        group = _make_v1(name) or _make_v2(name)
    except OSError as exc:
        pytest.skip(f"cgroups cannot be written here: {exc}")
    if group is None:
        pytest.skip("no cgroup v1 cpu and memory controllers, nor a v2 hierarchy with both")
    yield group
    for directory in group.dirs:
        wait_until(lambda d=directory: not (d / "cgroup.procs").read_text().split(), f"{directory} to empty")
        directory.rmdir()


@pytest.mark.slow  # starts server.py in a cgroup
def test_the_server_in_a_half_cpu_one_gib_cgroup_sees_and_shows_both_limits(
    made_group: MadeGroup, tmp_path: Path
) -> None:
    port = free_port()
    env = settings_env(tmp_path / "media", tmp_path / "no-model", PORT=str(port), HOST="127.0.0.1")
    log = tmp_path / "server.log"
    command = f"{made_group.join_command()}exec '{sys.executable}' server.py"
    with (
        log.open("wb") as out,
        subprocess.Popen(["sh", "-c", command], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT) as server,
    ):
        try:
            health = wait_until(lambda: _get(f"http://127.0.0.1:{port}/health", server), "the server to answer")
            status = httpx.get(f"http://127.0.0.1:{port}/api/v1/system/status", timeout=30).json()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(120)
    for resources in (health["resources"], status["resources"]):
        assert resources["memory"] == {
            "limit_mb": 1024.0,
            "from_cgroup": True,
            "source": f"cgroup memory limit ({made_group.memory_file})",
        }
        assert resources["cpu"]["cgroup_quota_cpus"] == 0.5 and resources["cpu"]["cores"] == 1
        assert str(made_group.cpu_file) in resources["cpu"]["source"]
    assert status["budget"]["cores"] == 1
    memory = status["admission"]["memory"]  # heavy work is admitted by memory too, inside the limit
    assert memory["limit_mb"] == 1024.0 and 0 < memory["resident_mb"] < 1024 and memory["reserved_mb"] == 0
    assert f"memory 1,024 MB from cgroup memory limit ({made_group.memory_file})" in log.read_text()


def _get(url: str, server: subprocess.Popen[bytes]) -> dict | None:
    assert server.poll() is None, "the server exited"
    try:
        return httpx.get(url, timeout=30).json()
    except httpx.HTTPError:
        return None
