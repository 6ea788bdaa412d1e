"""System status, Prometheus metrics, the terminal monitor and a small run of the load test."""

import asyncio
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from load_test import LoadConfig, run_load_test

from app.resources import Resources
from app.services.system_stats import process_cpu_seconds, tree_cpu_seconds
from tests.conftest import ROOT, RunningServer
from tests.support.make_test_model import VOICES
from tests.support.waits import WAIT_S

TTS = "/api/v1/media/audio-tools/tts/kokoro"
STATUS = "/api/v1/system/status"
BUSY_HALF_A_SECOND_THEN_WAIT = (
    "import sys, time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass\n"
    "print('burnt', flush=True)\nsys.stdin.read()"
)
ENGLISH = "The quick brown fox jumps over the lazy dog. Then it runs home."
EVERY_CORE = {"MAX_CPU_THREADS": 2, "CPU_USAGE_LIMIT": 1.0}
LOAD_TEST_BUDGET_S = 240
"""The load test's whole run (server start, four jobs one at a time): 112 s of burst at load 7 on 2 cores."""
UNTIL_ADMITTED = 1000
"""Tries per client: each comes back after Retry-After until admitted, however far the estimates are off."""


def metric(text: str, name: str) -> float | None:
    """The value of one sample line (`name` includes its labels) of a Prometheus exposition."""
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else None


def scrape_until(server: RunningServer, name: str, value: float, timeout: float = WAIT_S) -> str:
    """End hooks run just after a job's status turns final, so wait for the counter to catch up."""
    deadline = time.monotonic() + timeout
    while True:
        text = server.client.get("/metrics").text
        if metric(text, name) == value or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def test_status_reports_cpu_memory_budget_caps_and_model(server_factory, test_model_dir: Path) -> None:
    server = server_factory(
        max_concurrent_tts=2, max_concurrent_video=1, max_concurrent_heavy_tasks=3, max_queued_jobs=5
    )
    status = server.client.get(STATUS).json()
    assert status["cores"]["logical"] >= 1 and status["cores"]["available"] >= 1
    budget = status["budget"]
    assert budget["threads"] >= 1 and budget["cores"] == status["cores"]["available"]
    assert budget["nice"] == server.settings.heavy_nice
    assert set(budget["pinned_cores"]) <= set(range(status["cores"]["logical"]))
    for key in ("process_percent", "process_percent_of_machine", "machine_percent"):
        assert status["cpu"][key] >= 0
    assert status["memory"]["process_rss_mb"] > 10
    assert 0 < status["memory"]["machine_available_mb"] <= status["memory"]["machine_total_mb"]
    assert len(status["load_average"]) == 3
    admission = status["admission"]
    assert admission["kinds"]["tts"]["cap"] == 2 and admission["kinds"]["video"]["cap"] == 1
    assert admission["heavy"]["cap"] == 3 and admission["max_queued"] == 5
    for figures in admission["kinds"].values():
        assert figures["running"] == figures["queued"] == figures["peak_running"] == 0
    model = status["model"]
    assert Path(model.pop("weights")).resolve() == (test_model_dir / "kokoro-v1_0.pth").resolve()
    assert model == {
        "available": True,
        "engine": "torch",
        "voices": sorted(VOICES),
        "default_voice": "af_heart",
        "reason": None,
    }

    response = server.client.post(TTS, data={"text": ENGLISH})
    assert server.wait_for(response.json()["file_id"])["status"] == "ready"
    deadline = time.monotonic() + WAIT_S
    while not (recent := server.client.get(STATUS).json()["recent_jobs"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert recent[0]["kind"] == "tts" and recent[0]["outcome"] == "ready" and recent[0]["duration_s"] > 0
    assert server.client.get(STATUS).json()["admission"]["kinds"]["tts"]["peak_running"] == 1


def test_metrics_count_finished_jobs_durations_and_429s(server_factory) -> None:
    server = server_factory(max_concurrent_tts=1, max_queued_jobs=0)
    before = server.client.get("/metrics")
    assert before.headers["content-type"].startswith("text/plain")
    assert metric(before.text, 'media_jobs_total{kind="tts",outcome="ready"}') == 0
    assert metric(before.text, "media_rejected_requests_total") == 0

    with server.frozen_engine():  # the first job holds its slot until the second is refused and metrics read
        first = server.client.post(TTS, data={"text": ENGLISH * 3})
        second = server.client.post(TTS, data={"text": f"{ENGLISH * 3} Second."})
        during = server.client.get("/metrics").text
    assert (first.status_code, second.status_code) == (202, 429)
    assert metric(during, 'media_jobs_running{kind="tts"}') == 1
    assert metric(during, "media_queue_depth") == 0
    assert metric(during, "media_process_resident_memory_bytes") > 0
    assert metric(during, "media_process_cpu_percent") >= 0

    assert server.wait_for(first.json()["file_id"])["status"] == "ready"
    text = scrape_until(server, 'media_jobs_total{kind="tts",outcome="ready"}', 1)
    assert metric(text, 'media_jobs_total{kind="tts",outcome="ready"}') == 1
    assert metric(text, 'media_jobs_total{kind="tts",outcome="failed"}') == 0
    assert metric(text, 'media_job_duration_seconds_count{kind="tts"}') == 1
    assert metric(text, 'media_job_duration_seconds_sum{kind="tts"}') > 0
    assert metric(text, "media_rejected_requests_total") == 1
    assert metric(text, 'media_jobs_running{kind="tts"}') == 0
    assert metric(text, 'media_jobs_peak_running{kind="tts"}') == 1


def test_monitor_once_prints_one_frame_and_says_when_the_server_is_down(server_factory) -> None:
    server = server_factory()
    result = subprocess.run(
        [sys.executable, "-m", "app.monitor", "--once", server.base_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("CPU" in line and "%" in line for line in lines), result.stdout
    assert any(re.search(r"│ tts\s+│\s+\d+ │\s+\d+ │\s+2 │", line) for line in lines), result.stdout
    assert "torch" in result.stdout and "af_heart" in result.stdout

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = subprocess.run(
        [sys.executable, "-m", "app.monitor", "--once", f"http://127.0.0.1:{port}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert down.returncode == 1 and "not answering" in down.stdout


@pytest.mark.timeout(LOAD_TEST_BUDGET_S + 60)
def test_small_load_test_keeps_caps_loses_nothing_and_health_always_answers(test_model_dir: Path) -> None:
    config = LoadConfig(
        tts=4,
        videos=0,
        clients=3,
        preset="small",
        limits={"MAX_CONCURRENT_TTS": 1, "MAX_CONCURRENT_HEAVY_TASKS": 1, "MAX_QUEUED_JOBS": 1, **EVERY_CORE},
        deadline_s=LOAD_TEST_BUDGET_S,
        max_tries=UNTIL_ADMITTED,
        model_dir=test_model_dir,
        extra_env={"WARMUP": "false", "HEAVY_NICE": "0", "MAX_QUEUE_WAIT_S": "1e9"},  # the room's time bound off
    )
    result = asyncio.run(run_load_test(config))
    assert result["server_errors_5xx"] == 0, result
    assert result["jobs_lost"] == 0, result
    assert result["admitted"] == 4 and result["jobs_ready"] + result["jobs_failed"] == 4, result
    assert result["rejected_429"] >= 1 and result["requests"] == result["admitted"] + result["rejected_429"]
    assert result["caps"]["tts"] == 1 and result["peak_running"]["tts"] <= 1
    assert result["peak_heavy"] <= result["heavy_cap"] == 1
    assert result["peak_queued"] <= 1
    assert result["health_samples"] > 0 and result["health_answered"] == result["health_samples"]


def test_process_tree_cpu_is_read_finer_than_the_kernel_tick() -> None:
    busy = subprocess.Popen(
        [sys.executable, "-c", BUSY_HALF_A_SECOND_THEN_WAIT], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        process = psutil.Process(busy.pid)
        assert busy.stdout is not None and busy.stdout.readline() == b"burnt\n"  # however long a busy machine takes
        coarse = process.cpu_times()
        fine = process_cpu_seconds(process)
        assert abs(fine - (coarse.user + coarse.system)) < 0.05
        assert fine != round(fine, 2)  # nanoseconds, not 10 ms ticks
        assert tree_cpu_seconds(psutil.Process()) >= fine
    finally:
        busy.communicate(b"")


def test_health_and_status_show_cpu_and_memory_as_seen_and_from_where(torch_server: RunningServer) -> None:
    seen = Resources.seen().describe()  # this test runs in the server's own process and cgroup

    for path in ("/health", STATUS):
        resources = torch_server.client.get(path).json()["resources"]
        assert resources["cpu"] == seen["cpu"]
        assert resources["memory"]["source"] == seen["memory"]["source"]
        assert resources["memory"]["limit_mb"] > 0
    models = torch_server.client.get("/health").json()["models_resident_mb"]
    assert models["tts_engine"] > 50 and "whisper" in models  # null until a transcription loads Whisper
