"""The startup lines of the fork's CPU guide, in its exact form with this server's real figures."""

import pytest

import app.limits
from app.config import Settings
from app.guide_log import guide_lines
from app.limits import CpuBudget


def budget_on(monkeypatch: pytest.MonkeyPatch, cores: int, settings: Settings) -> CpuBudget:
    """The budget `settings` give on a machine with `cores` CPUs."""
    monkeypatch.setattr(app.limits, "available_cores", lambda: list(range(cores)))
    return CpuBudget.from_limits(settings.max_cpu_threads, settings.cpu_usage_limit, settings.heavy_nice)


def test_the_guide_medium_vps_block_on_four_cores_prints_the_guide_lines_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(max_cpu_threads=4, cpu_usage_limit=0.7, max_concurrent_tts=2, max_concurrent_video=1)

    lines = guide_lines(settings, budget_on(monkeypatch, 4, settings))

    assert lines == [
        "CPU Optimization: Max TTS: 2, Max Video: 1, Max Heavy Tasks: 3, Max Audio: 2, Max STT: 1",
        "Optimized CPU configuration: 4 cores available, using 2 threads (limit: 4)",
        "threads decided by CPU_USAGE_LIMIT=0.7 of 4 cores (2) (within MAX_CPU_THREADS=4)",
    ]


def test_without_max_cpu_threads_the_limit_shown_is_the_cores_share(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(cpu_usage_limit=0.5, max_concurrent_audio=3, max_concurrent_stt=2)

    lines = guide_lines(settings, budget_on(monkeypatch, 8, settings))

    assert lines[0] == "CPU Optimization: Max TTS: 2, Max Video: 1, Max Heavy Tasks: 3, Max Audio: 3, Max STT: 2"
    assert lines[1] == "Optimized CPU configuration: 8 cores available, using 4 threads (limit: 4)"
    assert lines[2] == "threads decided by CPU_USAGE_LIMIT=0.5 of 8 cores (4); MAX_CPU_THREADS not set"


def test_a_max_cpu_threads_below_the_share_is_named_as_the_deciding_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(max_cpu_threads=1, cpu_usage_limit=1.0)

    lines = guide_lines(settings, budget_on(monkeypatch, 4, settings))

    assert lines[1] == "Optimized CPU configuration: 4 cores available, using 1 threads (limit: 1)"
    assert lines[2] == "threads decided by MAX_CPU_THREADS=1 (below CPU_USAGE_LIMIT=1 of 4 cores (4))"
