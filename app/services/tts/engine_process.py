"""The TTS engine and its G2P in a child process, at the heavy work's nice and cores.

G2P (spaCy, misaki) and the engine's Python code hold the GIL for long stretches; run in the API's
process they would stall its event loop. Here the API process keeps only what validation needs (voice
packs, vocab, the languages) and sends each sentence to phonemize and each chunk to synthesize through
a pipe; heavy threads wait on the answer with the GIL released. A child that dies (killed for memory,
a crash) fails the calls in flight with a clear message and is started again on the next call.
"""

import atexit
import contextlib
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from app.config import Settings
from app.errors import DomainError, EngineUnavailable, first_line
from app.limits import CpuBudget
from app.services.tts.engine import LoadedEngine
from app.services.tts.g2p import Unit
from app.services.tts.service import TtsService
from app.services.tts.voices import VoiceLibrary

log = logging.getLogger("app.tts.process")

ENGINE_FIELDS = {
    "tts_engine",
    "kokoro_model_dir",
    "kokoro_repo_id",
    "kokoro_onnx_model",
    "kokoro_onnx_voices",
    "model_cache_dir",
    "warmup",
    "log_format",
    "log_level",
}
PROJECT_ROOT = Path(__file__).resolve().parents[3]


class EngineFailed(DomainError):
    """The engine raised while synthesizing or phonemizing; the message names the original error."""

    status_code = 500


@dataclass
class EngineCatalog:
    """What the API process needs from a loaded engine, sent once by the child."""

    reason: str | None = None  # why text to speech is unavailable; None when it works
    name: str = ""
    vocab: dict[str, int] = field(default_factory=dict)
    weights: str = ""
    notes: list[str] = field(default_factory=list)
    voices: dict[str, np.ndarray] = field(default_factory=dict)
    languages: list[dict] = field(default_factory=list)


def _catalog(service: TtsService) -> EngineCatalog:
    if not service.available:
        return EngineCatalog(reason=service.unavailable_reason)
    loaded = service.loaded
    return EngineCatalog(
        name=loaded.engine.name,
        vocab=dict(loaded.engine.vocab),
        weights=loaded.weights,
        notes=list(loaded.notes),
        voices=dict(loaded.voices.voices),
        languages=service.g2p.languages(),
    )


def _describe_failure(exc: BaseException) -> str:
    text = first_line(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def serve(conn: Connection) -> None:
    """The child's main: load once, then answer calls, each in a thread, until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal: the parent decides when this ends
    settings, budget = conn.recv()
    from app.logging_setup import configure_logging
    from app.services.tts.loader import build_tts_service

    budget.enter_heavy_thread()  # threads started from here on inherit the nice and the cores
    configure_logging(settings.log_format, settings.log_level)
    service = build_tts_service(settings)
    conn.send(_catalog(service))
    if not service.available:
        return
    operations: dict[str, Callable[..., Any]] = {
        "phonemize": service.g2p.phonemize,
        "synthesize": service.loaded.engine.synthesize,
    }
    send_lock = threading.Lock()

    def answer(call_id: int, operation: str, args: tuple) -> None:
        try:
            reply = (call_id, True, operations[operation](*args))
        except Exception as exc:
            log.exception("engine call %s failed", operation)
            reply = (call_id, False, _describe_failure(exc))
        with send_lock:
            conn.send(reply)

    # one thread per heavy slot: admission never lets more calls run at once, and few threads keep few malloc arenas
    with ThreadPoolExecutor(settings.max_concurrent_heavy_tasks, thread_name_prefix="engine") as pool:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            if message is None:
                break
            pool.submit(answer, *message)


class EngineProcess:
    """The parent's side: starts the child, calls into it from any thread, restarts it when it died."""

    def __init__(self, settings: Settings, budget: CpuBudget) -> None:
        self.settings = settings
        self.budget = budget
        self.catalog: EngineCatalog | None = None
        self.restarts = 0
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._pending: dict[int, Future] = {}
        self._conn: Connection | None = None
        self._process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def describe(self) -> dict:
        """For the status endpoint: the child's pid (None when not running) and how often it was restarted."""
        with self._lock:
            return {"pid": self.pid, "restarts": self.restarts, "calls_in_flight": len(self._pending)}

    def start(self) -> None:
        """Start the child and wait until it has loaded the engine (or said why it cannot: `catalog.reason`)."""
        with self._lock:
            self._spawn()

    def _spawn(self) -> None:
        """`python -m app.services.tts.engine_child FD` on one end of a socket pair: a fresh interpreter
        that imports nothing of the parent's main module."""
        ours, theirs = socket.socketpair()
        path = os.pathsep.join(filter(None, (str(PROJECT_ROOT), os.environ.get("PYTHONPATH"))))
        with theirs:
            process = subprocess.Popen(
                [sys.executable, "-m", "app.services.tts.engine_child", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                env={"MALLOC_ARENA_MAX": "2", **os.environ, "PYTHONPATH": path},
            )
        conn = Connection(ours.detach())
        try:
            conn.send((self.settings, self.budget))
            while not conn.poll(0.5):
                if process.poll() is not None:
                    break
            catalog: EngineCatalog = conn.recv()
        except (EOFError, OSError) as exc:
            conn.close()
            process.kill()
            raise EngineUnavailable(
                f"The speech engine process exited while loading (exit code {process.wait()}); the server log says why."
            ) from exc
        self.catalog = catalog
        self._process = process
        if catalog.reason is not None:
            conn.close()
            return
        self._conn = conn
        threading.Thread(target=self._read, args=(conn, process), name="engine-reader", daemon=True).start()
        log.info("speech engine process %d ready (%s)", process.pid, catalog.name)

    def _read(self, conn: Connection, process: subprocess.Popen) -> None:
        """Hand each answer to its caller; when the pipe breaks, fail every call still waiting."""
        while True:
            try:
                call_id, ok, value = conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                future = self._pending.pop(call_id, None)
            if future is None:
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(EngineFailed(f"The speech engine failed: {value}"))
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
        with self._lock:
            if self._conn is conn:
                self._conn = None
            stranded = list(self._pending.values())
            self._pending.clear()
        if stranded or process.returncode not in (0, None):
            log.error("speech engine process %s stopped (exit code %s)", process.pid, process.returncode)
        for future in stranded:
            future.set_exception(
                EngineUnavailable(
                    f"The speech engine process stopped unexpectedly (exit code {process.returncode}); "
                    "it is started again for the next request."
                )
            )

    def call(self, operation: str, *args: Any) -> Any:
        """Run one operation in the child and wait for its answer (from a worker thread, never the event loop)."""
        future: Future = Future()
        with self._lock:
            if self._conn is None:
                if self.catalog is not None and self.catalog.reason is not None:
                    raise EngineUnavailable(f"Text to speech is unavailable: {self.catalog.reason}")
                log.warning("starting the speech engine process again")
                self.restarts += 1
                self._spawn()
            call_id = next(self._ids)
            self._pending[call_id] = future
            try:
                self._conn.send((call_id, operation, args))
            except (OSError, ValueError) as exc:
                self._pending.pop(call_id, None)
                raise EngineUnavailable("The speech engine process cannot be reached; retry the request.") from exc
        return future.result()

    def close(self) -> None:
        with self._lock:
            conn, process = self._conn, self._process
            self._conn = None
        if conn is not None:
            with contextlib.suppress(OSError, ValueError):
                conn.send(None)
        if process is not None:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if conn is not None:
            conn.close()


class RemoteEngine:
    """A `TtsEngine` whose synthesis runs in the engine process."""

    def __init__(self, process: EngineProcess, name: str, vocab: dict[str, int]) -> None:
        self.process = process
        self.name = name
        self.vocab = vocab

    def synthesize(self, phonemes: str, style: np.ndarray, speed: float, threads: int) -> tuple[np.ndarray, list[int]]:
        return self.process.call("synthesize", phonemes, style, speed, threads)


class RemoteG2p:
    """The G2P registry's interface, phonemizing in the engine process."""

    def __init__(self, process: EngineProcess, languages: list[dict]) -> None:
        self.process = process
        self._languages = languages
        self.unavailable = {item["code"]: item["reason"] for item in languages if not item["available"]}
        self._available = {item["code"] for item in languages if item["available"]}

    def available(self, code: str) -> bool:
        return code in self._available

    def languages(self) -> list[dict]:
        return [dict(item) for item in self._languages]

    def phonemize(self, sentence: str, code: str) -> list[Unit]:
        return self.process.call("phonemize", sentence, code)


_shared: dict[tuple, EngineProcess] = {}
_shared_lock = threading.Lock()


def shared_engine_process(settings: Settings, budget: CpuBudget) -> EngineProcess:
    """One engine process per engine configuration and CPU budget, started once and kept for the life of
    this process (several apps in one process, as in tests, share it); it ends with the process."""
    key = (settings.model_dump_json(include=ENGINE_FIELDS), budget.pinned_cores, budget.nice)
    with _shared_lock:
        process = _shared.get(key)
        if process is None:
            process = EngineProcess(settings, budget)
            process.start()
            if not _shared:
                atexit.register(close_shared_engine_processes)
            _shared[key] = process
        return process


def close_shared_engine_processes() -> None:
    """At exit: let each engine process finish and end instead of finding its pipe closed."""
    with _shared_lock:
        processes = list(_shared.values())
        _shared.clear()
    for process in processes:
        process.close()


def start_tts_service(settings: Settings, budget: CpuBudget) -> tuple[TtsService, EngineProcess | None]:
    """The TTS service of the API process, its engine and G2P in the shared engine process (also returned)."""
    try:
        process = shared_engine_process(settings, budget)
    except EngineUnavailable as exc:
        log.warning("TTS unavailable: %s", exc.message)
        return TtsService.unavailable(settings, exc.message), None
    catalog = process.catalog
    if catalog.reason is not None:
        return TtsService.unavailable(settings, catalog.reason), None
    loaded = LoadedEngine(
        RemoteEngine(process, catalog.name, catalog.vocab), VoiceLibrary(catalog.voices), catalog.weights, catalog.notes
    )
    g2p = RemoteG2p(process, catalog.languages)
    return TtsService.serving(settings, loaded, g2p), process
