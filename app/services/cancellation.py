"""Cancelling heavy work from outside its thread: a job past its timeout kills its ffmpeg or engine call.

The runner opens a `CancelScope` around each piece of heavy work and makes it current in the worker
thread; code that starts something killable (an ffmpeg process, a call into a child process) registers
how to kill it with `kill_on_cancel`, so no cancellation argument runs through every function.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_current = threading.local()


class Cancelled(Exception):
    """Raised in heavy work whose scope was cancelled; `message` says why (a timeout, a shutdown)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CancelScope:
    """Cancelled once, from any thread; runs the kill callbacks registered while it was current."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], object]] = []  # what a callback returns is ignored
        self.reason: str | None = None

    @property
    def cancelled(self) -> bool:
        return self.reason is not None

    def cancel(self, reason: str) -> None:
        """Mark the scope cancelled and run every registered kill callback (once)."""
        with self._lock:
            if self.reason is not None:
                return
            self.reason = reason
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def check(self) -> None:
        """Raise `Cancelled` when the scope was cancelled: for loops between killable calls."""
        if self.reason is not None:
            raise Cancelled(self.reason)

    def on_cancel(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Run `callback` when cancelled (at once when already cancelled); returns a function that unregisters it."""
        with self._lock:
            if self.reason is None:
                self._callbacks.append(callback)
                return lambda: self._forget(callback)
        callback()
        return lambda: None

    def _forget(self, callback: Callable[[], object]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    @contextmanager
    def active(self) -> Iterator["CancelScope"]:
        """Make this scope the current one of the calling thread for the block."""
        previous = getattr(_current, "scope", None)
        _current.scope = self
        try:
            yield self
        finally:
            _current.scope = previous


def current_scope() -> CancelScope | None:
    """The scope of the heavy work running in this thread, None outside of one."""
    return getattr(_current, "scope", None)


@contextmanager
def kill_on_cancel(kill: Callable[[], object]) -> Iterator[None]:
    """While the block runs, cancelling the current scope (if any) calls `kill`; raises `Cancelled` on entry
    when the scope is already cancelled, so nothing new starts after a timeout, and on exit when it was
    cancelled meanwhile, so what the killed work returned is never taken for a result."""
    scope = current_scope()
    if scope is None:
        yield
        return
    scope.check()
    forget = scope.on_cancel(kill)
    try:
        yield
    finally:
        forget()
    scope.check()
