"""The CPU quota and memory limit of this process's own cgroup, on cgroup v1 and v2.

The cgroup path comes from `/proc/self/cgroup`, the mount of each hierarchy from `/proc/self/mountinfo`.
From the process's cgroup up to its mount's top, the tightest limit wins (a parent's limit binds its children),
so a limit set by Docker (`--cpus`, `-m`), Kubernetes or systemd (`CPUQuota=`, `MemoryMax=`) is seen alike.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

UNLIMITED_BYTES = 1 << 60
"""cgroup v1 writes "no limit" as a huge number (9223372036854771712); anything this large means none."""


@dataclass(frozen=True)
class Limit:
    """A limit and the file it was read from."""

    value: float
    source: str


@dataclass(frozen=True)
class Hierarchy:
    """One mounted cgroup hierarchy: v1 (with its controllers) or v2, where this process sits in it."""

    version: int
    controllers: frozenset[str]
    mount_point: Path
    mount_root: str
    path: str

    def own_dir(self) -> Path:
        """The process's cgroup directory inside the mount (the mount's top when the path is outside it)."""
        root = self.mount_root.rstrip("/")
        if root and not (self.path == root or self.path.startswith(root + "/")):
            return self.mount_point
        relative = self.path[len(root) :].strip("/")
        return self.mount_point / relative if relative else self.mount_point

    def dirs_up(self) -> list[Path]:
        """From the process's cgroup up to the mount's top, both included."""
        here = self.own_dir()
        dirs = [here]
        while here != self.mount_point and self.mount_point in here.parents:
            here = here.parent
            dirs.append(here)
        return dirs


def _unescape(field: str) -> str:
    """mountinfo writes spaces and the like as octal escapes (`\\040`)."""
    return field.encode().decode("unicode_escape") if "\\" in field else field


def mounts(mountinfo: str) -> list[tuple[int, frozenset[str], Path, str]]:
    """(version, controllers, mount point, mount root) of every cgroup mount in a mountinfo text."""
    mounts: list[tuple[int, frozenset[str], Path, str]] = []
    for line in mountinfo.splitlines():
        before, sep, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if not sep or len(fields) < 5 or len(tail) < 3:
            continue
        if tail[0] == "cgroup2":
            mounts.append((2, frozenset(), Path(_unescape(fields[4])), _unescape(fields[3])))
        elif tail[0] == "cgroup":
            controllers = frozenset(tail[2].split(",")) - {"rw", "ro"}
            mounts.append((1, controllers, Path(_unescape(fields[4])), _unescape(fields[3])))
    return mounts


def _paths(proc_cgroup: str) -> tuple[dict[str, str], str | None]:
    """The process's cgroup path per v1 controller, and its v2 path (None when not in a v2 hierarchy)."""
    v1: dict[str, str] = {}
    v2 = None
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            v2 = path
        for controller in controllers.split(","):
            if controller:
                v1[controller] = path
    return v1, v2


def hierarchies(proc_cgroup: str, mountinfo: str) -> list[Hierarchy]:
    """Every mounted hierarchy this process sits in, v1 ones first."""
    v1_paths, v2_path = _paths(proc_cgroup)
    found = []
    for version, controllers, mount_point, mount_root in mounts(mountinfo):
        if version == 1:
            path = next((v1_paths[c] for c in sorted(controllers) if c in v1_paths), None)
            if path is not None:
                found.append(Hierarchy(1, controllers, mount_point, mount_root, path))
        elif v2_path is not None:
            found.append(Hierarchy(2, frozenset(), mount_point, mount_root, v2_path))
    return sorted(found, key=lambda h: h.version)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _cpu_at(directory: Path, version: int) -> Limit | None:
    """CPUs allowed by the quota in one cgroup directory; None when it sets none."""
    try:
        if version == 2:
            text = _read(directory / "cpu.max")
            if text is None or text.split()[0] == "max":
                return None
            quota, period = text.split()[:2]
            return Limit(int(quota) / int(period), str(directory / "cpu.max"))
        quota_text, period_text = _read(directory / "cpu.cfs_quota_us"), _read(directory / "cpu.cfs_period_us")
        if quota_text is None or period_text is None or int(quota_text) <= 0:
            return None
        return Limit(int(quota_text) / int(period_text), str(directory / "cpu.cfs_quota_us"))
    except (ValueError, IndexError, ZeroDivisionError):
        return None


def _memory_at(directory: Path, version: int) -> Limit | None:
    """Bytes allowed in one cgroup directory; None when it sets none."""
    name = "memory.max" if version == 2 else "memory.limit_in_bytes"
    text = _read(directory / name)
    if text is None or text == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return None if value >= UNLIMITED_BYTES else Limit(float(value), str(directory / name))


LimitReader = Callable[[Path, int], Limit | None]


def _tightest(limits: list[Limit | None]) -> Limit | None:
    found = [limit for limit in limits if limit is not None]
    return min(found, key=lambda limit: limit.value) if found else None


@dataclass(frozen=True)
class CgroupLimits:
    """The tightest CPU quota (in CPUs) and memory limit (in bytes) over this process's cgroups; None: unlimited."""

    cpu: Limit | None
    memory: Limit | None

    @classmethod
    def read(
        cls, proc_cgroup: Path = Path("/proc/self/cgroup"), mountinfo: Path = Path("/proc/self/mountinfo")
    ) -> "CgroupLimits":
        """Read both limits; a machine without cgroups (or without /proc) has none."""
        found = hierarchies(_read(proc_cgroup) or "", _read(mountinfo) or "")
        return cls(cpu=_scan(found, "cpu", _cpu_at), memory=_scan(found, "memory", _memory_at))


def _scan(found: list[Hierarchy], controller: str, reader: LimitReader) -> Limit | None:
    """The tightest limit over every directory, leaf to top, of the hierarchies that carry `controller`."""
    limits = [
        reader(directory, h.version)
        for h in found
        if h.version == 2 or controller in h.controllers
        for directory in h.dirs_up()
    ]
    return _tightest(limits)


def machine_memory(meminfo: Path = Path("/proc/meminfo")) -> Limit | None:
    """The machine's memory (MemTotal), None where /proc/meminfo cannot be read."""
    for line in (_read(meminfo) or "").splitlines():
        name, _, rest = line.partition(":")
        if name == "MemTotal" and rest.split():
            return Limit(float(int(rest.split()[0]) * 1024), f"{meminfo} MemTotal")
    return None


def memory_seen(limits: CgroupLimits, machine: Limit | None) -> Limit | None:
    """The memory this process may use: its cgroup's limit, or the machine's when that is smaller or none is set."""
    return _tightest([limits.memory, machine])
