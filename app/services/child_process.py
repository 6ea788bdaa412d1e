"""Work in a child process at the heavy work's nice and cores, called from any thread of the parent.

The child is a fresh interpreter (`python -m app.services.child_main MODULE FD`) on one end of a socket
pair. It imports the target module, runs its `load(payload)` once and sends back the catalog; each call
then runs one of the operations `load` returned, in the child's thread pool, while the calling thread
waits on the answer with the GIL released. A child that dies (killed for memory, a crash) fails the calls
in flight with a clear message and is started again on the next call; cancelling the current scope
(`app.services.cancellation`) kills the child serving the call.

A target module's contract: `load(payload) -> tuple[catalog, dict[str, Callable]]`, run in the child.
A catalog whose `reason` attribute is not None says the work is unavailable; the child then exits.
"""

import contextlib
import itertools
import logging
import os
import socket
import subprocess
import sys
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypedDict

from app.errors import DomainError, EngineUnavailable
from app.limits import CpuBudget
from app.services.cancellation import Cancelled, CancelScope, current_scope, kill_on_cancel

log = logging.getLogger("app.child")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CLOSE_WAIT_S = 10.0


class ChildStatus(TypedDict):
    """`ChildProcess.describe()`: the child's pid (None when not running), restarts and calls in flight."""

    pid: int | None
    restarts: int
    calls_in_flight: int


class CallFailed(DomainError):
    """The child's operation raised; the message names the original error."""

    status_code = 500


def unavailable_reason(catalog: Any) -> str | None:
    """Why the target cannot work, from its catalog's `reason` attribute; None when it works."""
    return getattr(catalog, "reason", None)


@dataclass
class _Child:
    """One running child: its process, its end of the pipe and the calls waiting on it."""

    process: subprocess.Popen[bytes]
    conn: Connection
    pending: dict[int, Future[Any]] = field(default_factory=dict)
    reader: threading.Thread | None = None


class ChildProcess:
    """The parent's side: starts the child, calls into it from any thread, restarts it when it died."""

    def __init__(self, target: str, payload: Any, budget: CpuBudget, workers: int, name: str) -> None:
        self.target = target
        self.payload = payload
        self.budget = budget
        self.workers = workers
        self.name = name
        self.catalog: Any = None
        self.restarts = 0
        self._lock = threading.Lock()  # the running child and its calls; held briefly
        self._spawn_lock = threading.Lock()  # one start at a time; held while a child loads
        self._ids = itertools.count()
        self._child: _Child | None = None
        self._closed = False
        self._unloaded = False  # ended while idle: the next call loads it again (not a restart)

    @property
    def pid(self) -> int | None:
        """The running child's pid; None when none runs."""
        child = self._child
        return child.process.pid if child is not None and child.process.poll() is None else None

    def describe(self) -> ChildStatus:
        """For the status endpoint: the child's pid (None when not running), restarts and calls in flight."""
        with self._lock:
            in_flight = len(self._child.pending) if self._child is not None else 0
            return {"pid": self.pid, "restarts": self.restarts, "calls_in_flight": in_flight}

    def start(self) -> None:
        """Start the child and wait for its catalog (which may say why the target is unavailable)."""
        with self._spawn_lock:
            self._closed = False
            if self._child is None and unavailable_reason(self.catalog) is None:
                self._install(self._spawn())

    def call(self, operation: str, *args: Any, timeout_s: float | None = None) -> Any:
        """Run one operation in the child and wait for its answer (from a worker thread, never the event loop).

        Cancelling the current scope, or `timeout_s` passing, kills the child and raises `Cancelled`."""
        future: Future[Any] = Future()
        scope = current_scope()
        with kill_on_cancel(lambda: self._kill_for(future, scope.reason if scope else None)):
            self._send(future, operation, args)
            if scope is not None and scope.cancelled:
                self._kill_for(future, scope.reason)
            return self._wait(future, operation, timeout_s, scope)

    def close(self) -> None:
        """Ask the child to finish its calls and end; kill it when it has not ended in time."""
        with self._spawn_lock, self._lock:
            child, self._child, self._closed = self._child, None, True
        if child is not None:
            self._end(child)

    def unload(self) -> bool:
        """End the child while no call is in flight, freeing its memory; the next call loads it again.
        False (and nothing done) when none runs or a call is in flight."""
        with self._spawn_lock, self._lock:
            child = self._child
            if child is None or child.pending:
                return False
            self._child, self._unloaded = None, True
        log.info("%s process %d unloaded while idle", self.name, child.process.pid)
        self._end(child)
        return True

    def _end(self, child: _Child) -> None:
        """Tell a child that is no longer the running one to end; kill it when it has not ended in time."""
        with contextlib.suppress(OSError, ValueError):
            child.conn.send(None)
        try:
            child.process.wait(CLOSE_WAIT_S)
        except subprocess.TimeoutExpired:
            log.warning("%s process %d did not end in time; killing it", self.name, child.process.pid)
            child.process.kill()
            child.process.wait(5)
        if child.reader is not None:
            child.reader.join(CLOSE_WAIT_S)

    def _spawn(self) -> _Child | None:
        """Start a child and wait for its catalog; None when the catalog says the target is unavailable."""
        process, conn = self._popen()
        try:
            conn.send((self.payload, self.budget, self.workers))
            while not conn.poll(0.5) and process.poll() is None:
                pass
            catalog = conn.recv()
        except (EOFError, OSError) as exc:
            conn.close()
            process.kill()
            raise EngineUnavailable(
                f"The {self.name} process exited while loading (exit code {process.wait()}); the server log says why."
            ) from exc
        self.catalog = catalog
        if unavailable_reason(catalog) is not None:
            conn.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(CLOSE_WAIT_S)
            return None
        log.info("%s process %d ready", self.name, process.pid)
        return _Child(process, conn)

    def _install(self, child: _Child | None) -> None:
        """Make a freshly loaded child the running one and read its answers from a thread."""
        if child is None:
            return
        child.reader = threading.Thread(target=self._read, args=(child,), name=f"{self.name}-reader", daemon=True)
        child.reader.start()
        with self._lock:
            self._child = child

    def _popen(self) -> tuple[subprocess.Popen[bytes], Connection]:
        """A fresh interpreter running the generic child's main on one end of a socket pair."""
        ours, theirs = socket.socketpair()
        path = os.pathsep.join(filter(None, (str(PROJECT_ROOT), os.environ.get("PYTHONPATH"))))
        with theirs:
            process = subprocess.Popen(
                [sys.executable, "-m", "app.services.child_main", self.target, str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                env={"MALLOC_ARENA_MAX": "2", **os.environ, "PYTHONPATH": path},
            )
        return process, Connection(ours.detach())

    def _running(self) -> _Child:
        """The running child, started (again) when there is none; one thread starts it, the others wait."""
        child = self._child
        if child is not None:
            return child
        with self._spawn_lock:
            if self._closed:
                raise EngineUnavailable(f"The {self.name} process was closed.")
            if self._child is None:
                reason = unavailable_reason(self.catalog)
                if reason is not None:
                    raise EngineUnavailable(f"The {self.name} is unavailable: {reason}")
                if self._unloaded:
                    log.info("loading the %s process again", self.name)
                    self._unloaded = False
                elif self.catalog is not None:
                    log.warning("starting the %s process again", self.name)
                    self.restarts += 1
                self._install(self._spawn())
            if self._child is None:
                raise EngineUnavailable(f"The {self.name} is unavailable: {unavailable_reason(self.catalog)}")
            return self._child

    def _send(self, future: Future[Any], operation: str, args: tuple[Any, ...]) -> None:
        """Register the call with the running child and send it; a child that died meanwhile is replaced."""
        while True:
            child = self._running()
            with self._lock:
                if self._child is not child:
                    continue
                call_id = next(self._ids)
                child.pending[call_id] = future
                try:
                    child.conn.send((call_id, operation, args))
                except (OSError, ValueError) as exc:
                    child.pending.pop(call_id, None)
                    raise EngineUnavailable(f"The {self.name} process cannot be reached; retry the request.") from exc
                return

    def _wait(self, future: Future[Any], operation: str, timeout_s: float | None, scope: CancelScope | None) -> Any:
        """The call's answer; `Cancelled` when its scope was cancelled or it took longer than `timeout_s`."""
        try:
            return future.result(timeout_s)
        except FutureTimeout:
            reason = (
                f"The {self.name} took longer than {timeout_s:g} s to answer '{operation}'; "
                "it was stopped and is started again for the next request."
            )
            self._kill_for(future, reason)
            return future.result()
        except EngineUnavailable as exc:
            if scope is not None and scope.cancelled:
                raise Cancelled(scope.reason or "cancelled") from exc
            raise

    def _kill_for(self, future: Future[Any], reason: str | None) -> None:
        """Kill the child serving this call, which raises `Cancelled`; the child's other calls fail as stopped."""
        with self._lock:
            child = self._child
            ids = [] if child is None else [key for key, value in child.pending.items() if value is future]
            if child is None or not ids:
                return
            for key in ids:
                del child.pending[key]
            self._child = None  # the next call starts a fresh child at once
        log.warning("killing %s process %d: %s", self.name, child.process.pid, reason)
        child.process.kill()
        future.set_exception(Cancelled(reason or "cancelled"))

    def _read(self, child: _Child) -> None:
        """Hand each answer to its caller; when the pipe breaks, fail every call still waiting."""
        while True:
            try:
                call_id, ok, value = child.conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                future = child.pending.pop(call_id, None)
            if future is None:
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(CallFailed(f"The {self.name} failed: {value}"))
        self._stranded(child)

    def _stranded(self, child: _Child) -> None:
        """After the pipe broke: forget the child and fail the calls it still owed."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(5)
        code = child.process.returncode
        with self._lock:
            if self._child is child:
                self._child = None
            stranded = list(child.pending.values())
            child.pending.clear()
            child.conn.close()
        if stranded or code not in (0, None):
            log.error("%s process %s stopped (exit code %s)", self.name, child.process.pid, code)
        for future in stranded:
            future.set_exception(
                EngineUnavailable(
                    f"The {self.name} process stopped unexpectedly (exit code {code}); "
                    "it is started again for the next request."
                )
            )
