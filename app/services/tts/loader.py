"""Chooses and loads the TTS engine, as TTS_ENGINE says; the engine process calls it once."""

import logging

from app.config import Settings
from app.errors import EngineUnavailable, UnprocessableInput
from app.services.tts.engine import LoadedEngine
from app.services.tts.g2p import G2pRegistry, keep_torch_out
from app.services.tts.onnx_engine import load_onnx_engine
from app.services.tts.service import TtsService
from app.services.tts.torch_engine import find_model_dir, load_torch_engine
from app.services.tts.voice_fetch import HubVoices
from app.services.tts.voice_pack import VoicePack
from app.services.tts.voice_source import PackInstall, PackThenHub

log = logging.getLogger("app.tts")


def _load_engine(settings: Settings, own_process: bool) -> LoadedEngine:
    """`auto`: torch when its weights are found, else ONNX, else unavailable with every reason. `own_process`:
    this process serves the engine alone, so an ONNX engine keeps torch out of it (spaCy would import it)."""
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
            loaded = load_onnx_engine(
                settings.kokoro_onnx_model,
                settings.kokoro_onnx_voices,
                settings.kokoro_model_dir,
                settings.model_cache_dir,
                settings.kokoro_repo_id,
            )
        except EngineUnavailable as exc:
            reasons.append(f"onnx engine: {exc.message}")
        else:
            if own_process:
                keep_torch_out()
            return loaded
    raise EngineUnavailable(" ".join(reasons))


def build_tts_service(settings: Settings, own_process: bool = False) -> TtsService:
    """Engine and voices loaded, each language's G2P on its first use; warmed up when WARMUP is on (which loads
    the G2P of the language it speaks: DEFAULT_LANG_CODE's, or the default voice's). A missing voice pack is
    fetched in the background meanwhile."""
    pack = VoicePack(settings.model_cache_dir, settings.kokoro_voices_url, settings.kokoro_voices_integrity)
    install = PackInstall(pack).start()
    try:
        loaded = _load_engine(settings, own_process)
    except EngineUnavailable as exc:
        log.warning("TTS unavailable: %s", exc.message)
        return TtsService.unavailable(settings, exc.message)
    loaded.voices.source = PackThenHub(install, HubVoices(settings.model_cache_dir, settings.kokoro_repo_id))
    g2p = G2pRegistry(loaded.engine.vocab)
    g2p.probe()
    service = TtsService.serving(settings, loaded, g2p)
    log.info(
        "TTS engine %s, weights %s, %d voices, default voice %s",
        loaded.engine.name,
        loaded.weights,
        len(loaded.voices.voices),
        service.default_voice(),
    )
    if settings.warmup:
        _warm_up(service)
    return service


def _warm_up(service: TtsService) -> None:
    """One short synthesis; a language whose G2P fails to load is left unavailable (the others still work)."""
    try:
        request = service.validate("Hello.", None, 1.0, None)
        for _ in service.stream(request, lambda: 1):
            pass
    except UnprocessableInput as exc:
        log.warning("TTS warm-up skipped: %s", exc.message)
