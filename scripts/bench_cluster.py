"""Benchmark cluster mode: one worker against two, a job through the cluster against one server, /health under load.

Usage: python scripts/bench_cluster.py [--jobs 12] [--chars 300] [--runs 5] [--cores 0,1] [--engine onnx]

It starts its own Redis and S3 server (`tests/support/servers.py`, through `tests/support/cluster.py`), one web
node (`python server.py`, BACKEND=cluster) and workers (`python -m app.worker`), each worker pinned to one core
with `taskset -c N` (MAX_CPU_THREADS=1, CPU_USAGE_LIMIT=1.0, one TTS job at a time). Redis, S3, the web node and
this script keep to the other cores when the machine has some; otherwise they share the workers' cores and the
figures say less. Each node has its own STORAGE_PATH and log in a temporary directory.

a) The same batch of TTS jobs (`--jobs` texts of about `--chars` characters, wait=false, then polled on
   `/api/v1/media/storage/<id>/status`) through one worker on the first core, then through two workers on both:
   jobs per second, and the ratio two / one (target >= 1.7).
b) One job with wait=true through the cluster (one worker) and the same job through one server (BACKEND=local)
   pinned to the same core with the same budget, alternating after one warm-up each: the medians of `--runs`
   latencies, and the ratio cluster / local (target <= 1.10).
c) p50 and p99 of GET /health on the web node while the two-worker batch runs.

The web node's waiting room holds the whole batch; a 429 is retried after its Retry-After and counted.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import redis

from app.cluster import keys
from tests.support.cluster import Cluster, Process, WebNode

TTS = "/api/v1/media/audio-tools/tts/kokoro"
STATUS = "/api/v1/media/storage/{}/status"
SCALING_TARGET = 1.7
LATENCY_TARGET = 1.10
ONE_CORE = {
    "MAX_CPU_THREADS": "1",
    "CPU_USAGE_LIMIT": "1.0",
    "MAX_CONCURRENT_TTS": "1",
    "MAX_CONCURRENT_HEAVY_TASKS": "1",
}
"""The budget of every worker and of the single server: one thread on its one core, one job at a time."""
PIN = "import os, sys; os.sched_setaffinity(0, {int(sys.argv[1])}); os.execvp(sys.argv[2], sys.argv[2:])"
"""Without taskset: pin this process to a core, then become the command (the same pid, as with taskset)."""
PARAGRAPH = (
    "The harbour wakes before the town does. Fishing boats come back with the tide, gulls circle above the nets, "
    "and the first trucks wait by the market hall with their engines running. By seven the cafes open their "
    "shutters, the baker carries trays of warm bread across the square, and children walk to school in small "
    "groups, arguing about football and homework. At noon the bells ring from the old church on the hill, and "
    "the streets grow quiet while families sit down to lunch. In the evening the lights come on along the pier."
)


def texts(count: int, chars: int) -> list[str]:
    """`count` different texts of about `chars` characters (different, so that no request reuses another's job)."""
    made = []
    for number in range(1, count + 1):
        text = f"Request number {number}. {PARAGRAPH * (1 + chars // len(PARAGRAPH))}"[:chars]
        sentence_end = text.rfind(". ") + 1
        made.append(text[:sentence_end] if sentence_end > 0.8 * chars else text.rsplit(" ", 1)[0].rstrip(",;:") + ".")
    return made


def pinned(args: list[str], core: int) -> list[str]:
    """`args` run on `core` alone."""
    if shutil.which("taskset"):
        return ["taskset", "-c", str(core), *args]
    return [sys.executable, "-c", PIN, str(core), *args]


def keep_to_other_cores(worker_cores: Sequence[int]) -> set[int]:
    """Move this script (and so the Redis, S3 and web node it starts) off the workers' cores when there are
    others; the cores it runs on."""
    available = os.sched_getaffinity(0)
    others = available - set(worker_cores)
    if others:
        os.sched_setaffinity(0, others)
    return others or available


def start_worker(cluster: Cluster, core: int) -> Process:
    name = f"worker{len(cluster.workers) + 1}"
    command = pinned([sys.executable, "-m", "app.worker"], core)
    node = Process(name, command, cluster.environment(name, **ONE_CORE), cluster.directory / name)
    node.start()
    cluster.workers.append(node)
    return node


def use_workers(cluster: Cluster, cores: Sequence[int]) -> None:
    """Exactly one worker on each of `cores` (the others stopped), live and offering speech."""
    for node in cluster.workers:
        node.stop()
    cluster.workers = []
    for core in cores:
        start_worker(cluster, core)
    cluster.wait_for_workers(len(cores), cluster.workers[-1])
    web = cluster.webs[0]
    deadline = time.monotonic() + 120
    while not web.client.get("/health").json()["tts"]["available"]:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the web node does not offer speech: {web.client.get('/health').json()['tts']}")
        time.sleep(0.2)


def start_local_server(directory: Path, core: int, engine: str) -> WebNode:
    """One server (BACKEND=local) with the workers' budget, pinned to `core`."""
    env = {
        **os.environ,
        "BACKEND": "local",
        "STORAGE_PATH": str(directory / "local" / "storage"),
        "HOST": "127.0.0.1",
        "TTS_ENGINE": engine,
        "LOG_LEVEL": "WARNING",
        **ONE_CORE,
    }
    node = WebNode("local", env, directory / "local")
    node.args = pinned(node.args, core)
    node.start()
    return node


@dataclass
class Batch:
    seconds: float = 0.0
    jobs: int = 0
    rejected: int = 0  # 429s, each retried after its Retry-After
    failures: list[str] = field(default_factory=list)
    file_ids: list[str] = field(default_factory=list)
    per_worker: list[int] = field(default_factory=list)  # jobs each worker ended, most first

    @property
    def per_second(self) -> float:
        return self.jobs / self.seconds if self.seconds else 0.0


def submit(client: httpx.Client, text: str, batch: Batch) -> str:
    """POST one TTS job until admitted; its id."""
    while True:
        response = client.post(TTS, data={"text": text, "dedup": "false"})
        if response.status_code == 202:
            return str(response.json()["file_id"])
        if response.status_code != 429:
            raise RuntimeError(f"POST {TTS} answered {response.status_code}: {response.text[:300]}")
        batch.rejected += 1
        time.sleep(float(response.headers.get("retry-after", "1")))


def wait_until_ended(client: httpx.Client, file_id: str, poll_s: float, deadline: float) -> dict[str, object]:
    """The job's status once it is ready or failed."""
    while True:
        body: dict[str, object] = client.get(STATUS.format(file_id)).json()
        if body["status"] in ("ready", "failed"):
            return body
        if time.perf_counter() > deadline:
            raise RuntimeError(f"job {file_id} had not ended in time ({body['status']})")
        time.sleep(poll_s)


def run_batch(client: httpx.Client, batch_texts: list[str], poll_s: float, timeout_s: float) -> Batch:
    """Submit every text, then wait for the jobs in order (one status request per poll, so that polling takes
    little from the workers): seconds from the first POST to the end of the last job."""
    batch = Batch(jobs=len(batch_texts))
    start = time.perf_counter()
    batch.file_ids = [submit(client, text, batch) for text in batch_texts]
    for file_id in batch.file_ids:
        body = wait_until_ended(client, file_id, poll_s, start + timeout_s)
        if body["status"] == "failed":
            batch.failures.append(f"{file_id}: {body.get('error')}")
    batch.seconds = time.perf_counter() - start
    return batch


def jobs_per_worker(cluster: Cluster, file_ids: list[str]) -> list[int]:
    """How many of the jobs each worker ended, most first, from the end claims in Redis (the worker's id)."""
    client = redis.Redis.from_url(cluster.redis.url, decode_responses=True)
    try:
        claims = client.mget([keys.ended(file_id) for file_id in file_ids])
    finally:
        client.close()
    return sorted(Counter(claims).values(), reverse=True)


@dataclass(frozen=True)
class Answer:
    wall_s: float  # from the POST (wait=true) to the audio in hand
    job_s: float  # the job's own run, started_at to finished_at (the rest: HTTP, queue, storage, waking up)


def speak(client: httpx.Client, text: str) -> Answer:
    start = time.perf_counter()
    response = client.post(TTS, data={"text": text, "wait": "true", "dedup": "false"}, timeout=600)
    wall_s = time.perf_counter() - start
    if response.status_code != 200 or not response.content:
        raise RuntimeError(f"POST {TTS} with wait=true answered {response.status_code}: {response.text[:300]}")
    job = client.get(STATUS.format(response.headers["x-file-id"])).json()
    return Answer(wall_s, job["finished_at"] - job["started_at"])


def medians(answers: list[Answer]) -> tuple[float, float, float]:
    """Median wall time, median job time and median time around the job."""
    return (
        statistics.median(answer.wall_s for answer in answers),
        statistics.median(answer.job_s for answer in answers),
        statistics.median(answer.wall_s - answer.job_s for answer in answers),
    )


class HealthSampler(threading.Thread):
    """GET /health every `interval_s` until stopped; the latencies (ms) of the 200 answers."""

    def __init__(self, url: str, interval_s: float) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.interval_s = interval_s
        self.stopped = threading.Event()
        self.ms: list[float] = []
        self.errors = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self.stopped.is_set():
                start = time.perf_counter()
                try:
                    ok = client.get("/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = time.perf_counter() - start
                if ok:
                    self.ms.append(elapsed * 1000)
                else:
                    self.errors += 1
                self.stopped.wait(max(0.0, self.interval_s - elapsed))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (nan for no values)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5))) - 1]


@dataclass
class Figures:
    one: Batch = field(default_factory=Batch)
    two: Batch = field(default_factory=Batch)
    cluster: list[Answer] = field(default_factory=list)
    local: list[Answer] = field(default_factory=list)
    health: HealthSampler | None = None


def measure_one_worker(cluster: Cluster, args: argparse.Namespace, figures: Figures) -> None:
    """(a) with one worker, then (b) against one server on the same core."""
    web = cluster.webs[0]
    use_workers(cluster, args.cores[:1])
    run_batch(web.client, texts(1, args.chars), args.poll, args.timeout)  # warm-up
    figures.one = run_batch(web.client, texts(args.jobs, args.chars), args.poll, args.timeout)
    figures.one.per_worker = jobs_per_worker(cluster, figures.one.file_ids)
    print(f"one worker: {figures.one.jobs} jobs in {figures.one.seconds:.2f} s", flush=True)
    local = start_local_server(cluster.directory, args.cores[0], args.engine)
    try:
        text = texts(1, args.chars)[0]
        speak(web.client, text)  # warm-up: the first call of each pays one-time costs
        speak(local.client, text)
        for run in range(args.runs):  # each side first in turn, so both see the same load on a shared machine
            if run % 2:
                figures.local.append(speak(local.client, text))
            figures.cluster.append(speak(web.client, text))
            if not run % 2:
                figures.local.append(speak(local.client, text))
    finally:
        local.stop()
        local.client.close()
    print(
        f"wait=true: cluster {medians(figures.cluster)[0]:.3f} s, local {medians(figures.local)[0]:.3f} s", flush=True
    )


def measure_two_workers(cluster: Cluster, args: argparse.Namespace, figures: Figures) -> None:
    """(a) with two workers, (c) meanwhile."""
    web = cluster.webs[0]
    use_workers(cluster, args.cores[:2])
    run_batch(web.client, texts(2, args.chars), args.poll, args.timeout)  # warm-up, one job each
    figures.health = HealthSampler(web.url, args.health_interval)
    figures.health.start()
    try:
        figures.two = run_batch(web.client, texts(args.jobs, args.chars), args.poll, args.timeout)
        figures.two.per_worker = jobs_per_worker(cluster, figures.two.file_ids)
    finally:
        figures.health.stopped.set()
        figures.health.join()
    print(f"two workers: {figures.two.jobs} jobs in {figures.two.seconds:.2f} s", flush=True)


def report(args: argparse.Namespace, figures: Figures, service_cores: set[int]) -> None:
    first, second = args.cores[:2]
    shared = set(args.cores[:2]) & service_cores
    print(f"\ncluster mode, engine {args.engine}, {args.jobs} TTS jobs of about {args.chars} characters")
    print(
        f"workers pinned to cores {first} and {second} (1 thread, one job at a time each); Redis, S3, the web node "
        f"and this script on cores {sorted(service_cores)}" + (" (shared with the workers)" if shared else "")
    )
    print(f"load average now: {', '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"\n{'a) the batch':30} {'seconds':>8} {'jobs/s':>8} {'429s':>6} {'failed':>7}  jobs per worker")
    for name, batch in (
        (f"one worker (core {first})", figures.one),
        (f"two workers (cores {first}, {second})", figures.two),
    ):
        spread = " + ".join(str(count) for count in batch.per_worker)
        print(
            f"{name:30} {batch.seconds:8.2f} {batch.per_second:8.3f} {batch.rejected:6d} {len(batch.failures):7d}"
            f"  {spread}"
        )
    scaling = figures.two.per_second / figures.one.per_second if figures.one.per_second else float("nan")
    print(f"ratio two / one: {scaling:.3f} (target >= {SCALING_TARGET})")
    print(f"\n{'b) one job, wait=true':30} {'median s':>8} {'job s':>8} {'around s':>8}  runs (s)")
    for name, answers in (("cluster (one worker)", figures.cluster), ("one server (BACKEND=local)", figures.local)):
        wall, job, around = medians(answers)
        runs = ", ".join(f"{answer.wall_s:.3f}" for answer in answers)
        print(f"{name:30} {wall:8.3f} {job:8.3f} {around:8.3f}  {runs}")
    latency = medians(figures.cluster)[0] / medians(figures.local)[0]
    print(
        f"ratio cluster / local: {latency:.3f} (target <= {LATENCY_TARGET:.2f}); job s: the job's own run, "
        "around s: the rest (HTTP, admission, queue, storage, waking the request)"
    )
    health = figures.health
    if health is not None:
        print(
            f"\nc) GET /health during the two-worker batch: p50 {percentile(health.ms, 50):.1f} ms, "
            f"p99 {percentile(health.ms, 99):.1f} ms, max {max(health.ms, default=float('nan')):.1f} ms "
            f"({len(health.ms)} answers, {health.errors} errors)"
        )
    for failure in figures.one.failures + figures.two.failures:
        print(f"failed: {failure}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=12, help="TTS jobs in the batch (a)")
    parser.add_argument("--chars", type=int, default=300, help="characters of each text")
    parser.add_argument("--runs", type=int, default=5, help="wait=true runs of each side (b)")
    parser.add_argument("--cores", default="0,1", help="the two workers' cores (the first also runs the one server)")
    parser.add_argument("--engine", default="onnx", choices=("onnx", "torch", "auto"), help="TTS_ENGINE")
    parser.add_argument("--poll", type=float, default=0.1, help="seconds between status polls")
    parser.add_argument("--health-interval", type=float, default=0.1, help="seconds between /health samples (c)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds a batch may take")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, data)")
    args = parser.parse_args()
    args.cores = [int(core) for core in args.cores.split(",")]
    if len(args.cores) != 2 or args.jobs < 1 or args.runs < 1:
        parser.error("--cores takes two cores; --jobs and --runs at least 1")
    return args


def main() -> None:
    args = parse_args()
    service_cores = keep_to_other_cores(args.cores)
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    settings = {"TTS_ENGINE": args.engine, "LOG_LEVEL": "WARNING"}
    cluster = Cluster(work, **settings)
    figures = Figures()
    try:
        room = str(max(50, 2 * args.jobs))
        cluster.add_web(MAX_QUEUED_JOBS=room, MAX_QUEUE_WAIT_S="3600")
        measure_one_worker(cluster, args, figures)
        measure_two_workers(cluster, args, figures)
    except Exception:
        args.keep = True
        for node in [*cluster.webs, *cluster.workers]:
            print(f"--- {node.name} ({node.log}):\n{node.tail()}", file=sys.stderr)
        raise
    finally:
        cluster.stop()
        if args.keep:
            print(f"logs and data: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    report(args, figures, service_cores)


if __name__ == "__main__":
    main()
