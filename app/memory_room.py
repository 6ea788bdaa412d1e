"""Admission by memory: a heavy job starts only when its kind's expected peak fits beside the jobs already running
and what stays resident (the API, the loaded models), inside the memory budget (the cgroup limit, else the
machine's memory). Each kind's peak starts at a default and is learned from its own runs.

A job that does not fit waits in the room like any job; with nothing running it always starts, unless even
alone it cannot fit the budget: then `too_small` names both figures (503).
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MB = 1024 * 1024
DEFAULT_PEAK_MB = {"tts": 200, "video": 350, "audio": 150, "stt": 300}
"""Growth of the server's process tree during one job of each kind (engine arenas, ffmpeg, Whisper's model when it
loads); replaced by what the kind's runs show."""
HEADROOM = 0.9
"""Share of the budget jobs may fill: the rest is left to the page cache and the kernel."""
SAMPLE_S = 0.25
MIN_PEAK = 16 * MB


@dataclass
class _Running:
    kind: str
    expected: int
    rss_at_start: int
    highest: int


class MemoryRoom:
    """The memory ledger of one server: resident baseline, reservations of running jobs, learned peaks per kind."""

    def __init__(self, limit_bytes: int, resident: Callable[[], int], peaks_mb: dict[str, int] | None = None) -> None:
        self.limit = limit_bytes
        self.usable = int(limit_bytes * HEADROOM)
        self._resident = resident
        self.peaks = {kind: mb * MB for kind, mb in {**DEFAULT_PEAK_MB, **(peaks_mb or {})}.items()}
        self._lock = threading.Lock()
        self._running: dict[int, _Running] = {}
        self._baseline = resident()
        self._sampler: threading.Thread | None = None
        self.held_back = 0  # checks that found no room in memory

    def expected(self, kind: str) -> int:
        return self.peaks.get(kind, max(self.peaks.values()))

    def fits(self, kind: str, alone: bool) -> bool:
        """Whether one more `kind` job fits now; with nothing running (`alone`) it always does."""
        with self._lock:
            if alone:
                self._baseline = self._resident()  # what stays loaded when no job runs
                return True
            reserved = sum(job.expected for job in self._running.values())
            fits = self._baseline + reserved + self.expected(kind) <= self.usable
            self.held_back += not fits
            return fits

    def too_small(self, kind: str) -> str | None:
        """Why a `kind` job can never run in this budget (the figures named), None when it can."""
        need = self._baseline + self.expected(kind)
        if need <= self.limit:
            return None
        return (
            f"Not enough memory for {kind} jobs: one needs about {need / MB:,.0f} MB (resident "
            f"{self._baseline / MB:,.0f} MB + its peak {self.expected(kind) / MB:,.0f} MB) and the memory limit is "
            f"{self.limit / MB:,.0f} MB."
        )

    def start(self, key: int, kind: str) -> None:
        """Reserve a started job's expected peak; sample the tree while jobs run to learn their real peaks."""
        rss = self._resident()
        with self._lock:
            self._running[key] = _Running(kind, self.expected(kind), rss, rss)
            if self._sampler is None:
                self._sampler = threading.Thread(target=self._sample, name="memory-sampler", daemon=True)
                self._sampler.start()

    def end(self, key: int) -> None:
        """Free the job's reservation and learn its kind's peak from what its run used."""
        rss = self._resident()
        with self._lock:
            job = self._running.pop(key, None)
            if job is None:
                return
            observed = max(job.highest, rss) - job.rss_at_start
            old = self.peaks.get(job.kind, observed)
            self.peaks[job.kind] = max(MIN_PEAK, observed, (old + observed) // 2)

    def _sample(self) -> None:
        while True:
            rss = self._resident()
            with self._lock:
                if not self._running:
                    self._sampler = None
                    return
                for job in self._running.values():
                    job.highest = max(job.highest, rss)
            threading.Event().wait(SAMPLE_S)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "limit_mb": round(self.limit / MB, 1),
                "usable_mb": round(self.usable / MB, 1),
                "resident_mb": round(self._baseline / MB, 1),
                "reserved_mb": round(sum(job.expected for job in self._running.values()) / MB, 1),
                "expected_peak_mb": {kind: round(peak / MB, 1) for kind, peak in self.peaks.items()},
                "checks_held_back": self.held_back,
            }
