"""Voices that work on the first try: a Kokoro v1.0 voice that is not installed is fetched from the hub (here a
hub on loopback, through `HF_ENDPOINT`) on first use, cached under MODEL_CACHE_DIR and used by both engines;
offline, the 422 says how to get it. And numbers read aloud: the Portuguese meeting sentence heard by Whisper."""

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.config import Settings
from app.services.tts.normalize import normalize
from app.services.tts.voice_fetch import cached_voices_dir
from tests.conftest import ROOT, RunningServer, ServerFactory
from tests.support.hearing import base_multilingual_model, transcribe, wer
from tests.support.local_hub import LocalHub
from tests.support.waits import WAIT_S

TTS = "/api/v1/media/audio-tools/tts/kokoro"
REPO = "hexgrad/Kokoro-82M"
SERVED = ("am_santa", "bm_lewis", "af_heart", "pm_alex", "em_santa")
MEETING = "A reunião das 14h30 teve 25% de desconto e custou R$ 1.250,00."
MEETING_SPOKEN = (
    "A reunião das catorze horas e trinta teve vinte e cinco por cento de desconto e custou "
    "mil duzentos e cinquenta reais."
)


def voice_file(seed: int) -> bytes:
    """A voice pack as the hub stores it: a 510 x 1 x 256 tensor written by torch.save."""
    import torch

    buffer = io.BytesIO()
    torch.save(torch.randn(510, 1, 256, generator=torch.Generator().manual_seed(seed)) * 0.3, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def hub(slow_tier: None) -> Iterator[LocalHub]:
    """Voices written by torch (imported for it), served on loopback."""
    local = LocalHub({f"voices/{name}.pt": voice_file(i) for i, name in enumerate(SERVED)}, REPO)
    yield local
    local.stop()


@contextmanager
def online(hub: LocalHub) -> Iterator[None]:
    """The environment a server's engine process starts in: fetching on, the hub on loopback."""
    with pytest.MonkeyPatch.context() as env:
        env.delenv("HF_HUB_OFFLINE", raising=False)
        env.setenv("HF_ENDPOINT", hub.url)
        yield


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="module")
def onnx_server(hub: LocalHub, cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The real int8 model, started online against the local hub, caching voices in its own MODEL_CACHE_DIR."""
    settings = Settings(
        storage_path=tmp_path_factory.mktemp("onnx-media"),
        model_cache_dir=cache_dir,
        tts_engine="onnx",
        cpu_usage_limit=1.0,
        max_queued_jobs=20,
    )
    with online(hub):
        server = RunningServer(settings)
    yield server
    server.stop()


def job_count(server: RunningServer) -> int:
    return len(server.services.jobs.recent(None, None, 1000, 0))


def speak(server: RunningServer, **fields: str) -> dict:
    """Submit with wait=true; the job's /info."""
    response = server.client.post(TTS, data={**fields, "wait": "true"})
    assert response.status_code == 200, response.text
    return server.client.get(f"/api/v1/media/storage/{response.headers['x-file-id']}/info").json()


def installed(server: RunningServer, **params: str) -> dict[str, bool]:
    voices = server.client.get(f"{TTS}/voices", params=params).json()["voices"]
    return {v["name"]: v["installed"] for v in voices}


def test_a_voice_not_installed_is_fetched_on_first_use_cached_and_spoken(
    onnx_server: RunningServer, hub: LocalHub, cache_dir: Path
) -> None:
    listing = onnx_server.client.get(f"{TTS}/voices").json()
    assert listing["fetch_on_first_use"] is True and "fetched on first use" in listing["get_more"]
    assert installed(onnx_server)["am_santa"] is False

    info = speak(onnx_server, text="Hello there.", voice="am_santa")

    assert info["voice"] == "am_santa" and info["engine"] == "onnx" and info["duration"] > 0
    assert hub.downloads("am_santa") == 1
    assert (cached_voices_dir(cache_dir, REPO) / "am_santa.pt").is_file()
    assert installed(onnx_server)["am_santa"] is True
    assert "am_santa" in onnx_server.client.get("/health").json()["tts"]["voices"]


def test_a_fetched_voice_is_not_downloaded_again(onnx_server: RunningServer, hub: LocalHub) -> None:
    speak(onnx_server, text="Once.", voice="bm_lewis")
    requests_after_first = len(hub.requests)

    info = speak(onnx_server, text="And twice, in a blend.", voice="bm_lewis(2)+jf_alpha(1)")

    assert info["voice"] == "bm_lewis(2)+jf_alpha(1)"
    assert hub.downloads("bm_lewis") == 1 and len(hub.requests) == requests_after_first


def test_a_hub_that_fails_once_is_asked_again_and_the_voice_arrives(onnx_server: RunningServer, hub: LocalHub) -> None:
    hub.fail_next(1)

    info = speak(onnx_server, text="Retried.", voice="em_santa")

    asked = [status for method, path, status in hub.requests if path.endswith("/voices/em_santa.pt")]
    assert asked[0] == 500 and hub.downloads("em_santa") == 1
    assert info["voice"] == "em_santa"


def test_a_hub_that_stays_down_gets_a_503_to_retry_and_leaves_no_job(onnx_server: RunningServer, hub: LocalHub) -> None:
    before = job_count(onnx_server)
    hub.fail_next(100)
    try:
        response = onnx_server.client.post(TTS, data={"text": "Not yet.", "voice": "pm_alex"})
    finally:
        hub.fail_next(0)

    assert response.status_code == 503
    error = response.json()["error"]
    assert error.startswith("Voice 'pm_alex' is not installed and could not be fetched from the hub: ")
    assert "(attempt 3 of 3). Installed voices: " in error and "Retry later, or name an installed voice." in error
    assert sum(1 for _, path, _ in hub.requests if path.endswith("/voices/pm_alex.pt")) == 3
    assert job_count(onnx_server) == before and installed(onnx_server)["pm_alex"] is False


def test_a_voice_the_hub_does_not_have_is_a_422_and_an_unknown_name_never_reaches_the_hub(
    onnx_server: RunningServer, hub: LocalHub
) -> None:
    before, asked = job_count(onnx_server), len(hub.requests)

    missing = onnx_server.client.post(TTS, data={"text": "Hi.", "voice": "ff_siwis"})
    unknown = onnx_server.client.post(TTS, data={"text": "Hi.", "voice": "xx_nothing"})

    assert missing.status_code == 422 and "404" in missing.json()["error"]
    assert unknown.status_code == 422
    assert unknown.json()["error"].startswith("Unknown voice 'xx_nothing': it is neither installed nor a Kokoro v1.0")
    assert not [path for _, path, _ in hub.requests[asked:] if "xx_nothing" in path]
    assert job_count(onnx_server) == before


def test_without_a_voice_the_default_voice_is_fetched_and_speaks(onnx_server: RunningServer, hub: LocalHub) -> None:
    assert installed(onnx_server)["af_heart"] is False  # DEFAULT_VOICE, not installed yet

    info = speak(onnx_server, text="Hello with the default voice.")

    assert info["voice"] == "af_heart" and hub.downloads("af_heart") == 1
    assert onnx_server.client.get("/health").json()["tts"]["default_voice"] == "af_heart"


def test_the_openai_route_fetches_a_voice_too(onnx_server: RunningServer, hub: LocalHub) -> None:
    response = onnx_server.client.post(
        "/v1/audio/speech", json={"input": "Hi.", "voice": "pm_alex", "response_format": "wav"}
    )

    assert response.status_code == 200 and response.content[:4] == b"RIFF"
    assert hub.downloads("pm_alex") == 1


def test_numbers_amounts_and_times_are_heard_in_portuguese(onnx_server: RunningServer, tmp_path: Path) -> None:
    response = onnx_server.client.post(
        TTS, data={"text": MEETING, "voice": "jf_alpha", "lang_code": "p", "wait": "true"}
    )
    assert response.status_code == 200, response.text
    (tmp_path / "meeting.wav").write_bytes(response.content)
    info = onnx_server.client.get(f"/api/v1/media/storage/{response.headers['x-file-id']}/info").json()

    heard = transcribe(tmp_path / "meeting.wav", base_multilingual_model(), language="pt").text

    assert wer(MEETING_SPOKEN, normalize(heard, "p"), lang="pt") <= 0.3, heard
    assert {"14h30", "25%", "R$ 1.250,00."} <= {w["word"] for w in info["words"]}  # captions keep the writing


def test_both_engines_load_the_cached_voices_at_start_and_never_ask_the_hub_again(
    server_factory: ServerFactory, onnx_server: RunningServer, hub: LocalHub, cache_dir: Path
) -> None:
    speak(onnx_server, text="Cached first.", voice="am_santa")  # fetched by the ONNX engine (or already)
    asked = len(hub.requests)

    torch_server = server_factory(tts_engine="torch", model_cache_dir=cache_dir)  # offline: HF_HUB_OFFLINE=1

    assert installed(torch_server)["am_santa"] is True
    info = speak(torch_server, text="Spoken by torch.", voice="am_santa")
    assert info["engine"] == "torch" and info["voice"] == "am_santa"
    assert len(hub.requests) == asked


def test_without_a_voice_and_no_hub_an_installed_voice_stands_in_and_the_hub_is_left_alone(
    server_factory: ServerFactory, hub: LocalHub, tmp_path: Path
) -> None:
    with online(hub):
        server = server_factory(tts_engine="torch", model_cache_dir=tmp_path / "cache", default_voice="bm_lewis")
    hub.fail_next(100)
    try:
        first = speak(server, text="The hub is down.")
        asked = len(hub.requests)
        second = speak(server, text="Still down, not asked again.")
    finally:
        hub.fail_next(0)

    assert first["voice"] == second["voice"] == "af_bella"  # the first installed voice
    assert len(hub.requests) == asked


def test_offline_a_voice_not_installed_is_a_422_that_says_how_to_get_it(torch_server: RunningServer) -> None:
    before = job_count(torch_server)

    response = torch_server.client.post(TTS, data={"text": "Hi.", "voice": "am_santa"})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error.startswith(
        "Voice 'am_santa' is not installed, and voices cannot be fetched here (HF_HUB_OFFLINE=1). Installed voices: "
    )
    assert "af_heart" in error and "`make voices`" in error and "fetched on first use" in error
    listing = torch_server.client.get(f"{TTS}/voices").json()
    assert listing["fetch_on_first_use"] is False and "`make voices`" in listing["get_more"]
    unknown = torch_server.client.post(TTS, data={"text": "Hi.", "voice": "xx_nothing"})
    assert unknown.status_code == 422 and "Unknown voice 'xx_nothing'" in unknown.json()["error"]
    assert job_count(torch_server) == before


@pytest.mark.parametrize(
    ("lang_code", "expected"),
    [
        ("pt", {"pf_dora", "pm_alex", "pm_santa"}),
        ("en-gb", {"bf_emma", "bm_lewis"}),
        ("es", {"ef_dora"}),
        ("f", {"ff_siwis"}),
    ],
)
def test_the_voice_list_takes_the_older_servers_language_names(
    torch_server: RunningServer, lang_code: str, expected: set[str]
) -> None:
    voices = installed(torch_server, lang_code=lang_code)
    assert expected <= set(voices)
    assert {name[0] for name in voices} == {next(iter(expected))[0]}


def test_an_unknown_language_filter_is_a_422_naming_the_field(torch_server: RunningServer) -> None:
    response = torch_server.client.get(f"{TTS}/voices", params={"lang_code": "xx"})
    assert response.status_code == 422 and "lang_code" in response.json()["error"]


def test_make_voices_fetches_every_named_voice_once_and_retries_a_failing_hub(hub: LocalHub, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env.update(HF_ENDPOINT=hub.url, MODEL_CACHE_DIR=str(tmp_path))
    command = [sys.executable, "scripts/fetch_voices.py", "am_santa", "bm_lewis"]
    hub.fail_next(1)

    first = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=WAIT_S)
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=WAIT_S)
    missing = subprocess.run(
        [*command[:2], "ff_siwis"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=WAIT_S
    )

    assert first.returncode == 0, first.stdout + first.stderr
    assert "am_santa: fetched" in first.stdout and "bm_lewis: fetched" in first.stdout
    assert "retrying in 0.5 s" in first.stderr
    assert "am_santa: already cached" in again.stdout and "bm_lewis: already cached" in again.stdout
    assert missing.returncode == 1 and "ff_siwis: FAILED" in missing.stdout
    assert sorted(p.name for p in cached_voices_dir(tmp_path, REPO).iterdir()) == ["am_santa.pt", "bm_lewis.pt"]
