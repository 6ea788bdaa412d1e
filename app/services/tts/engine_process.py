"""The TTS engine and its G2P in a child process (`ChildProcess`), at the heavy work's nice and cores.

G2P (spaCy, misaki) and the engine's Python code hold the GIL for long stretches; run in the API's
process they would stall its event loop. Here the API process keeps only what validation needs (voice
packs, vocab, the languages) and sends each sentence to phonemize and each chunk to synthesize to the
child. `load` runs in the child; `start_engine_process` and `tts_service_on` in the API process.
"""

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.config import Settings
from app.errors import UnprocessableInput
from app.limits import CpuBudget
from app.services.child_process import ChildProcess
from app.services.tts.engine import LoadedEngine
from app.services.tts.g2p import LanguageInfo, LoadsOnFirstUse, Unit
from app.services.tts.service import TtsService
from app.services.tts.voices import FetchResult, VoiceLibrary

ENGINE_NAME = "speech engine"


@dataclass
class EngineCatalog:
    """What the API process needs from a loaded engine, sent once by the child."""

    reason: str | None = None  # why text to speech is unavailable; None when it works
    name: str = ""
    side_by_side: bool = False
    vocab: dict[str, int] = field(default_factory=dict)
    weights: str = ""
    voices: dict[str, np.ndarray] = field(default_factory=dict)
    languages: list[LanguageInfo] = field(default_factory=list)
    fetch_unavailable: str | None = None  # why voices that are not installed cannot be fetched; None: they can


def _catalog(service: TtsService) -> EngineCatalog:
    if not service.available:
        return EngineCatalog(reason=service.unavailable_reason)
    loaded, g2p = service.ready()
    return EngineCatalog(
        name=loaded.engine.name,
        side_by_side=loaded.engine.side_by_side,
        vocab=dict(loaded.engine.vocab),
        weights=loaded.weights,
        voices=dict(loaded.voices.voices),
        languages=g2p.languages(),
        fetch_unavailable=loaded.voices.fetch_unavailable_reason,
    )


def load(settings: Settings) -> tuple[EngineCatalog, dict[str, Callable[..., Any]]]:
    """In the child: build the TTS service (warmed up when WARMUP is on); its catalog and operations."""
    from app.logging_setup import configure_logging
    from app.services.tts.loader import build_tts_service

    configure_logging(settings.log_format, settings.log_level)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    service = build_tts_service(settings, own_process=True)
    if not service.available:
        return _catalog(service), {}
    loaded, g2p = service.ready()
    operations: dict[str, Callable[..., Any]] = {
        "phonemize": g2p.phonemize,
        "synthesize": loaded.engine.synthesize,
        "durations": loaded.engine.durations,
    }
    if isinstance(g2p, LoadsOnFirstUse):
        operations["load_language"] = _language_loader(g2p)
    if loaded.voices.source is not None:
        operations["fetch_voice"] = loaded.voices.source.fetch
    return _catalog(service), operations


def _language_loader(g2p: LoadsOnFirstUse) -> Callable[[str], str | None]:
    """In the child: load a language's G2P now; the reason it cannot be loaded, None when it is (an error's type
    does not cross the pipe, so the reason is answered rather than raised)."""

    def load_language(code: str) -> str | None:
        try:
            g2p.load_language(code)
        except UnprocessableInput as exc:
            return exc.message
        return None

    return load_language


class RemoteEngine:
    """A `TtsEngine` whose synthesis runs in the engine process."""

    def __init__(self, process: ChildProcess, catalog: EngineCatalog) -> None:
        self.process = process
        self.name = catalog.name
        self.vocab = catalog.vocab
        self.side_by_side = catalog.side_by_side

    def synthesize(self, phonemes: str, style: np.ndarray, speed: float, threads: int) -> tuple[np.ndarray, list[int]]:
        audio_and_durations: tuple[np.ndarray, list[int]] = self.process.call(
            "synthesize", phonemes, style, speed, threads
        )
        return audio_and_durations

    def durations(self, phonemes: str, style: np.ndarray, speed: float, threads: int) -> list[int]:
        frames: list[int] = self.process.call("durations", phonemes, style, speed, threads)
        return frames


class RemoteVoices:
    """The engine process's voice source: a voice is fetched there, into MODEL_CACHE_DIR, and its pack sent back."""

    def __init__(self, process: ChildProcess, unavailable_reason: str | None) -> None:
        self.process = process
        self.unavailable_reason = unavailable_reason

    def fetch(self, name: str) -> FetchResult:
        result: FetchResult = self.process.call("fetch_voice", name)
        return result


class RemoteG2p:
    """The G2P registry's interface, phonemizing in the engine process, which loads each language on first use:
    in the first job that speaks it (after admission, so that submitting a request never waits on that process).

    Which languages the running engine process has loaded is known here, without asking it: those its catalog
    says it loaded at start, and those loaded through `load_language` since (a restarted process sends a new
    catalog). A language that failed to load is unavailable from then on, with the reason."""

    def __init__(self, process: ChildProcess, languages: list[LanguageInfo]) -> None:
        self.process = process
        self._languages = languages
        self.unavailable = {
            item["code"]: item["reason"] for item in languages if not item["available"] and item["reason"] is not None
        }  # G2pRegistry gives every unavailable language its reason
        self._available = {item["code"] for item in languages if item["available"]}
        self._lock = threading.Lock()
        self._catalog: object = None  # the catalog `_loaded` describes
        self._loaded: set[str] = set()

    def available(self, code: str) -> bool:
        return code in self._available

    def loaded(self) -> set[str]:
        """The languages whose G2P the running engine process holds."""
        with self._lock:
            catalog = self.process.catalog
            if catalog is not self._catalog:
                self._catalog = catalog
                self._loaded = {item["code"] for item in getattr(catalog, "languages", []) if item.get("loaded")}
            return set(self._loaded)

    def languages(self) -> list[LanguageInfo]:
        loaded = self.loaded()
        return [
            {
                **item,
                "available": item["code"] in self._available,
                "reason": self.unavailable.get(item["code"], item["reason"]),
                "loaded": item["code"] in loaded,
            }
            for item in self._languages
        ]

    def load_language(self, code: str) -> None:
        """Have the engine process load the language's G2P unless it holds it (blocking); `UnprocessableInput`
        naming the language when it cannot be loaded."""
        if code in self.loaded():
            return
        reason: str | None = self.process.call("load_language", code)
        with self._lock:
            if reason is not None:
                self.unavailable[code] = reason
                self._available.discard(code)
            elif self.process.catalog is self._catalog:
                self._loaded.add(code)
        if reason is not None:
            raise UnprocessableInput(reason)

    def phonemize(self, sentence: str, code: str) -> list[Unit]:
        self.load_language(code)
        units: list[Unit] = self.process.call("phonemize", sentence, code)
        return units


def start_engine_process(settings: Settings, budget: CpuBudget) -> ChildProcess:
    """Start the speech engine's child and wait until it loaded (blocking); the caller closes it.

    Raises `EngineUnavailable` when the child dies while loading."""
    workers = settings.max_concurrent_heavy_tasks + budget.threads  # chunks side by side, and each job's G2P
    process = ChildProcess("app.services.tts.engine_process", settings, budget, workers, ENGINE_NAME)
    process.start()
    return process


def tts_service_on(process: ChildProcess | None, settings: Settings) -> TtsService:
    """The API process's TTS service, its engine and G2P in `process`; unavailable when there is none
    or its catalog says why text to speech cannot work."""
    if process is None:
        return TtsService.unavailable(settings, f"the {ENGINE_NAME} process is not running")
    catalog: EngineCatalog = process.catalog
    if catalog.reason is not None:
        return TtsService.unavailable(settings, catalog.reason)
    voices = VoiceLibrary(catalog.voices, RemoteVoices(process, catalog.fetch_unavailable))
    loaded = LoadedEngine(RemoteEngine(process, catalog), voices, catalog.weights)
    return TtsService.serving(settings, loaded, RemoteG2p(process, catalog.languages))
