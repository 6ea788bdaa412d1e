"""Chunks synthesized side by side within a job's thread share, their results handed back in order.

One ONNX Runtime session with 2 threads is only 1.2-1.5x faster than one with 1 thread on a Kokoro chunk, so with
a share of T threads, chunks on 1-thread sessions, T at once, give more audio per CPU-second. The threads in use
never exceed the share, read from `threads()` before each chunk starts (it falls when other jobs start).
"""

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, TypeVar

from app.services.cancellation import CancelScope, current_scope

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Work(Generic[T]):
    """One item to work on; `alone`: it may take every thread of the share left free (the last chunk, with
    nothing to run beside it, or a streamed answer's first, which is wanted at once)."""

    item: T
    alone: bool = False


def _in_scope(scope: CancelScope | None, work: Callable[[T, int], R], item: T, threads: int) -> R:
    """`work(item, threads)` with the caller's cancel scope current, so that a timeout kills what it runs."""
    if scope is None:
        return work(item, threads)
    with scope.active():
        return work(item, threads)


class _Running(Generic[T, R]):
    """The futures in flight, in the items' order, with the threads each was given."""

    def __init__(self) -> None:
        self.queue: deque[tuple[T, Future[R], int]] = deque()

    def threads_in_use(self) -> int:
        return sum(threads for _, future, threads in self.queue if not future.done())

    def wait_for_room(self, threads: Callable[[], int]) -> int:
        """Block until fewer threads are in use than the share; the threads free then."""
        while True:
            free = max(1, threads()) - self.threads_in_use()
            if free > 0:
                return free
            wait([future for _, future, _ in self.queue if not future.done()], return_when=FIRST_COMPLETED)

    def finished_in_order(self) -> Iterator[tuple[T, R]]:
        while self.queue and self.queue[0][1].done():
            item, future, _ = self.queue.popleft()
            yield item, future.result()


def in_order(
    works: Iterable[Work[T]], work: Callable[[T, int], R], threads: Callable[[], int]
) -> Iterator[tuple[T, R]]:
    """`work(item, n)` for each item, on 1 thread while others may run beside it (`n` = the free threads for an
    item that runs `alone`), as many at once as the share allows, yielded in the items' order."""
    scope = current_scope()
    running: _Running[T, R] = _Running()
    pool = ThreadPoolExecutor(max(1, os.cpu_count() or 1), thread_name_prefix="tts-chunk")
    try:
        for next_work in works:
            free = running.wait_for_room(threads)
            n = free if next_work.alone else 1
            running.queue.append((next_work.item, pool.submit(_in_scope, scope, work, next_work.item, n), n))
            yield from running.finished_in_order()
        while running.queue:
            item, future, _ = running.queue.popleft()
            yield item, future.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
