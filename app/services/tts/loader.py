"""Chooses and loads the TTS engine, as TTS_ENGINE says; the engine process calls it once."""

import logging

from app.config import Settings
from app.errors import EngineUnavailable
from app.services.tts.engine import LoadedEngine
from app.services.tts.g2p import G2pRegistry
from app.services.tts.onnx_engine import load_onnx_engine
from app.services.tts.service import TtsService
from app.services.tts.torch_engine import find_model_dir, load_torch_engine
from app.services.tts.voice_fetch import HubVoices

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
            return load_torch_engine(model_dir.resolve(), settings.kokoro_repo_id, settings.model_cache_dir)
        except EngineUnavailable as exc:
            reasons.append(f"torch engine: {exc.message}")
    if mode in ("auto", "onnx"):
        try:
            return load_onnx_engine(
                settings.kokoro_onnx_model,
                settings.kokoro_onnx_voices,
                settings.kokoro_model_dir,
                settings.model_cache_dir,
                settings.kokoro_repo_id,
            )
        except EngineUnavailable as exc:
            reasons.append(f"onnx engine: {exc.message}")
    raise EngineUnavailable(" ".join(reasons))


def build_tts_service(settings: Settings) -> TtsService:
    """Engine, voices and G2P loaded; warmed up when WARMUP is on."""
    try:
        loaded = _load_engine(settings)
    except EngineUnavailable as exc:
        log.warning("TTS unavailable: %s", exc.message)
        return TtsService.unavailable(settings, exc.message)
    loaded.voices.source = HubVoices(settings.model_cache_dir, settings.kokoro_repo_id)
    g2p = G2pRegistry(loaded.engine.vocab)
    g2p.load()
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
