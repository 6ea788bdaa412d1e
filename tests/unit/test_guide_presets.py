"""The fork's CPU guide's three preset blocks (small, medium, large VPS), copied as written into `.env` or passed
as `docker run -e` variables: accepted, and applied exactly as this server's own presets are."""

from pathlib import Path

import pytest

import app.limits
from app.config import Settings
from app.guide_log import guide_lines
from app.limits import CpuBudget

GUIDE_BLOCKS = {
    "small": "MAX_CPU_THREADS=2\nCPU_USAGE_LIMIT=0.5\nMAX_CONCURRENT_TTS=1\nMAX_CONCURRENT_VIDEO=1\n"
    "MAX_CONCURRENT_HEAVY_TASKS=2\n",
    "medium": "MAX_CPU_THREADS=4\nCPU_USAGE_LIMIT=0.7\nMAX_CONCURRENT_TTS=2\nMAX_CONCURRENT_VIDEO=1\n"
    "MAX_CONCURRENT_HEAVY_TASKS=3\n",
    "large": "MAX_CPU_THREADS=6\nCPU_USAGE_LIMIT=0.8\nMAX_CONCURRENT_TTS=3\nMAX_CONCURRENT_VIDEO=1\n"
    "MAX_CONCURRENT_HEAVY_TASKS=4\n",
}
"""Verbatim from the guide's "Configurações por Tipo de VPS"."""

VPS_CORES = {"small": 2, "medium": 4, "large": 8}
EXPECTED_LINES = {
    "small": "Optimized CPU configuration: 2 cores available, using 1 threads (limit: 2)",
    "medium": "Optimized CPU configuration: 4 cores available, using 2 threads (limit: 4)",
    "large": "Optimized CPU configuration: 8 cores available, using 6 threads (limit: 6)",
}


def variables(block: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in block.splitlines())


def explicit(block: str) -> Settings:
    """The same values given to Settings directly, the way this server's own presets are applied."""
    return Settings(**{name.lower(): value for name, value in variables(block).items()})


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No variable of the test run's own environment or `.env` leaks in."""
    for name in variables(GUIDE_BLOCKS["medium"]):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("vps", GUIDE_BLOCKS)
def test_each_guide_block_in_a_dotenv_file_sets_every_variable_it_names(tmp_path: Path, vps: str) -> None:
    (tmp_path / ".env").write_text(GUIDE_BLOCKS[vps])

    settings = Settings()

    assert settings == explicit(GUIDE_BLOCKS[vps])
    caps = variables(GUIDE_BLOCKS[vps])
    assert settings.max_cpu_threads == int(caps["MAX_CPU_THREADS"])
    assert settings.cpu_usage_limit == float(caps["CPU_USAGE_LIMIT"])
    assert settings.kind_caps()["tts"] == int(caps["MAX_CONCURRENT_TTS"])
    assert settings.kind_caps()["video"] == int(caps["MAX_CONCURRENT_VIDEO"])
    assert settings.max_concurrent_heavy_tasks == int(caps["MAX_CONCURRENT_HEAVY_TASKS"])


@pytest.mark.parametrize("vps", GUIDE_BLOCKS)
def test_each_guide_block_as_docker_run_variables_gives_the_same_settings(
    monkeypatch: pytest.MonkeyPatch, vps: str
) -> None:
    for name, value in variables(GUIDE_BLOCKS[vps]).items():
        monkeypatch.setenv(name, value)

    assert Settings() == explicit(GUIDE_BLOCKS[vps])


@pytest.mark.parametrize("vps", GUIDE_BLOCKS)
def test_each_guide_block_on_its_vps_size_gives_the_budget_and_log_line_the_guide_describes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, vps: str
) -> None:
    (tmp_path / ".env").write_text(GUIDE_BLOCKS[vps])
    settings = Settings()
    monkeypatch.setattr(app.limits, "available_cores", lambda: list(range(VPS_CORES[vps])))

    budget = CpuBudget.from_limits(settings.max_cpu_threads, settings.cpu_usage_limit, settings.heavy_nice)

    assert guide_lines(settings, budget)[1] == EXPECTED_LINES[vps]


def test_the_guide_local_run_exports_also_work_from_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "export MAX_CPU_THREADS=4\nexport CPU_USAGE_LIMIT=0.7\nexport MAX_CONCURRENT_TTS=2\n"
    )

    settings = Settings()

    assert (settings.max_cpu_threads, settings.cpu_usage_limit, settings.max_concurrent_tts) == (4, 0.7, 2)
