"""The CPU budget: cores from affinity and the cgroup quota, threads, nice and pinned cores."""

import os

import pytest

import app.limits
from app.limits import CpuBudget, available_cores


def on_machine(monkeypatch: pytest.MonkeyPatch, cores: list[int]) -> None:
    """Make `available_cores()` answer `cores`, as on a machine (or container) with those CPU ids."""
    monkeypatch.setattr(app.limits, "available_cores", lambda: list(cores))


@pytest.mark.parametrize(
    ("cores", "max_cpu_threads", "cpu_usage_limit", "threads", "pinned"),
    [
        (8, 0, 0.5, 4, (4, 5, 6, 7)),
        (8, 2, 0.5, 2, (4, 5, 6, 7)),
        (8, 16, 0.5, 4, (4, 5, 6, 7)),
        (8, 0, 1.0, 8, (0, 1, 2, 3, 4, 5, 6, 7)),
        (3, 0, 0.5, 1, (1, 2)),
        (4, 0, 0.1, 1, (3,)),
        (16, 3, 0.75, 3, tuple(range(4, 16))),
    ],
    ids=[
        "half-of-8",
        "max-threads-below-the-share",
        "max-threads-above-the-share",
        "all-cores",
        "odd-core-count",
        "tiny-share",
        "max-threads-with-three-quarters",
    ],
)
def test_threads_are_the_floored_share_capped_by_max_threads_and_the_ceiled_share_of_last_cores_is_pinned(
    monkeypatch: pytest.MonkeyPatch,
    cores: int,
    max_cpu_threads: int,
    cpu_usage_limit: float,
    threads: int,
    pinned: tuple[int, ...],
) -> None:
    on_machine(monkeypatch, list(range(cores)))

    budget = CpuBudget.from_limits(max_cpu_threads, cpu_usage_limit, nice=10)

    assert budget == CpuBudget(cores=cores, threads=threads, nice=10, pinned_cores=pinned)


def test_a_single_core_machine_gets_one_thread_and_no_pinning(monkeypatch: pytest.MonkeyPatch) -> None:
    on_machine(monkeypatch, [0])

    budget = CpuBudget.from_limits(0, 0.5, nice=5)

    assert budget == CpuBudget(cores=1, threads=1, nice=5, pinned_cores=())


def test_pinned_cores_are_the_last_of_the_allowed_ids_not_of_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    on_machine(monkeypatch, [0, 2, 5, 7])

    budget = CpuBudget.from_limits(0, 0.5, nice=10)

    assert budget.cores == 4
    assert budget.threads == 2
    assert budget.pinned_cores == (5, 7)


@pytest.mark.parametrize(("running", "share"), [(0, 8), (1, 8), (2, 4), (3, 2), (8, 1), (16, 1)])
def test_each_running_job_gets_its_floored_share_of_the_threads_never_below_one(running: int, share: int) -> None:
    budget = CpuBudget(cores=16, threads=8, nice=10, pinned_cores=())

    assert budget.threads_per_job(running) == share


def test_available_cores_are_the_affinity_when_the_cgroup_sets_no_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {6, 1, 3, 0})
    monkeypatch.setattr(app.limits, "_cgroup_cpu_limit", lambda: None)

    assert available_cores() == [0, 1, 3, 6]


@pytest.mark.parametrize(("quota", "cores"), [(2.5, [0, 1]), (4.0, [0, 1, 2, 3]), (0.5, [0]), (64.0, list(range(8)))])
def test_available_cores_are_cut_to_the_floored_cgroup_quota_but_never_below_one(
    monkeypatch: pytest.MonkeyPatch, quota: float, cores: list[int]
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    monkeypatch.setattr(app.limits, "_cgroup_cpu_limit", lambda: quota)

    assert available_cores() == cores


def test_without_affinity_support_every_counted_cpu_is_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    monkeypatch.setattr(app.limits, "_cgroup_cpu_limit", lambda: None)

    assert available_cores() == [0, 1, 2]


def test_a_quota_on_the_real_affinity_sizes_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))
    monkeypatch.setattr(app.limits, "_cgroup_cpu_limit", lambda: 4.0)

    budget = CpuBudget.from_limits(0, 0.5, nice=10)

    assert budget == CpuBudget(cores=4, threads=2, nice=10, pinned_cores=(2, 3))
