"""Chunks side by side: never more threads than the share, results in order, the share read as it changes."""

import threading
import time

import pytest

from app.services.cancellation import CancelScope, current_scope
from app.services.tts.parallel import Work, in_order


class Recorder:
    """Work that records the threads in use at once; each item finishes when the test releases it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_use = 0
        self.most = 0
        self.given: dict[int, int] = {}

    def __call__(self, item: int, threads: int) -> int:
        with self.lock:
            self.in_use += threads
            self.most = max(self.most, self.in_use)
            self.given[item] = threads
        time.sleep(0.02 * (3 - item % 3))  # later items often finish first
        with self.lock:
            self.in_use -= threads
        return item * 10


def test_results_come_in_the_items_order_with_never_more_threads_than_the_share() -> None:
    work = Recorder()
    works = [Work(i, alone=i == 8) for i in range(9)]
    assert list(in_order(works, work, lambda: 3)) == [(i, i * 10) for i in range(9)]
    assert work.most <= 3
    assert all(work.given[i] == 1 for i in range(8))


def test_an_item_that_may_run_alone_takes_every_free_thread_and_the_next_waits_for_it() -> None:
    work = Recorder()
    works = [Work(0, alone=True), Work(1), Work(2), Work(3, alone=True)]
    assert [item for item, _ in in_order(works, work, lambda: 2)] == [0, 1, 2, 3]
    assert work.given[0] == 2 and work.given[1] == work.given[2] == 1
    assert work.most <= 2


def test_a_share_that_falls_while_chunks_run_is_kept_by_the_chunks_started_after() -> None:
    work = Recorder()
    share = {"now": 4}

    def threads() -> int:
        return share["now"]

    results = []
    for item, result in in_order([Work(i) for i in range(12)], work, threads):
        results.append(result)
        if item == 3:
            share["now"] = 1  # another job started
            deadline = time.monotonic() + 10
            while work.in_use > 1 and time.monotonic() < deadline:  # the chunks already started end
                time.sleep(0.01)
            work.most = work.in_use
    assert results == [i * 10 for i in range(12)]
    assert work.most <= 1


def test_a_failing_chunk_raises_in_order_after_the_ones_before_it() -> None:
    def work(item: int, threads: int) -> int:
        if item == 2:
            raise RuntimeError("chunk 2 failed")
        return item

    seen = []
    with pytest.raises(RuntimeError, match="chunk 2 failed"):
        for item, _ in in_order([Work(i) for i in range(5)], work, lambda: 2):
            seen.append(item)
    assert seen == [0, 1]


def test_chunks_run_in_the_callers_cancel_scope_so_that_a_timeout_kills_them() -> None:
    scopes: list[CancelScope | None] = []
    scope = CancelScope()

    def work(item: int, threads: int) -> None:
        scopes.append(current_scope())

    with scope.active():
        list(in_order([Work(i) for i in range(4)], work, lambda: 2))
    assert scopes == [scope] * 4
