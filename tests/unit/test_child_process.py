"""`ChildProcess` on a tiny real target: answers, crashes, cancellation, timeouts and closing."""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from app.errors import EngineUnavailable
from app.limits import CpuBudget, available_cores
from app.services.cancellation import Cancelled, CancelScope
from app.services.child_process import CallFailed, ChildProcess
from tests.support.child_target import CRASH_EXIT_CODE, LOAD_EXIT_CODE

TARGET = "tests.support.child_target"
ROOT = Path(__file__).resolve().parents[2]
NAME = "test child"
CEILING_S = 60.0

MakeChild = Callable[..., ChildProcess]


def heavy_budget() -> CpuBudget:
    """A nice above this process's own, pinned to the last core when there are several."""
    cores = available_cores()
    nice = min(19, max(10, os.getpriority(os.PRIO_PROCESS, 0) + 1))
    return CpuBudget(cores=len(cores), threads=1, nice=nice, pinned_cores=tuple(cores[-1:]) if len(cores) > 1 else ())


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` until it holds; fail after a ceiling a loaded machine will not reach."""
    deadline = time.monotonic() + CEILING_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def make_child() -> Iterator[MakeChild]:
    """Start children on the test target; every one is closed after the test."""
    children: list[ChildProcess] = []

    def make(payload: dict | None = None, workers: int = 2, start: bool = True) -> ChildProcess:
        child = ChildProcess(TARGET, payload or {}, heavy_budget(), workers, NAME)
        children.append(child)
        if start:
            child.start()
        return child

    yield make
    for child in children:
        child.close()


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


def test_a_call_is_answered_by_a_child_at_the_heavy_nice(make_child: MakeChild) -> None:
    child = make_child()
    assert child.pid == child.catalog.pid and child.pid != os.getpid()
    assert child.call("echo", 1, "two", [3]) == (1, "two", [3])
    nice, cores = child.call("placement")
    assert nice == child.budget.nice
    if child.budget.pinned_cores:
        assert cores == list(child.budget.pinned_cores)
    assert child.describe() == {"pid": child.pid, "restarts": 0, "calls_in_flight": 0}


def test_the_child_runs_as_many_calls_at_once_as_it_has_workers(
    make_child: MakeChild, pool: ThreadPoolExecutor
) -> None:
    child = make_child(workers=2)
    meetings = [pool.submit(child.call, "meet") for _ in range(2)]
    assert [meeting.result(CEILING_S) for meeting in meetings] == [True, True]


def test_a_failing_operation_raises_its_error_and_the_child_keeps_serving(make_child: MakeChild) -> None:
    child = make_child()
    pid = child.pid
    with pytest.raises(CallFailed, match=r"^The test child failed: ValueError: no such voice$"):
        child.call("fail", "no such voice")
    assert child.call("pid") == pid and child.restarts == 0


def test_a_crashed_child_fails_its_call_clearly_and_the_next_call_restarts_it(
    make_child: MakeChild, pool: ThreadPoolExecutor
) -> None:
    child = make_child()
    first = child.pid
    sleeping = pool.submit(child.call, "sleep", 3600)
    wait_until(lambda: child.describe()["calls_in_flight"] == 1, "the sleeping call")
    stopped = (
        rf"^The test child process stopped unexpectedly \(exit code {CRASH_EXIT_CODE}\); "
        r"it is started again for the next request\.$"
    )
    with pytest.raises(EngineUnavailable, match=stopped):
        child.call("crash")
    with pytest.raises(EngineUnavailable, match=stopped):
        sleeping.result(CEILING_S)
    assert child.call("pid") not in (first, None)
    assert child.describe() == {"pid": child.pid, "restarts": 1, "calls_in_flight": 0}


def call_in_scope(child: ChildProcess, scope: CancelScope, *call: object) -> object:
    with scope.active():
        return child.call(*call)


def test_cancelling_the_scope_kills_a_hung_call_and_the_child_comes_back(
    make_child: MakeChild, pool: ThreadPoolExecutor
) -> None:
    child = make_child()
    first = child.pid
    scope = CancelScope()
    hung: Future = pool.submit(call_in_scope, child, scope, "sleep", 3600)
    bystander = pool.submit(child.call, "sleep", 3600)
    wait_until(lambda: child.describe()["calls_in_flight"] == 2, "both calls")
    scope.cancel("The job ran past its time limit of 1 s.")
    with pytest.raises(Cancelled, match=r"^The job ran past its time limit of 1 s\.$"):
        hung.result(CEILING_S)
    with pytest.raises(EngineUnavailable, match=r"stopped unexpectedly \(exit code -9\)"):
        bystander.result(CEILING_S)
    wait_until(lambda: not psutil.pid_exists(first), "the killed child to be gone")
    assert child.call("pid") not in (first, None)
    assert child.restarts == 1


def test_a_call_in_a_scope_already_cancelled_never_reaches_the_child(make_child: MakeChild) -> None:
    child = make_child()
    pid = child.pid
    scope = CancelScope()
    scope.cancel("The server is shutting down.")
    with pytest.raises(Cancelled, match="shutting down"):
        call_in_scope(child, scope, "crash")
    assert child.call("pid") == pid and child.restarts == 0


def test_a_call_past_its_timeout_kills_the_child_and_the_next_call_gets_a_fresh_one(make_child: MakeChild) -> None:
    child = make_child()
    first = child.pid
    with pytest.raises(Cancelled, match=r"^The test child took longer than 0\.2 s to answer 'sleep'"):
        child.call("sleep", 3600, timeout_s=0.2)
    assert child.call("sleep", 0, timeout_s=CEILING_S) == 0
    assert child.pid != first and child.restarts == 1


def test_a_child_that_dies_while_loading_makes_start_raise(make_child: MakeChild) -> None:
    child = make_child({"die_while_loading": True}, start=False)
    with pytest.raises(
        EngineUnavailable, match=rf"^The test child process exited while loading \(exit code {LOAD_EXIT_CODE}\)"
    ):
        child.start()
    assert child.pid is None


def test_a_catalog_with_a_reason_leaves_no_child_and_calls_say_why(make_child: MakeChild) -> None:
    child = make_child({"reason": "no model found"})
    assert child.catalog.reason == "no model found" and child.pid is None
    with pytest.raises(EngineUnavailable, match=r"^The test child is unavailable: no model found$"):
        child.call("pid")
    assert child.restarts == 0


def test_close_leaves_no_child_process(make_child: MakeChild, pool: ThreadPoolExecutor) -> None:
    child = make_child()
    pid = child.pid
    answered = pool.submit(child.call, "sleep", 0.2)
    wait_until(lambda: child.describe()["calls_in_flight"] == 1, "the call")
    child.close()
    assert answered.result(CEILING_S) == 0.2  # a graceful close lets the calls in flight finish
    assert not psutil.pid_exists(pid)
    assert pid not in [process.pid for process in psutil.Process().children()]
    assert not [thread for thread in threading.enumerate() if thread.name == f"{NAME}-reader"]
    with pytest.raises(EngineUnavailable, match="was closed"):
        child.call("pid")


PARENT_SCRIPT = """
import sys, threading
from app.limits import CpuBudget
from app.services.child_process import ChildProcess
child = ChildProcess("tests.support.child_target", {}, CpuBudget(1, 1, 0, ()), 2, "test child")
child.start()
threading.Thread(target=child.call, args=("sleep", 3600), daemon=True).start()
print(child.pid, flush=True)
threading.Event().wait()
"""


def test_a_child_busy_with_a_call_ends_when_its_parent_is_killed_with_sigkill() -> None:
    with subprocess.Popen([sys.executable, "-c", PARENT_SCRIPT], cwd=ROOT, stdout=subprocess.PIPE, text=True) as parent:
        try:
            assert parent.stdout is not None
            child = psutil.Process(int(parent.stdout.readline()))
            wait_until(lambda: child.num_threads() >= 3, "the child to take the call")  # main, parent watch, call
            parent.kill()
            parent.wait(CEILING_S)
            wait_until(lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, "the child to end")
        finally:
            parent.kill()


def test_an_idle_child_unloads_and_the_next_call_loads_it_again_without_counting_a_restart(
    make_child: MakeChild, pool: ThreadPoolExecutor
) -> None:
    child = make_child(workers=2)
    first = child.pid
    waiting = pool.submit(child.call, "meet")  # blocks in the child until a second call meets it
    wait_until(lambda: child.describe()["calls_in_flight"] == 1, "the waiting call")
    assert child.unload() is False  # a call in flight keeps the child
    assert child.call("meet") is True and waiting.result(CEILING_S) is True

    assert child.unload() is True
    assert child.pid is None and not psutil.pid_exists(first)
    assert child.call("pid") not in (first, None)
    assert child.describe()["restarts"] == 0
