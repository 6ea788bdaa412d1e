"""The cgroup reader on fake cgroup trees (v1, v2, hybrid, nested, unlimited) laid out under tmp_path: the
process's own cgroup from a fake /proc/self/cgroup, the mounts from a fake mountinfo, the tightest limit wins."""

from pathlib import Path

import pytest

from app.cgroups import CgroupLimits, Limit, hierarchies, machine_memory, memory_seen
from app.resources import Resources

GIB = 1024**3
V1_UNLIMITED = "9223372036854771712"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")


def v1_machine(tmp_path: Path, path: str = "/docker/abc", mount_root: str = "/") -> tuple[Path, Path]:
    """A fake /proc/self/cgroup and mountinfo: cpu,cpuacct and memory hierarchies (v1) plus an empty v2 one."""
    cg = tmp_path / "sys-fs-cgroup"
    proc_cgroup = tmp_path / "cgroup"
    proc_cgroup.write_text(f"9:memory:{path}\n4:cpu,cpuacct:{path}\n1:name=systemd:{path}\n0::/\n")
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        f"31 23 0:28 / {cg} rw,relatime - tmpfs tmpfs rw,mode=755\n"
        f"32 31 0:29 {mount_root} {cg}/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
        f"35 31 0:32 {mount_root} {cg}/memory rw,relatime - cgroup cgroup rw,memory\n"
        f"40 31 0:37 {mount_root} {cg}/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
        f"41 31 0:38 / {cg}/unified rw,relatime - cgroup2 cgroup2 rw\n"
    )
    return proc_cgroup, mountinfo


def v2_machine(tmp_path: Path, path: str = "/system.slice/media.service") -> tuple[Path, Path]:
    """A fake /proc/self/cgroup and mountinfo of a unified (v2 only) machine."""
    proc_cgroup = tmp_path / "cgroup"
    proc_cgroup.write_text(f"0::{path}\n")
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(f"30 23 0:26 / {tmp_path / 'unified'} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n")
    return proc_cgroup, mountinfo


def test_a_docker_cpus_and_memory_limit_on_cgroup_v1_is_read_in_the_process_own_group(tmp_path: Path) -> None:
    proc_cgroup, mountinfo = v1_machine(tmp_path)
    cg = tmp_path / "sys-fs-cgroup"
    write(
        cg,
        {
            "cpu,cpuacct/cpu.cfs_quota_us": "-1",
            "cpu,cpuacct/cpu.cfs_period_us": "100000",
            "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "150000",
            "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000",
            "memory/memory.limit_in_bytes": V1_UNLIMITED,
            "memory/docker/abc/memory.limit_in_bytes": str(GIB),
        },
    )

    limits = CgroupLimits.read(proc_cgroup, mountinfo)

    assert limits.cpu == Limit(1.5, str(cg / "cpu,cpuacct/docker/abc/cpu.cfs_quota_us"))
    assert limits.memory == Limit(float(GIB), str(cg / "memory/docker/abc/memory.limit_in_bytes"))


def test_on_cgroup_v1_a_parent_tighter_than_the_process_group_wins(tmp_path: Path) -> None:
    proc_cgroup, mountinfo = v1_machine(tmp_path, "/kubepods/pod1/box")
    cg = tmp_path / "sys-fs-cgroup"
    write(
        cg,
        {
            "cpu,cpuacct/kubepods/pod1/cpu.cfs_quota_us": "50000",
            "cpu,cpuacct/kubepods/pod1/cpu.cfs_period_us": "100000",
            "cpu,cpuacct/kubepods/pod1/box/cpu.cfs_quota_us": "200000",
            "cpu,cpuacct/kubepods/pod1/box/cpu.cfs_period_us": "100000",
            "memory/kubepods/memory.limit_in_bytes": str(2 * GIB),
            "memory/kubepods/pod1/memory.limit_in_bytes": str(GIB),
            "memory/kubepods/pod1/box/memory.limit_in_bytes": V1_UNLIMITED,
        },
    )

    limits = CgroupLimits.read(proc_cgroup, mountinfo)

    assert limits.cpu == Limit(0.5, str(cg / "cpu,cpuacct/kubepods/pod1/cpu.cfs_quota_us"))
    assert limits.memory == Limit(float(GIB), str(cg / "memory/kubepods/pod1/memory.limit_in_bytes"))


def test_a_container_with_its_own_cgroup_namespace_reads_the_top_of_the_mount(tmp_path: Path) -> None:
    proc_cgroup, mountinfo = v1_machine(tmp_path, "/docker/abc", mount_root="/docker/abc")
    cg = tmp_path / "sys-fs-cgroup"
    write(cg, {"memory/memory.limit_in_bytes": str(GIB)})

    assert CgroupLimits.read(proc_cgroup, mountinfo).memory == Limit(
        float(GIB), str(cg / "memory/memory.limit_in_bytes")
    )


def test_systemd_cpuquota_and_memorymax_on_cgroup_v2_are_read_up_the_tree(tmp_path: Path) -> None:
    proc_cgroup, mountinfo = v2_machine(tmp_path)
    unified = tmp_path / "unified"
    write(
        unified,
        {
            "cgroup.controllers": "cpu memory",
            "system.slice/cpu.max": "max 100000",
            "system.slice/memory.max": str(3 * GIB),
            "system.slice/media.service/cpu.max": "50000 100000",
            "system.slice/media.service/memory.max": str(GIB),
        },
    )

    limits = CgroupLimits.read(proc_cgroup, mountinfo)

    assert limits.cpu == Limit(0.5, str(unified / "system.slice/media.service/cpu.max"))
    assert limits.memory == Limit(float(GIB), str(unified / "system.slice/media.service/memory.max"))


def test_on_cgroup_v2_a_slice_limit_binds_a_service_that_sets_none(tmp_path: Path) -> None:
    proc_cgroup, mountinfo = v2_machine(tmp_path)
    unified = tmp_path / "unified"
    write(
        unified,
        {
            "system.slice/cpu.max": "200000 100000",
            "system.slice/memory.max": str(2 * GIB),
            "system.slice/media.service/cpu.max": "max 100000",
            "system.slice/media.service/memory.max": "max",
        },
    )

    limits = CgroupLimits.read(proc_cgroup, mountinfo)

    assert limits.cpu == Limit(2.0, str(unified / "system.slice/cpu.max"))
    assert limits.memory == Limit(float(2 * GIB), str(unified / "system.slice/memory.max"))


@pytest.mark.parametrize("layout", ["v1", "v2"])
def test_unlimited_groups_give_no_limit_and_the_machine_memory_is_the_budget(tmp_path: Path, layout: str) -> None:
    if layout == "v1":
        proc_cgroup, mountinfo = v1_machine(tmp_path)
        files = {
            "sys-fs-cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "-1",
            "sys-fs-cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000",
            "sys-fs-cgroup/memory/docker/abc/memory.limit_in_bytes": V1_UNLIMITED,
        }
    else:
        proc_cgroup, mountinfo = v2_machine(tmp_path)
        files = {"unified/system.slice/media.service/cpu.max": "max 100000", "unified/system.slice/memory.max": "max"}
    write(tmp_path, {**files, "meminfo": "MemTotal:       24683664 kB\nMemFree:         1000 kB"})

    limits = CgroupLimits.read(proc_cgroup, mountinfo)
    machine = machine_memory(tmp_path / "meminfo")

    assert limits == CgroupLimits(cpu=None, memory=None)
    assert machine == Limit(24683664 * 1024.0, f"{tmp_path / 'meminfo'} MemTotal")
    assert memory_seen(limits, machine) == machine


def test_a_cgroup_limit_above_the_machine_memory_leaves_the_machine_memory_as_the_budget() -> None:
    machine = Limit(float(4 * GIB), "/proc/meminfo MemTotal")

    assert memory_seen(CgroupLimits(None, Limit(float(64 * GIB), "memory.max")), machine) == machine
    assert memory_seen(CgroupLimits(None, Limit(float(GIB), "memory.max")), machine) == Limit(float(GIB), "memory.max")


@pytest.mark.parametrize(
    ("cpu_max", "cpus"),
    [("max 100000", None), ("150000 100000", 1.5), ("200000 50000", 4.0), ("garbage", None), ("abc 100000", None)],
)
def test_a_cpu_max_is_quota_over_period_and_none_when_unlimited_or_unreadable(
    tmp_path: Path, cpu_max: str, cpus: float | None
) -> None:
    proc_cgroup, mountinfo = v2_machine(tmp_path, "/")
    write(tmp_path, {"unified/cpu.max": cpu_max})

    limit = CgroupLimits.read(proc_cgroup, mountinfo).cpu

    assert (limit.value if limit else None) == cpus


def test_no_cgroup_files_at_all_means_no_limits(tmp_path: Path) -> None:
    assert CgroupLimits.read(tmp_path / "missing", tmp_path / "missing") == CgroupLimits(None, None)
    assert hierarchies("", "") == []


def test_a_mount_point_with_a_space_is_unescaped(tmp_path: Path) -> None:
    mount = tmp_path / "cgroup root"
    found = hierarchies("0::/a\n", f"30 23 0:26 / {str(mount).replace(' ', chr(92) + '040')} rw - cgroup2 cgroup2 rw\n")

    assert [h.own_dir() for h in found] == [mount / "a"]


def test_the_resources_seen_cut_the_affinity_to_the_floored_quota_and_name_their_sources(tmp_path: Path) -> None:
    seen = Resources(
        affinity=8,
        cpu_quota=Limit(2.5, "/q/cpu.max"),
        memory=Limit(float(GIB), "/m/memory.max"),
        memory_from_cgroup=True,
    )

    assert seen.cores == 2
    assert seen.memory_bytes == GIB
    assert seen.describe() == {
        "cpu": {
            "cores": 2,
            "affinity_cores": 8,
            "cgroup_quota_cpus": 2.5,
            "source": "cgroup CPU quota 2.5 CPUs (/q/cpu.max) on 8 CPUs",
        },
        "memory": {"limit_mb": 1024.0, "from_cgroup": True, "source": "cgroup memory limit (/m/memory.max)"},
    }
    assert Resources(affinity=4, cpu_quota=Limit(0.5, "/q"), memory=None, memory_from_cgroup=False).cores == 1
