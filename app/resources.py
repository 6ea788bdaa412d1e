"""CPU and memory as this process sees them (CPU affinity, its cgroup's quota and limit, the machine), each
figure with where it came from: for the startup log, `/health` and `/api/v1/system/status`."""

import os
from dataclasses import dataclass
from pathlib import Path

from typing_extensions import TypedDict  # pydantic validates typing_extensions' TypedDict on 3.11

from app.cgroups import CgroupLimits, Limit, machine_memory, memory_seen

MIB = 1024 * 1024


class CpuSeen(TypedDict):
    """The CPUs heavy work may use, the affinity and cgroup quota that decided it, and where they came from."""

    cores: int
    affinity_cores: int
    cgroup_quota_cpus: float | None
    source: str


class MemorySeen(TypedDict):
    """The memory this process may use (cgroup limit, else the machine's) and where it came from."""

    limit_mb: float | None
    from_cgroup: bool
    source: str


class ResourcesInfo(TypedDict):
    cpu: CpuSeen
    memory: MemorySeen


def affinity_cores() -> list[int]:
    """The CPU ids this process may run on."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:
        return list(range(os.cpu_count() or 1))


@dataclass(frozen=True)
class Resources:
    """What this process may use: CPUs (affinity cut to the cgroup quota) and memory, with their sources."""

    affinity: int
    cpu_quota: Limit | None
    memory: Limit | None
    memory_from_cgroup: bool

    @classmethod
    def seen(
        cls, proc_cgroup: Path = Path("/proc/self/cgroup"), mountinfo: Path = Path("/proc/self/mountinfo")
    ) -> "Resources":
        """Read them now from /proc and the cgroup files."""
        limits = CgroupLimits.read(proc_cgroup, mountinfo)
        memory = memory_seen(limits, machine_memory())
        from_cgroup = memory is not None and memory == limits.memory
        return cls(len(affinity_cores()), limits.cpu, memory, from_cgroup)

    @property
    def cores(self) -> int:
        """CPUs heavy work may use: the affinity, cut to the floored quota, never below one."""
        if self.cpu_quota is None:
            return self.affinity
        return max(1, min(self.affinity, int(self.cpu_quota.value)))

    @property
    def memory_bytes(self) -> int | None:
        """The memory budget (cgroup limit, else the machine's); None where neither could be read."""
        return int(self.memory.value) if self.memory is not None else None

    def cpu_source(self) -> str:
        if self.cpu_quota is None:
            return "CPU affinity (no cgroup CPU quota)"
        return f"cgroup CPU quota {self.cpu_quota.value:g} CPUs ({self.cpu_quota.source}) on {self.affinity} CPUs"

    def memory_source(self) -> str:
        if self.memory is None:
            return "unknown (no cgroup limit, /proc/meminfo unreadable)"
        where = "cgroup memory limit" if self.memory_from_cgroup else "machine memory, no cgroup limit"
        return f"{where} ({self.memory.source})"

    def describe(self) -> ResourcesInfo:
        memory_mb = round(self.memory.value / MIB, 1) if self.memory is not None else None
        quota = round(self.cpu_quota.value, 3) if self.cpu_quota is not None else None
        return {
            "cpu": {
                "cores": self.cores,
                "affinity_cores": self.affinity,
                "cgroup_quota_cpus": quota,
                "source": self.cpu_source(),
            },
            "memory": {"limit_mb": memory_mb, "from_cgroup": self.memory_from_cgroup, "source": self.memory_source()},
        }

    def log_line(self) -> str:
        memory = f"{self.memory.value / MIB:,.0f} MB" if self.memory is not None else "unknown"
        cpus = f"{self.cores} CPUs from {self.cpu_source()}"
        return f"resources seen: {cpus}; memory {memory} from {self.memory_source()}"
