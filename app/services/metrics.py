"""Prometheus metrics of one app, in its own `CollectorRegistry` (several apps may share a process)."""

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.services.jobs import Job, JobStatus
from app.services.ports import JobAdmission
from app.services.system_stats import SystemStats, job_duration, tree_rss_bytes

DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, float("inf"))


class _ScrapeTimeCollector(Collector):
    """Figures read when scraped: 429s, queue depth, running per kind, process CPU and RSS."""

    def __init__(self, admission: JobAdmission, stats: SystemStats) -> None:
        self.admission = admission
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        snapshot = self.admission.snapshot()
        yield CounterMetricFamily(
            "media_rejected_requests",
            "Job requests refused with HTTP 429 because every slot and the waiting room were taken.",
            value=snapshot["rejected"],
        )
        yield GaugeMetricFamily(
            "media_queue_depth", "Admitted jobs waiting for a slot.", value=snapshot["queued_total"]
        )
        yield GaugeMetricFamily("media_queue_capacity", "Size of the waiting room.", value=snapshot["max_queued"])
        running = GaugeMetricFamily("media_jobs_running", "Jobs holding a slot, per kind.", labels=["kind"])
        queued = GaugeMetricFamily("media_jobs_queued", "Jobs waiting for a slot, per kind.", labels=["kind"])
        cap = GaugeMetricFamily("media_jobs_cap", "Concurrent jobs allowed, per kind.", labels=["kind"])
        peak = GaugeMetricFamily("media_jobs_peak_running", "Most jobs running at once, per kind.", labels=["kind"])
        for kind, figures in snapshot["kinds"].items():
            running.add_metric([kind], figures["running"])
            queued.add_metric([kind], figures["queued"])
            cap.add_metric([kind], figures["cap"])
            peak.add_metric([kind], figures["peak_running"])
        yield from (running, queued, cap, peak)
        yield GaugeMetricFamily(
            "media_heavy_running", "Heavy jobs running (all kinds).", value=snapshot["heavy"]["running"]
        )
        if "workers" in snapshot:
            yield from _worker_metrics(snapshot["workers"])
        cpu = self.stats.cpu.sample()
        yield GaugeMetricFamily(
            "media_process_cpu_percent",
            "CPU use of the server process and its children since the previous sample (100 = one core).",
            value=cpu.process_percent or 0.0,
        )
        yield GaugeMetricFamily(
            "media_process_resident_memory_bytes",
            "Resident memory of the server process and its children.",
            value=tree_rss_bytes(self.stats.cpu.process),
        )


def _worker_metrics(workers: list[dict[str, Any]]) -> Iterator[Metric]:
    """Cluster mode: the live workers, each with its caps, running jobs and the age of its last heartbeat."""
    yield GaugeMetricFamily("media_workers_live", "Workers heard from within WORKER_TIMEOUT_S.", value=len(workers))
    caps = GaugeMetricFamily("media_worker_cap", "A worker's slots, per kind.", labels=["worker", "kind"])
    running = GaugeMetricFamily("media_worker_running", "A worker's running jobs, per kind.", labels=["worker", "kind"])
    age = GaugeMetricFamily("media_worker_heartbeat_age_seconds", "Since a worker's last heartbeat.", labels=["worker"])
    for worker in workers:
        for kind, cap in worker["caps"].items():
            caps.add_metric([worker["id"], kind], cap)
            running.add_metric([worker["id"], kind], worker["running"].get(kind, 0))
        age.add_metric([worker["id"]], worker["last_heartbeat_s_ago"])
    yield from (caps, running, age)


class Metrics:
    """The metric objects of one app; `on_job_end` is a runner end hook."""

    def __init__(self, admission: JobAdmission, stats: SystemStats) -> None:
        self.registry = CollectorRegistry()
        self.jobs = Counter(
            "media_jobs", "Jobs that ended, by kind and outcome.", ["kind", "outcome"], registry=self.registry
        )
        self.duration = Histogram(
            "media_job_duration_seconds",
            "Seconds a job ran (slot held), by kind.",
            ["kind"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        for kind in admission.caps:
            for outcome in (JobStatus.READY, JobStatus.FAILED):
                self.jobs.labels(kind, outcome)
            self.duration.labels(kind)
        self.registry.register(_ScrapeTimeCollector(admission, stats))

    async def on_job_end(self, job: Job) -> None:
        self.observe(job)

    def observe(self, job: Job) -> None:
        self.jobs.labels(job.kind, job.status).inc()
        duration = job_duration(job)
        if duration is not None:
            self.duration.labels(job.kind).observe(duration)

    def render(self) -> bytes:
        return generate_latest(self.registry)
