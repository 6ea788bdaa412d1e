"""The heavy-work path: admit → slot → run in the heavy pool → release, with a time limit per kind."""

import asyncio
import subprocess
import sys
import threading

import pytest

from app.errors import Busy
from app.limits import Admission, CpuBudget
from app.services.cancellation import kill_on_cancel
from app.services.heavy import HeavyWork, TimedOut

HANG = [sys.executable, "-c", "import time; time.sleep(600)"]


def heavy_work(timeouts: dict[str, float], tts_cap: int = 1, queue: int = 1) -> HeavyWork:
    admission = Admission({"tts": tts_cap, "video": 1}, heavy_cap=2, max_queued=queue)
    return HeavyWork(admission, CpuBudget(cores=2, threads=2, nice=0, pinned_cores=()), 2, timeouts)


def run_process(started: list[subprocess.Popen[bytes]]) -> int:
    """A killable piece of work: a child process that would hang for ten minutes."""
    with subprocess.Popen(HANG) as process:
        started.append(process)
        with kill_on_cancel(process.kill):
            return process.wait()


async def test_work_within_its_limit_returns_its_result_and_frees_the_slot() -> None:
    heavy = heavy_work({"tts": 30})
    result = await heavy.run(heavy.admit("tts"), lambda a, b: a + b, 2, 3)
    assert result == 5
    assert heavy.admission.running() == 0
    assert len(heavy.admission.snapshot()["kinds"]["tts"]["recent_durations_s"]) == 1
    await heavy.shutdown()


async def test_work_that_hangs_past_its_limit_is_killed_and_its_slot_freed() -> None:
    heavy = heavy_work({"tts": 0.5})
    started: list[subprocess.Popen[bytes]] = []
    with pytest.raises(TimedOut, match=r"The tts job ran past its time limit of 0.5 s \(JOB_TIMEOUT_S\)"):
        await heavy.run(heavy.admit("tts"), run_process, started)
    assert started[0].returncode == -9
    assert heavy.admission.running() == 0
    assert await heavy.run(heavy.admit("tts"), lambda: "next") == "next"
    await heavy.shutdown()


async def test_a_queued_ticket_waits_for_the_slot_and_its_limit_starts_when_it_runs() -> None:
    heavy = heavy_work({"tts": 5})
    gate = asyncio.Event()
    first = asyncio.create_task(heavy.run(heavy.admit("tts"), lambda: "first"))
    second_ticket = heavy.admit("tts")
    assert not second_ticket.granted.is_set()
    with pytest.raises(Busy):
        heavy.admit("tts")
    second = asyncio.create_task(heavy.run(second_ticket, lambda: "second"))
    gate.set()
    assert await first == "first" and await second == "second"
    await heavy.shutdown()


async def test_shutdown_kills_running_work() -> None:
    heavy = heavy_work({"tts": 600})
    started: list[subprocess.Popen[bytes]] = []
    task = asyncio.create_task(heavy.run(heavy.admit("tts"), run_process, started))
    while not started:
        await asyncio.sleep(0.01)
    await heavy.shutdown()
    with pytest.raises(Exception, match=r"The server is stopping\."):
        await task
    assert started[0].returncode == -9


def test_an_unknown_kind_gets_the_longest_limit() -> None:
    heavy = heavy_work({"tts": 10, "video": 99})
    assert heavy.limit_for("stt") == 99
    heavy.executor.shutdown()


async def test_a_caller_that_goes_away_leaves_the_work_to_end_before_its_slot_is_freed() -> None:
    heavy = heavy_work({"tts": 30})
    release = threading.Event()
    started = threading.Event()

    def work() -> str:
        started.set()
        release.wait(30)
        return "done"

    task = asyncio.create_task(heavy.run(heavy.admit("tts"), work))
    await asyncio.to_thread(started.wait, 30)
    task.cancel()
    await asyncio.sleep(0.05)
    assert heavy.admission.running() == 1, "the thread still works: its slot stays taken"
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert heavy.admission.running() == 0
    await heavy.shutdown()
