"""Bounded load test on loopback: starts the server, bursts TTS (and captioned video) jobs, reports.

Usage: python scripts/load_test.py [--preset small|medium|large] [--tts 30] [--videos 6] [--clients 20]
       [--deadline 300] [--model-dir DIR] [--max-concurrent-tts N ...] [--json]

It starts `python server.py` with HOST=127.0.0.1, a free PORT, STORAGE_PATH in a temp dir, the
random-weight test model (built with make_test_model.py unless --model-dir is given) and the
limits of the preset (each overridable by a flag), waits for /health, then `--clients` clients
submit the jobs, retry 429 after Retry-After (at most --max-tries tries, like an n8n node with
retry) and poll each admitted job until it is ready or failed. Every 200 ms it samples the CPU and
RSS of the server's process tree (psutil) and the latency of GET /health. Everything ends by the
global --deadline; the server is stopped and one table is printed (--json: the figures as JSON).
Exit status 1 when any response was a 5xx or an admitted job was lost (never ended).
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.services.system_stats import MB, tree_cpu_seconds, tree_rss_bytes  # noqa: E402

TTS_PATH = "/api/v1/media/audio-tools/tts/kokoro"
VIDEO_PATH = "/api/v1/media/video-tools/generate/tts-captioned-video"
UPLOAD_PATH = "/api/v1/media/storage"
STATUS_PATH = "/api/v1/system/status"

LIMIT_VARS = (
    "MAX_CPU_THREADS",
    "CPU_USAGE_LIMIT",
    "MAX_CONCURRENT_TTS",
    "MAX_CONCURRENT_VIDEO",
    "MAX_CONCURRENT_HEAVY_TASKS",
    "MAX_QUEUED_JOBS",
)
PRESETS: dict[str, dict[str, float]] = {
    "small": dict(zip(LIMIT_VARS, (1, 0.5, 1, 1, 1, 50), strict=True)),
    "medium": dict(zip(LIMIT_VARS, (2, 0.75, 2, 1, 3, 50), strict=True)),
    "large": dict(zip(LIMIT_VARS, (4, 0.8, 3, 2, 4, 100), strict=True)),
}
SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Automation runs every morning and sends a short summary to the team.",
    "Rain is expected in the afternoon, so bring an umbrella.",
    "The new release makes exports faster and fixes two small bugs.",
    "Our store opens at nine and closes at six on weekdays.",
    "Please remember to review the pull request before lunch.",
)


def timed_tree_cpu_seconds(process: psutil.Process) -> tuple[float, float]:
    """The server tree's CPU seconds and the monotonic time they were read at, so that the loop's own
    scheduling delays do not stretch or shrink a sample's interval."""
    cpu = tree_cpu_seconds(process)
    return cpu, time.monotonic()


@dataclass
class LoadConfig:
    tts: int = 30
    videos: int = 6
    clients: int = 20
    preset: str = "medium"
    limits: dict[str, float] = field(default_factory=dict)  # overrides of the preset, by variable name
    deadline_s: float = 300.0
    max_tries: int = 10
    model_dir: Path | None = None
    sample_interval_s: float = 0.2
    poll_interval_s: float = 0.5
    extra_env: dict[str, str] = field(default_factory=dict)
    seed: int = 0

    def server_limits(self) -> dict[str, float]:
        return {**PRESETS[self.preset], **self.limits}


@dataclass
class Sample:
    t: float
    cpu_percent: float | None  # of the whole machine (100 = every core)
    rss_mb: float
    health_ms: float | None  # None: /health did not answer
    running: int | None  # heavy jobs running, from the status endpoint


@dataclass
class Tally:
    requests: int = 0
    admitted: int = 0
    rejected: int = 0
    server_errors: int = 0
    other_errors: int = 0
    transport_errors: int = 0
    gave_up: int = 0
    skipped_videos: int = 0
    polls: int = 0
    ready: int = 0
    failed: int = 0
    rejected_ms: list[float] = field(default_factory=list)
    rejected_server_ms: list[float] = field(default_factory=list)  # from the Server-Timing header
    job_seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
            print(f"note: {text}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def server_timing_ms(response: httpx.Response) -> float | None:
    """The server's own time for a response (`Server-Timing: app;dur=<ms>`), None when absent."""
    for part in response.headers.get("server-timing", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "dur":
            try:
                return float(value)
            except ValueError:
                return None
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def png_bytes(width: int = 640, height: int = 360, rgb: tuple[int, int, int] = (30, 90, 160)) -> bytes:
    """A plain-colour PNG, written by hand (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


class Server:
    """`python server.py` as a subprocess on a free loopback port."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = int(env["PORT"])
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "server.py"], cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def wait_healthy(self, client: httpx.AsyncClient, until: float) -> None:
        while time.monotonic() < until:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with status {self.process.returncode}:\n{self.log_tail()}")
            try:
                if (await client.get(f"{self.base_url}/health", timeout=2)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError(f"the server did not answer /health in time:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


class LoadTest:
    def __init__(self, config: LoadConfig, server: Server, headers: dict[str, str], deadline: float) -> None:
        self.config = config
        self.server = server
        self.headers = headers
        self.deadline = deadline
        # no new submissions (or retries) in the last part of the run, so admitted jobs can end
        self.submit_until = deadline - min(60.0, max(5.0, (deadline - time.monotonic()) * 0.2))
        self.tally = Tally()
        self.samples: list[Sample] = []
        self.videos_enabled = config.videos > 0
        self.background_id: str | None = None
        self.random = random.Random(config.seed)

    def _count(self, response: httpx.Response) -> None:
        if response.status_code >= 500:
            self.tally.server_errors += 1
            self.tally.errors.append(f"{response.request.method} {response.request.url.path}: {response.status_code}")

    async def upload_background(self, client: httpx.AsyncClient) -> None:
        try:
            response = await client.post(
                UPLOAD_PATH,
                files={"file": ("background.png", png_bytes(), "image/png")},
                data={"media_type": "image"},
            )
        except httpx.HTTPError as exc:
            self.tally.note(f"image upload failed ({exc!r}); running TTS only")
            self.videos_enabled = False
            return
        self._count(response)
        if response.status_code in (404, 405):
            self.tally.note(f"upload endpoint answered {response.status_code}; running TTS only")
            self.videos_enabled = False
            return
        if response.status_code >= 300:
            self.tally.note(f"image upload answered {response.status_code} {response.text[:200]}; running TTS only")
            self.videos_enabled = False
            return
        body = response.json()
        self.background_id = body.get("file_id") or body.get("id")
        if body.get("status") not in (None, "ready") and self.background_id:
            outcome = await self.poll(client, self.background_id, count=False)
            if outcome != "ready":
                self.tally.note(f"uploaded image ended {outcome}; running TTS only")
                self.videos_enabled = False

    async def submit(self, client: httpx.AsyncClient, kind: str, text: str) -> str | None:
        """POST until admitted (retrying 429 after Retry-After); the job id, or None."""
        for _ in range(self.config.max_tries):
            if time.monotonic() > self.submit_until:
                break
            if kind == "video" and not self.videos_enabled:
                self.tally.skipped_videos += 1
                return None
            if kind == "tts":
                path, data = TTS_PATH, {"text": text}
            else:
                path, data = VIDEO_PATH, {"background_id": self.background_id or "", "text": text}
            started = time.monotonic()
            self.tally.requests += 1
            try:
                response = await client.post(path, data=data)
            except httpx.HTTPError as exc:
                self.tally.transport_errors += 1
                self.tally.errors.append(f"POST {path}: {exc!r}")
                await asyncio.sleep(1.0)
                continue
            elapsed_ms = (time.monotonic() - started) * 1000
            self._count(response)
            if response.status_code == 202:
                self.tally.admitted += 1
                return response.json()["file_id"]
            if response.status_code == 429:
                self.tally.rejected += 1
                self.tally.rejected_ms.append(elapsed_ms)
                server_ms = server_timing_ms(response)
                if server_ms is not None:
                    self.tally.rejected_server_ms.append(server_ms)
                try:
                    wait = float(response.headers.get("retry-after", "1"))
                except ValueError:
                    wait = 1.0
                wait += self.random.uniform(0, 0.25)
                await asyncio.sleep(max(0.0, min(wait, self.submit_until - time.monotonic())))
                continue
            if response.status_code >= 500:
                await asyncio.sleep(1.0)
                continue
            if kind == "video" and response.status_code in (404, 405):
                if self.videos_enabled:
                    self.tally.note(f"video endpoint answered {response.status_code}; running TTS only")
                self.videos_enabled = False
                self.tally.skipped_videos += 1
                return None
            self.tally.other_errors += 1
            self.tally.errors.append(f"POST {path}: {response.status_code} {response.text[:200]}")
            if kind == "video":
                self.tally.note(f"video request refused ({response.status_code}); no more videos")
                self.videos_enabled = False
            return None
        self.tally.gave_up += 1
        return None

    async def poll(self, client: httpx.AsyncClient, file_id: str, count: bool = True) -> str:
        """Poll a job until it ends: 'ready', 'failed' or 'lost' (never ended before the deadline)."""
        while time.monotonic() < self.deadline:
            try:
                response = await client.get(f"{UPLOAD_PATH}/{file_id}/status")
            except httpx.HTTPError as exc:
                self.tally.transport_errors += 1
                self.tally.errors.append(f"GET status: {exc!r}")
                await asyncio.sleep(self.config.poll_interval_s)
                continue
            if count:
                self.tally.polls += 1
            self._count(response)
            if response.status_code == 404:
                return "lost"
            if response.status_code == 200:
                body = response.json()
                if body["status"] in ("ready", "failed"):
                    if body["status"] == "failed" and count:
                        self.tally.failures.append(f"{file_id}: {body.get('error')}")
                    return body["status"]
            await asyncio.sleep(self.config.poll_interval_s)
        return "lost"

    async def client_loop(self, client: httpx.AsyncClient, work: asyncio.Queue) -> None:
        while True:
            try:
                kind, text = work.get_nowait()
            except asyncio.QueueEmpty:
                return
            submitted = time.monotonic()
            file_id = await self.submit(client, kind, text)
            if file_id is None:
                continue
            outcome = await self.poll(client, file_id)
            if outcome == "ready":
                self.tally.ready += 1
                self.tally.job_seconds.append(time.monotonic() - submitted)
            elif outcome == "failed":
                self.tally.failed += 1

    async def sampler(self, client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        process = psutil.Process(self.server.process.pid)
        cores = psutil.cpu_count(logical=True) or 1
        prev_cpu, prev_t = await asyncio.to_thread(timed_tree_cpu_seconds, process)
        while not stop.is_set():
            tick = time.monotonic()
            health_ms = None
            try:
                response = await client.get("/health", timeout=5)
                if response.status_code == 200:
                    health_ms = (time.monotonic() - tick) * 1000
                self._count(response)
            except httpx.HTTPError:
                pass
            running = None
            try:
                response = await client.get(STATUS_PATH, timeout=5)
                if response.status_code == 200:
                    running = response.json()["admission"]["heavy"]["running"]
                self._count(response)
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            (cpu, now), rss = await asyncio.to_thread(
                lambda: (timed_tree_cpu_seconds(process), tree_rss_bytes(process))
            )
            percent = max(0.0, cpu - prev_cpu) / (now - prev_t) / cores * 100 if now > prev_t else None
            prev_t, prev_cpu = now, cpu
            self.samples.append(Sample(now, percent, rss / MB, health_ms, running))
            await asyncio.sleep(max(0.0, self.config.sample_interval_s - (time.monotonic() - tick)))

    async def open_connections(self, clients: list[httpx.AsyncClient]) -> None:
        """Open every client's keep-alive connection before the burst, as each n8n or Zapier worker holds its own,
        so that the burst measures the server, not this generator setting up connections."""
        try:
            await asyncio.gather(*(client.get("/health") for client in clients))
        except httpx.HTTPError as exc:
            self.tally.note(f"could not open the connections before the burst ({exc!r})")

    async def run(self) -> dict:
        config = self.config
        timeout = httpx.Timeout(30.0)

        def new_client() -> httpx.AsyncClient:
            return httpx.AsyncClient(base_url=self.server.base_url, headers=self.headers, timeout=timeout)

        async with contextlib.AsyncExitStack() as stack:
            # one HTTP client (and connection) per simulated client, like separate automation workers
            clients = [await stack.enter_async_context(new_client()) for _ in range(config.clients)]
            probe = await stack.enter_async_context(new_client())
            if self.videos_enabled:
                await self.upload_background(probe)
            items = [("tts", " ".join(self.random.sample(SENTENCES, 2))) for _ in range(config.tts)]
            items += [("video", " ".join(self.random.sample(SENTENCES, 2))) for _ in range(config.videos)]
            self.random.shuffle(items)
            work: asyncio.Queue = asyncio.Queue()
            for item in items:
                work.put_nowait(item)
            await self.open_connections(clients)
            stop = asyncio.Event()
            sampler = asyncio.create_task(self.sampler(probe, stop))
            started = time.monotonic()
            tasks = [asyncio.create_task(self.client_loop(client, work)) for client in clients]
            try:
                await asyncio.wait_for(asyncio.gather(*tasks), max(1.0, self.deadline - time.monotonic() + 5))
            except TimeoutError:
                self.tally.note("clients were stopped at the deadline")
            burst_s = time.monotonic() - started
            stop.set()
            await sampler
            try:
                final = (await probe.get(STATUS_PATH)).json()
            except (httpx.HTTPError, ValueError):
                final = None
        return self.report(final, burst_s)

    def report(self, final: dict | None, burst_s: float) -> dict:
        tally, samples = self.tally, self.samples
        health = [s.health_ms for s in samples if s.health_ms is not None]
        saturated = [s.cpu_percent for s in samples if s.running and s.cpu_percent is not None]
        cores = psutil.cpu_count(logical=True) or 1
        budget = final["budget"] if final else None
        admission = final["admission"] if final else None

        def rounded(value: float | None, digits: int = 1) -> float | None:
            return None if value is None else round(value, digits)

        return {
            "preset": self.config.preset,
            "limits": self.config.server_limits(),
            "tts_jobs": self.config.tts,
            "videos": self.config.videos,
            "videos_run": self.videos_enabled,
            "clients": self.config.clients,
            "requests": tally.requests,
            "admitted": tally.admitted,
            "rejected_429": tally.rejected,
            "server_errors_5xx": tally.server_errors,
            "other_errors": tally.other_errors,
            "transport_errors": tally.transport_errors,
            "gave_up": tally.gave_up,
            "skipped_videos": tally.skipped_videos,
            "status_polls": tally.polls,
            "jobs_ready": tally.ready,
            "jobs_failed": tally.failed,
            "jobs_lost": tally.admitted - tally.ready - tally.failed,  # admitted but never seen to end
            "job_seconds_p50": rounded(percentile(tally.job_seconds, 50), 2),
            "job_seconds_max": rounded(max(tally.job_seconds, default=None), 2),
            "health_samples": len(samples),
            "health_answered": len(health),
            "health_p50_ms": rounded(percentile(health, 50)),
            "health_p99_ms": rounded(percentile(health, 99)),
            "health_max_ms": rounded(max(health, default=None)),
            "rejected_p99_ms": rounded(percentile(tally.rejected_ms, 99)),
            "rejected_server_p99_ms": rounded(percentile(tally.rejected_server_ms, 99)),
            "cpu_saturated_samples": len(saturated),
            "cpu_mean_percent": rounded(sum(saturated) / len(saturated) if saturated else None),
            "cpu_p95_percent": rounded(percentile(saturated, 95)),
            "machine_cores": cores,
            "budget_threads": budget["threads"] if budget else None,
            "budget_cores": len(budget["pinned_cores"]) or cores if budget else None,
            "budget_percent": rounded((len(budget["pinned_cores"]) or cores) / cores * 100) if budget else None,
            "peak_rss_mb": rounded(max((s.rss_mb for s in samples), default=None)),
            "peak_running": {k: v["peak_running"] for k, v in admission["kinds"].items()} if admission else None,
            "caps": {k: v["cap"] for k, v in admission["kinds"].items()} if admission else None,
            "peak_heavy": admission["heavy"]["peak_running"] if admission else None,
            "heavy_cap": admission["heavy"]["cap"] if admission else None,
            "peak_queued": max((v["peak_queued"] for v in admission["kinds"].values()), default=0)
            if admission
            else None,
            "server_rejected": admission["rejected"] if admission else None,
            "burst_s": round(burst_s, 1),
            "notes": tally.notes,
            "errors": tally.errors[:20],
            "failures": tally.failures[:20],
        }


async def run_load_test(config: LoadConfig) -> dict:
    """Start the server, run the burst, stop the server; the figures as a dict."""
    if config.preset not in PRESETS:
        raise ValueError(f"unknown preset {config.preset!r}; choose from {', '.join(PRESETS)}")
    deadline = time.monotonic() + config.deadline_s
    with tempfile.TemporaryDirectory(prefix="load-test-") as temp:
        temp_dir = Path(temp)
        model_dir = config.model_dir
        if model_dir is None:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from tests.support.make_test_model import make_test_model

            print("building the random-weight test model…", file=sys.stderr)
            model_dir = make_test_model(temp_dir / "model")
        env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(free_port()),
            "STORAGE_PATH": str(temp_dir / "media"),
            "TTS_ENGINE": "torch",
            "KOKORO_MODEL_DIR": str(model_dir),
            "HF_HUB_OFFLINE": "1",
            "LOG_LEVEL": "WARNING",
            **{name: str(value) for name, value in config.server_limits().items()},
            **config.extra_env,
        }
        headers = {"X-API-Key": os.environ["API_KEY"]} if os.environ.get("API_KEY") else {}
        server = Server(env, temp_dir / "server.log")
        try:
            async with httpx.AsyncClient() as client:
                await server.wait_healthy(client, min(deadline, time.monotonic() + 180))
            test = LoadTest(config, server, headers, deadline)
            result = await test.run()
        finally:
            server.stop()
        if result["server_errors_5xx"] or result["jobs_lost"]:
            result["server_log_tail"] = server.log_tail(40)
        return result


def print_table(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    def ms(value: float | None) -> str:
        return "–" if value is None else f"{value:.1f}"

    limits = result["limits"]
    title = (
        f"load test · preset {result['preset']} · tts cap {limits['MAX_CONCURRENT_TTS']}, "
        f"video cap {limits['MAX_CONCURRENT_VIDEO']}, heavy {limits['MAX_CONCURRENT_HEAVY_TASKS']}, "
        f"queue {limits['MAX_QUEUED_JOBS']}, threads {limits['MAX_CPU_THREADS']}, "
        f"CPU limit {limits['CPU_USAGE_LIMIT']}"
    )
    table = Table(title=title)
    table.add_column("figure", style="bold")
    table.add_column("value", justify="right")
    table.add_column("", style="dim")
    videos = f"{result['videos']} videos" if result["videos_run"] else "no videos"
    table.add_row(
        "burst", f"{result['tts_jobs']} tts + {videos}", f"{result['clients']} clients, {result['burst_s']} s"
    )
    table.add_row("requests", str(result["requests"]), "job POSTs incl. retries")
    table.add_row("admitted", str(result["admitted"]), f"gave up {result['gave_up']}")
    table.add_row("429s", str(result["rejected_429"]), f"server counted {result['server_rejected']}")
    bad = "red" if result["server_errors_5xx"] else "green"
    table.add_row("5xx", f"[{bad}]{result['server_errors_5xx']}[/]", "must be 0")
    table.add_row(
        "other errors", str(result["other_errors"] + result["transport_errors"]), "4xx other than 429, transport"
    )
    lost = "red" if result["jobs_lost"] else "green"
    table.add_row(
        "jobs ready / failed / lost",
        f"{result['jobs_ready']} / {result['jobs_failed']} / [{lost}]{result['jobs_lost']}[/]",
        "lost must be 0",
    )
    table.add_row(
        "job time p50 / max s", f"{ms(result['job_seconds_p50'])} / {ms(result['job_seconds_max'])}", "submit → ended"
    )
    table.add_row(
        "/health p50 / p99 / max ms",
        f"{ms(result['health_p50_ms'])} / {ms(result['health_p99_ms'])} / {ms(result['health_max_ms'])}",
        f"{result['health_answered']}/{result['health_samples']} samples answered",
    )
    table.add_row(
        "429 response p99 ms",
        ms(result["rejected_p99_ms"]),
        f"seen by the clients; the server's own time (Server-Timing) p99 {ms(result['rejected_server_p99_ms'])}",
    )
    table.add_row(
        "CPU % of machine mean / p95",
        f"{ms(result['cpu_mean_percent'])} / {ms(result['cpu_p95_percent'])}",
        f"budget {ms(result['budget_percent'])} % (heavy work pinned to {result['budget_cores']} of "
        f"{result['machine_cores']} cores, {result['budget_threads']} threads); "
        f"{result['cpu_saturated_samples']} samples with ≥1 job running",
    )
    table.add_row("peak RSS MB", ms(result["peak_rss_mb"]), "server process tree")
    if result["peak_running"] is not None:
        peaks = ", ".join(f"{k} {result['peak_running'][k]}/{result['caps'][k]}" for k in result["peak_running"])
        table.add_row(
            "peak running / cap", f"{peaks}, heavy {result['peak_heavy']}/{result['heavy_cap']}", "server counters"
        )
        table.add_row("peak queued", str(result["peak_queued"]), f"waiting room {limits['MAX_QUEUED_JOBS']}")
    console = Console(width=max(110, Console().width))
    console.print(table)
    for line in result["errors"] + result["failures"]:
        console.print(f"[red]{line}[/]")
    if "server_log_tail" in result:
        console.print(result["server_log_tail"], markup=False, highlight=False)


def parse_args(argv: list[str] | None) -> tuple[LoadConfig, bool]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="medium")
    parser.add_argument("--tts", type=int, default=30, help="TTS jobs in the burst")
    parser.add_argument("--videos", type=int, default=6, help="captioned videos in the burst (0: none)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--deadline", type=float, default=300.0, help="global deadline in seconds")
    parser.add_argument("--max-tries", type=int, default=10, help="tries per job when answered 429")
    parser.add_argument("--model-dir", type=Path, help="reuse a test model made by make_test_model.py")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    for name in LIMIT_VARS:
        kind = float if name == "CPU_USAGE_LIMIT" else int
        parser.add_argument(f"--{name.lower().replace('_', '-')}", type=kind, dest=name, help=f"override {name}")
    args = parser.parse_args(argv)
    config = LoadConfig(
        tts=args.tts,
        videos=args.videos,
        clients=args.clients,
        preset=args.preset,
        limits={name: getattr(args, name) for name in LIMIT_VARS if getattr(args, name) is not None},
        deadline_s=args.deadline,
        max_tries=args.max_tries,
        model_dir=args.model_dir,
    )
    return config, args.json


def main(argv: list[str] | None = None) -> int:
    config, as_json = parse_args(argv)
    try:
        result = asyncio.run(run_load_test(config))
    except RuntimeError as exc:
        print(f"load test could not run: {exc}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 1 if result["server_errors_5xx"] or result["jobs_lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
