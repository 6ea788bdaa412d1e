"""What the workers' speech engine offers, published in Redis so that web nodes (which load no engine) check
requests exactly as a single server does: engine, weights, voices, languages."""

import json
import logging
from contextlib import suppress
from typing import Any

import numpy as np
import redis

from app.cluster import keys
from app.config import Settings
from app.errors import ServiceUnavailable
from app.services.tts.engine import LoadedEngine
from app.services.tts.engine_process import EngineCatalog
from app.services.tts.g2p import G2p, LanguageInfo, Unit
from app.services.tts.service import TtsService
from app.services.tts.voices import FetchResult, VoiceLibrary

log = logging.getLogger("app.cluster")
NOT_HERE = "web nodes do not synthesize in cluster mode; the workers do"
NO_CATALOG = "no worker has started its speech engine yet: start one with `python -m app.worker`"
FETCH_ON_WORKERS = "in cluster mode voices are installed on the workers: run `make voices` on each worker machine"


def publish_catalog(client: redis.Redis, catalog: EngineCatalog) -> None:
    """A worker's engine, without the voice packs themselves (web nodes need only their names)."""
    body = {
        "reason": catalog.reason,
        "name": catalog.name,
        "vocab": catalog.vocab,
        "weights": catalog.weights,
        "voices": sorted(catalog.voices),
        "languages": catalog.languages,
    }
    client.set(keys.CATALOG, json.dumps(body))


class CatalogEngine:
    """The engine's name and vocabulary; synthesis happens on the workers."""

    side_by_side = False

    def __init__(self, name: str, vocab: dict[str, int]) -> None:
        self.name = name
        self.vocab = vocab

    def synthesize(self, phonemes: str, style: np.ndarray, speed: float, threads: int) -> tuple[np.ndarray, list[int]]:
        raise ServiceUnavailable(NOT_HERE)

    def durations(self, phonemes: str, style: np.ndarray, speed: float, threads: int) -> list[int]:
        raise ServiceUnavailable(NOT_HERE)


class CatalogG2p:
    """Which languages the workers' G2P speaks."""

    def __init__(self, languages: list[LanguageInfo]) -> None:
        self._languages = languages
        self.unavailable = {
            item["code"]: item["reason"] for item in languages if not item["available"] and item["reason"] is not None
        }
        self._available = {item["code"] for item in languages if item["available"]}

    def available(self, code: str) -> bool:
        return code in self._available

    def languages(self) -> list[LanguageInfo]:
        return [item.copy() for item in self._languages]

    def phonemize(self, sentence: str, code: str) -> list[Unit]:
        raise ServiceUnavailable(NOT_HERE)


class WorkerVoices:
    """Voices are fetched on the workers, not by a web node."""

    unavailable_reason: str | None = FETCH_ON_WORKERS

    def fetch(self, name: str) -> FetchResult:
        raise ServiceUnavailable(FETCH_ON_WORKERS)


def refresh_tts(tts: TtsService, client: redis.Redis) -> None:
    """Bring a web node's TTS service up to what the workers published (or say why it is unavailable)."""
    raw = client.get(keys.CATALOG)
    if raw is None:
        tts.loaded, tts.g2p, tts.unavailable_reason = None, None, NO_CATALOG
        return
    body: dict[str, Any] = json.loads(str(raw))
    if body["reason"] is not None:
        tts.loaded, tts.g2p, tts.unavailable_reason = None, None, str(body["reason"])
        return
    if tts.loaded is not None and tts.loaded.voices.names() == body["voices"]:
        return
    placeholder = np.zeros((1, 1, 256), dtype=np.float32)  # web nodes never read a voice pack
    voices = VoiceLibrary(dict.fromkeys(body["voices"], placeholder), WorkerVoices())
    tts.loaded = LoadedEngine(CatalogEngine(body["name"], body["vocab"]), voices, body["weights"])
    tts.g2p = CatalogG2p(body["languages"])
    tts.unavailable_reason = None


class CatalogTts(TtsService):
    """A web node's TTS service: what the workers published, read again at once when it says unavailable (a
    worker that just started may have published since the last refresh)."""

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        super().__init__(None, None, NO_CATALOG, settings.default_lang_code, settings.max_text_chars, None)
        self.preferred_voice = settings.default_voice
        self._redis = client

    def ready(self) -> tuple[LoadedEngine, G2p]:
        if not self.available:
            with suppress(redis.RedisError):
                refresh_tts(self, self._redis)
        return super().ready()
