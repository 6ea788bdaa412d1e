"""The child process's entry point: `python -m app.services.child_main MODULE FD`, FD one end of a socket pair.

Ends at once when its parent ends, however it ends. Receives (payload, budget, workers), enters the heavy
nice and cores, runs `MODULE.load(payload)`, sends the catalog, then answers each call in a pool of
`workers` threads until the pipe closes or says None.
"""

import contextlib
import importlib
import logging
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from app.errors import first_line
from app.parent_watch import exit_now, when_parent_ends

log = logging.getLogger("app.child")

Operations = dict[str, Callable[..., Any]]


def describe_failure(exc: BaseException) -> str:
    """`Type: first line of the message`, or just the type."""
    text = first_line(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Answerer:
    """Runs one call and sends its answer; one lock keeps answers from different threads whole."""

    def __init__(self, conn: Connection, operations: Operations) -> None:
        self.conn = conn
        self.operations = operations
        self._send_lock = threading.Lock()

    def __call__(self, call_id: int, operation: str, args: tuple[Any, ...]) -> None:
        try:
            reply = (call_id, True, self.operations[operation](*args))
        except Exception as exc:
            log.exception("call %s failed", operation)
            reply = (call_id, False, describe_failure(exc))
        with self._send_lock, contextlib.suppress(OSError):  # OSError: the parent is gone
            try:
                self.conn.send(reply)
            except Exception as exc:  # the answer could not be pickled: say so rather than leave the call waiting
                self.conn.send((call_id, False, describe_failure(exc)))


def serve(conn: Connection, operations: Operations, workers: int) -> None:
    """Answer calls, each in a pool thread, until the pipe closes or the parent sends None."""
    answer = Answerer(conn, operations)
    # one thread per heavy slot: admission never lets more calls run at once, and few threads keep few malloc arenas
    with ThreadPoolExecutor(workers, thread_name_prefix="child") as pool:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            if message is None:
                break
            pool.submit(answer, *message)


def main(target: str, fd: int) -> None:
    """Load the target once, send its catalog, then serve its operations (unless the catalog has a reason)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal: the parent decides when this ends
    when_parent_ends(exit_now)  # a parent killed (kill -9, a --reload restart) leaves no child behind
    conn = Connection(fd)
    payload, budget, workers = conn.recv()
    budget.enter_heavy_thread()  # threads started from here on inherit the nice and the cores
    catalog, operations = importlib.import_module(target).load(payload)
    conn.send(catalog)
    if getattr(catalog, "reason", None) is not None:
        return
    serve(conn, operations, workers)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
