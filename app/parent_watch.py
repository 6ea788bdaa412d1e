"""Run something when a given process (this one's parent) ends, however it ends, `kill -9` included.

A daemon thread waits on a pidfd of the process (Linux 5.3+), or polls `os.getppid()` where there is none.
Used by the engine and Whisper processes (they end with the server) and by a server that `--reload` or
`--workers` started (it stops when its supervisor is gone). `prctl(PR_SET_PDEATHSIG)` is not used: it fires
when the *thread* that started the child ends, and children are started from pool threads.
"""

import contextlib
import os
import select
import threading
import time
from collections.abc import Callable

POLL_S = 1.0


def _wait_pidfd(pid: int) -> bool:
    """Block until `pid` ends; False when no pidfd can be opened for it (then poll instead)."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        return False
    try:
        select.select([fd], [], [])
    finally:
        os.close(fd)
    return True


def _wait_poll(pid: int) -> None:
    """Poll until `pid` is no longer this process's parent (it ended, and this one was adopted)."""
    while os.getppid() == pid:
        time.sleep(POLL_S)


def _watch(pid: int, then: Callable[[], None]) -> None:
    if os.getppid() == pid and not _wait_pidfd(pid):
        _wait_poll(pid)
    then()


def when_parent_ends(then: Callable[[], None], parent: int | None = None) -> threading.Thread:
    """Call `then` (from a daemon thread) once `parent` (default: the current parent) has ended."""
    pid = os.getppid() if parent is None else parent
    thread = threading.Thread(target=_watch, args=(pid, then), name="parent-watch", daemon=True)
    thread.start()
    return thread


def exit_now() -> None:
    """End this process at once (its own children then see it gone in turn)."""
    with contextlib.suppress(Exception):
        os.write(2, b"parent process ended; exiting\n")
    os._exit(1)
