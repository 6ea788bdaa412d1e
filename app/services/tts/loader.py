"""Chooses and loads the TTS engine once per process, as TTS_ENGINE says."""

import functools
import logging
from pathlib import Path

from app.config import Settings
from app.errors import EngineUnavailable
from app.services.tts.engine import LoadedEngine
from app.services.tts.g2p import G2pRegistry
from app.services.tts.onnx_engine import load_onnx_engine
from app.services.tts.service import TtsService
from app.services.tts.torch_engine import find_model_dir, load_torch_engine

log = logging.getLogger("app.tts")


def _load_engine(settings: Settings) -> LoadedEngine:
    """`auto`: torch when its weights are found, else ONNX, else unavailable with every reason."""
    mode = settings.tts_engine
    reasons = []
    if mode in ("auto", "torch"):
        try:
            model_dir = find_model_dir(
                settings.kokoro_model_dir, settings.kokoro_repo_id, allow_download=mode == "torch"
            )
            return _cached_torch(model_dir.resolve(), settings.kokoro_repo_id)
        except EngineUnavailable as exc:
            reasons.append(f"torch engine: {exc.message}")
    if mode in ("auto", "onnx"):
        try:
            return _cached_onnx(
                settings.kokoro_onnx_model,
                settings.kokoro_onnx_voices,
                settings.kokoro_model_dir,
                settings.model_cache_dir,
            )
        except EngineUnavailable as exc:
            reasons.append(f"onnx engine: {exc.message}")
    raise EngineUnavailable(" ".join(reasons))


@functools.cache
def _cached_torch(model_dir: Path, repo_id: str) -> LoadedEngine:
    return load_torch_engine(model_dir, repo_id)


@functools.cache
def _cached_onnx(model: Path | None, voices: Path | None, model_dir: Path | None, cache: Path) -> LoadedEngine:
    return load_onnx_engine(model, voices, model_dir, cache)


@functools.cache
def _cached_g2p(vocab: frozenset[str]) -> G2pRegistry:
    registry = G2pRegistry(vocab)
    registry.load()
    return registry


def build_tts_service(settings: Settings) -> TtsService:
    """Engine, voices and G2P loaded once per process and shared; warmed up when WARMUP is on."""
    try:
        loaded = _load_engine(settings)
    except EngineUnavailable as exc:
        log.warning("TTS unavailable: %s", exc.message)
        return TtsService.unavailable(settings, exc.message)
    g2p = _cached_g2p(frozenset(loaded.engine.vocab))
    service = TtsService.serving(settings, loaded, g2p)
    log.info(
        "TTS engine %s, weights %s, %d voices, default voice %s",
        loaded.engine.name,
        loaded.weights,
        len(loaded.voices.voices),
        service.default_voice(),
    )
    if settings.warmup:
        request = service.validate("Hello.", None, 1.0, None)
        for _ in service.stream(request, lambda: 1):
            pass
    return service
