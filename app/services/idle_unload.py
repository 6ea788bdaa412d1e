"""Ends a child process after a while with no use, so a small machine can alternate models instead of holding
all of them; the next use loads it again (`ChildProcess.unload`)."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from app.services.child_process import ChildProcess


class IdleUnload:
    """Counts the uses of one child process; `idle_s` after the last one ends, unloads the child."""

    def __init__(self, process: ChildProcess, idle_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.process = process
        self.idle_s = idle_s
        self._clock = clock
        self._lock = threading.Lock()
        self._active = 0
        self._last_end = clock()
        self._timer: threading.Timer | None = None

    @contextmanager
    def in_use(self) -> Iterator[None]:
        """Hold the process loaded for the block (a whole transcription, however many calls it makes)."""
        with self._lock:
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                self._last_end = self._clock()
                if self._active == 0:
                    self._arm(self.idle_s)

    def _arm(self, delay_s: float) -> None:
        """(Re)start the timer; called with the lock held."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(delay_s, self._check)
        self._timer.daemon = True
        self._timer.start()

    def _check(self) -> None:
        """Unload when nothing used the process for `idle_s`; otherwise look again when that will be true."""
        with self._lock:
            if self._active:
                return
            left = self.idle_s - (self._clock() - self._last_end)
            if left > 0:
                self._arm(left)
                return
            self._timer = None
        self.process.unload()

    def close(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
