"""What the server is doing right now: CPU, memory, load, admission per kind, recent jobs, model state.

No HTTP here. CPU percentages are deltas between two samples (the previous one is kept), so a
call never blocks; a call sooner than `min_interval_s` after the last one reuses its figures.
"""

import ctypes
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import psutil

from app.config import Settings
from app.limits import CpuBudget
from app.resources import Resources
from app.services.child_process import ChildProcess
from app.services.jobs import Job
from app.services.ports import JobAdmission
from app.services.tts.service import TtsService

MB = 1024 * 1024


def process_tree(process: psutil.Process) -> list[psutil.Process]:
    """The process and its live descendants."""
    try:
        return [process, *process.children(recursive=True)]
    except psutil.Error:
        return [process]


def _load_cpu_clock_lookup() -> Callable[..., int] | None:
    try:
        return ctypes.CDLL(None, use_errno=True).clock_getcpuclockid
    except (OSError, AttributeError):
        return None


_clock_getcpuclockid = _load_cpu_clock_lookup()


def process_cpu_seconds(proc: psutil.Process) -> float:
    """CPU seconds of one live process, to the nanosecond where the OS allows (POSIX per-process CPU clock);
    /proc's 10 ms ticks would make a 200 ms sample of one busy core swing by ±5 %."""
    if _clock_getcpuclockid is not None:
        clock_id = ctypes.c_int()
        if _clock_getcpuclockid(proc.pid, ctypes.byref(clock_id)) == 0:
            try:
                return time.clock_gettime(clock_id.value)
            except OSError:
                pass
    times = proc.cpu_times()
    return times.user + times.system


def tree_cpu_seconds(process: psutil.Process) -> float:
    """CPU seconds of the process, its live descendants and its reaped children."""
    total = 0.0
    for index, proc in enumerate(process_tree(process)):
        try:
            total += process_cpu_seconds(proc)
            if index == 0:
                times = proc.cpu_times()
                total += getattr(times, "children_user", 0.0) + getattr(times, "children_system", 0.0)
        except psutil.Error:
            continue
    return total


def tree_rss_bytes(process: psutil.Process) -> int:
    total = 0
    for proc in process_tree(process):
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total


class _CpuTimes(Protocol):
    """`psutil.cpu_times()`: a named tuple of seconds whose fields differ by platform (iowait: Linux only)."""

    @property
    def idle(self) -> float: ...

    def __iter__(self) -> Iterator[float]: ...


def _busy_and_total(times: _CpuTimes) -> tuple[float, float]:
    total = sum(times)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total


@dataclass
class CpuSample:
    process_percent: float | None  # 100 = one core
    process_percent_of_machine: float | None  # 100 = every core of the machine
    machine_percent: float | None  # 100 = every core busy
    window_s: float | None


class CpuSampler:
    """CPU use of a process tree and of the machine, as deltas from the previous call."""

    def __init__(self, pid: int | None = None, min_interval_s: float = 0.25) -> None:
        self.process = psutil.Process(pid or os.getpid())
        self.min_interval_s = min_interval_s
        self.logical_cpus = psutil.cpu_count(logical=True) or 1
        self._lock = threading.Lock()
        self._prev_wall = time.monotonic()
        self._prev_tree = tree_cpu_seconds(self.process)
        self._prev_machine = _busy_and_total(psutil.cpu_times())
        self._last = CpuSample(None, None, None, None)

    def sample(self) -> CpuSample:
        with self._lock:
            now = time.monotonic()
            window = now - self._prev_wall
            if window < self.min_interval_s and self._last.window_s is not None:
                return self._last
            tree = tree_cpu_seconds(self.process)
            busy, total = _busy_and_total(psutil.cpu_times())
            prev_busy, prev_total = self._prev_machine
            process_percent = max(0.0, tree - self._prev_tree) / window * 100 if window > 0 else 0.0
            machine_percent = (
                max(0.0, min(100.0, (busy - prev_busy) / (total - prev_total) * 100)) if total > prev_total else 0.0
            )
            self._prev_wall, self._prev_tree, self._prev_machine = now, tree, (busy, total)
            self._last = CpuSample(
                process_percent=round(process_percent, 1),
                process_percent_of_machine=round(process_percent / self.logical_cpus, 1),
                machine_percent=round(machine_percent, 1),
                window_s=round(window, 3),
            )
            return self._last


class SystemStats:
    """Gathers the figures of `GET /api/v1/system/status`; `on_job_end` is a runner end hook."""

    def __init__(
        self,
        budget: CpuBudget,
        admission: JobAdmission,
        tts: TtsService,
        settings: Settings | None = None,
        engine_process: ChildProcess | None = None,
        recent_jobs: int = 20,
        resources: Resources | None = None,
    ) -> None:
        self.resources = resources or Resources.seen()
        self.engine_process = engine_process
        self.budget = budget
        self.admission = admission
        self.tts = tts
        self.settings = settings
        self.cpu = CpuSampler()
        self.started = time.time()
        self._recent: deque[dict[str, Any]] = deque(maxlen=recent_jobs)
        self._lock = threading.Lock()

    async def on_job_end(self, job: Job) -> None:
        self.record(job)

    def record(self, job: Job) -> None:
        entry = {
            "file_id": job.id,
            "kind": job.kind,
            "outcome": job.status,
            "duration_s": job_duration(job),
            "queued_s": queue_wait(job),
            "finished_at": job.finished_at,
        }
        with self._lock:
            self._recent.append(entry)

    def recent_jobs(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(reversed(self._recent))

    def collect(self) -> dict[str, Any]:
        cpu = self.cpu.sample()
        process = self.cpu.process
        memory = psutil.virtual_memory()
        try:
            load = [round(v, 2) for v in os.getloadavg()]
        except OSError:
            load = None
        budget = {
            "threads": self.budget.threads,
            "cores": self.budget.cores,
            "pinned_cores": list(self.budget.pinned_cores),
            "nice": self.budget.nice,
        }
        if self.settings is not None:
            budget["max_cpu_threads"] = self.settings.max_cpu_threads
            budget["cpu_usage_limit"] = self.settings.cpu_usage_limit
        return {
            "time": time.time(),
            "uptime_s": round(time.time() - self.started, 1),
            "pid": process.pid,
            "cores": {"logical": self.cpu.logical_cpus, "available": self.budget.cores},
            "budget": budget,
            "cpu": {
                "process_percent": cpu.process_percent,
                "process_percent_of_machine": cpu.process_percent_of_machine,
                "machine_percent": cpu.machine_percent,
                "window_s": cpu.window_s,
            },
            "memory": {
                "process_rss_mb": round(tree_rss_bytes(process) / MB, 1),
                "machine_total_mb": round(memory.total / MB, 1),
                "machine_available_mb": round(memory.available / MB, 1),
                "machine_percent": memory.percent,
            },
            "resources": self.resources.describe(),
            "load_average": load,
            "admission": self.admission.snapshot(),
            "recent_jobs": self.recent_jobs(),
            "model": self.tts.describe(),
            "engine_process": self.engine_process.describe() if self.engine_process else None,
        }


def job_duration(job: Job) -> float | None:
    """Seconds the job ran (its slots held), None when it never started."""
    if job.started_at is None or job.finished_at is None:
        return None
    return round(max(0.0, job.finished_at - job.started_at), 3)


def queue_wait(job: Job) -> float | None:
    if job.started_at is None:
        return None
    return round(max(0.0, job.started_at - job.created_at), 3)
