"""Text to speech through the real HTTP API on the random-weight Kokoro model (torch engine)."""

import io
import itertools
import subprocess
import sys
import threading

import imageio_ffmpeg
import pytest
import soundfile

from tests.conftest import ROOT, RunningServer
from tests.support.waits import WAIT_S

TTS = "/api/v1/media/audio-tools/tts/kokoro"
STATUS = "/api/v1/system/status"
ENGLISH = "The quick brown fox jumps over the lazy dog. Then it runs home."
PORTUGUESE = "Olá, mundo! Hoje o céu está azul e a cidade acorda devagar."


def speak(server: RunningServer, **fields) -> tuple[dict, dict]:
    """Submit, wait for the job, return (status, info)."""
    response = server.client.post(TTS, data=fields)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status_url"].endswith(f"/api/v1/media/storage/{body['file_id']}/status")
    status = server.wait_for(body["file_id"])
    info = server.client.get(f"/api/v1/media/storage/{body['file_id']}/info").json()
    return status, info


def download_wav(server: RunningServer, file_id: str) -> tuple[soundfile._SoundFileInfo, bytes]:
    response = server.client.get(f"/api/v1/media/storage/{file_id}")
    assert response.status_code == 200
    return soundfile.info(io.BytesIO(response.content)), response.content


def test_english_text_becomes_a_24khz_mono_wav(torch_server: RunningServer) -> None:
    status, info = speak(torch_server, text=ENGLISH, voice="af_heart")
    assert status["status"] == "ready" and status["progress"] == 100
    response = torch_server.client.get(f"/api/v1/media/storage/{status['file_id']}")
    assert response.headers["content-type"] == "audio/wav"
    wav = soundfile.info(io.BytesIO(response.content))
    assert (wav.samplerate, wav.channels) == (24_000, 1)
    assert abs(wav.duration - info["duration"]) < 0.01
    assert info["lang_code"] == "a" and info["voice"] == "af_heart" and info["engine"] == "torch"
    assert [w["word"] for w in info["words"]] == [
        "The",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "the",
        "lazy",
        "dog",
        "Then",
        "it",
        "runs",
        "home",
    ]


def test_portuguese_text_is_spoken_with_a_portuguese_voice(torch_server: RunningServer) -> None:
    status, info = speak(torch_server, text=PORTUGUESE, voice="pf_dora")
    assert status["status"] == "ready"
    assert info["lang_code"] == "p"
    assert [w["word"] for w in info["words"]] == PORTUGUESE.split()
    assert info["duration"] > 1.0


def test_portuguese_long_text_is_spoken_entirely(torch_server: RunningServer) -> None:
    sentence = "Era uma vez, numa pequena aldeia à beira-mar, um pescador chamado João, que saía com o seu barco, "
    text = (sentence * 60)[:5000].rsplit(" ", 1)[0]
    assert len(text) > 4900 and text.count(".") == 0
    status, info = speak(torch_server, text=text, voice="pf_dora", speed="2.0")
    assert status["status"] == "ready", status
    words = info["words"]
    assert [w["word"] for w in words] == text.split()
    assert abs(words[-1]["end"] - info["duration"]) < 0.5
    wav, _ = download_wav(torch_server, status["file_id"])
    assert abs(wav.duration - info["duration"]) < 0.01


def test_faster_speed_gives_shorter_audio_and_float_speed_is_honoured(torch_server: RunningServer) -> None:
    _, normal = speak(torch_server, text=ENGLISH, voice="af_heart", speed="1.0")
    _, fast = speak(torch_server, text=ENGLISH, voice="af_heart", speed="1.5")
    assert fast["speed"] == 1.5
    assert fast["duration"] < normal["duration"] * 0.8


def test_mp3_output_is_an_mp3_file(torch_server: RunningServer) -> None:
    status, info = speak(torch_server, text=ENGLISH, format="mp3")
    response = torch_server.client.get(f"/api/v1/media/storage/{status['file_id']}")
    assert response.headers["content-type"] == "audio/mpeg"
    head = response.content[:3]
    assert head == b"ID3" or (head[0] == 0xFF and head[1] & 0xE0 == 0xE0)
    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", "-"],
        input=response.content,
        capture_output=True,
    )
    assert b"Audio: mp3" in probe.stderr
    assert info["format"] == "mp3"


def test_word_timestamps_are_monotonic_and_inside_the_audio(torch_server: RunningServer) -> None:
    _, info = speak(torch_server, text=ENGLISH + " " + ENGLISH, voice="bf_emma")
    words = info["words"]
    assert len(words) == 26
    for word in words:
        assert 0 <= word["start"] < word["end"] <= info["duration"] + 1e-6
    for before, after in itertools.pairwise(words):
        assert after["start"] >= before["end"] - 1e-6


def test_bad_inputs_get_clear_json_errors(server_factory) -> None:
    server = server_factory(max_text_chars=200)
    cases = [
        ({"text": ""}, 422, "text"),
        ({"text": "   "}, 400, "empty"),
        ({"text": "hello", "voice": "zz_nobody"}, 422, "af_heart"),
        ({"text": "hello", "speed": "0"}, 422, "speed"),
        ({"text": "hello", "speed": "9"}, 422, "speed"),
        ({"text": "hello", "speed": "fast"}, 422, "speed"),
        ({"text": "hello", "format": "xyz"}, 422, "format"),
        ({"text": "hello", "lang_code": "q"}, 422, "lang_code"),
        ({"text": "x" * 201}, 413, "MAX_TEXT_CHARS"),
    ]
    for fields, code, mentions in cases:
        response = server.client.post(TTS, data=fields)
        assert response.status_code == code, (fields, response.text)
        assert mentions in response.json()["error"], (fields, response.json())
    assert server.services.jobs.recent(None, None, 100, 0) == []


def test_unknown_file_id_is_not_found(torch_server: RunningServer) -> None:
    response = torch_server.client.get("/api/v1/media/storage/0123456789abcdef0123456789abcdef/status")
    assert response.status_code == 404
    assert response.json()["status"] == "not_found"
    for bad in ("..%2F..%2Fetc%2Fpasswd", "nothex", "%2Fetc%2Fpasswd"):
        response = torch_server.client.get(f"/api/v1/media/storage/{bad}")
        assert response.status_code == 404
        assert "error" in response.json()


def test_burst_beyond_capacity_gets_429_with_retry_after(server_factory) -> None:
    server = server_factory(max_concurrent_tts=2, max_concurrent_heavy_tasks=3, max_queued_jobs=0)
    barrier = threading.Barrier(10)
    responses = []

    def post(index: int) -> None:
        barrier.wait()
        responses.append(server.client.post(TTS, data={"text": f"Request {index}. {ENGLISH * 3}"}))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(10)]
    with server.frozen_engine():  # the two admitted jobs hold their slots however slowly the posts come
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    codes = sorted(r.status_code for r in responses)
    assert codes == [202] * 2 + [429] * 8
    for response in responses:
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) >= 1
            assert "busy" in response.json()["error"]
    assert len(server.services.jobs.recent(None, None, 100, 0)) == 2
    for response in responses:
        if response.status_code == 202:
            assert server.wait_for(response.json()["file_id"])["status"] == "ready"


def test_caps_are_never_exceeded_and_queued_jobs_all_finish(server_factory) -> None:
    server = server_factory(max_concurrent_tts=2, max_concurrent_heavy_tasks=2, max_queued_jobs=6)
    with server.frozen_engine():  # no job ends before all eight are in: two run, six wait
        ids = [
            server.client.post(TTS, data={"text": f"Job number {i}. " + ENGLISH}).json()["file_id"] for i in range(8)
        ]
    statuses = [server.wait_for(file_id)["status"] for file_id in ids]
    assert statuses == ["ready"] * 8
    snapshot = server.services.admission.snapshot()
    assert snapshot["kinds"]["tts"]["peak_running"] == 2
    assert snapshot["heavy"]["peak_running"] == 2
    assert snapshot["kinds"]["tts"]["peak_queued"] >= 5
    assert snapshot["kinds"]["tts"]["running"] == 0 and snapshot["queued_total"] == 0


def test_api_answers_while_every_job_waits_on_the_engine(server_factory) -> None:
    server = server_factory(max_concurrent_tts=2)
    with server.frozen_engine():
        ids = [server.client.post(TTS, data={"text": f"{ENGLISH * 4} {i}."}).json()["file_id"] for i in range(2)]
        for _ in range(5):
            assert server.client.get("/health").json()["status"] == "ok"
            assert server.client.get(STATUS).status_code == 200
        statuses = [server.client.get(f"/api/v1/media/storage/{file_id}/status").json()["status"] for file_id in ids]
        assert statuses == ["processing", "processing"], "both jobs hold their slots while the API answers"
    for file_id in ids:
        assert server.wait_for(file_id)["status"] == "ready"


def test_job_whose_synthesis_fails_ends_failed_with_its_message(server_factory, tmp_path) -> None:
    broken = tmp_path / "ffmpeg"
    broken.write_text("#!/bin/sh\necho 'Unknown encoder libmp3lame' >&2\nexit 1\n")
    broken.chmod(0o755)
    server = server_factory(ffmpeg_binary=str(broken))
    response = server.client.post(TTS, data={"text": ENGLISH, "format": "mp3"})
    status = server.wait_for(response.json()["file_id"])
    assert status["status"] == "failed"
    assert "Unknown encoder libmp3lame" in status["error"]
    download = server.client.get(f"/api/v1/media/storage/{status['file_id']}")
    assert download.status_code == 409 and "failed" in download.json()["error"]
    assert list((server.settings.storage_path / "files").iterdir()) == []


def test_missing_weights_keep_the_server_up_and_answer_503(server_factory, tmp_path) -> None:
    server = server_factory(tts_engine="torch", kokoro_model_dir=tmp_path / "no-model-here")
    health = server.client.get("/health").json()
    assert health["tts"]["available"] is False
    assert "KOKORO_MODEL_DIR" in health["tts"]["reason"]
    response = server.client.post(TTS, data={"text": "hello"})
    assert response.status_code == 503
    assert "KOKORO_MODEL_DIR" in response.json()["error"]
    assert server.client.get(f"{TTS}/voices").status_code == 503


def test_voices_and_languages_are_listed(torch_server: RunningServer) -> None:
    voices = torch_server.client.get(f"{TTS}/voices").json()
    names = {v["name"] for v in voices["voices"] if v["installed"]}
    assert {"af_heart", "bf_emma", "pf_dora", "ef_dora", "ff_siwis"} <= names
    assert voices["default_voice"] == "af_heart"
    portuguese = torch_server.client.get(f"{TTS}/voices", params={"lang_code": "p"}).json()["voices"]
    assert [(v["name"], v["installed"]) for v in portuguese] == [
        ("pf_dora", True),
        ("pm_alex", False),
        ("pm_santa", False),
    ]
    languages = {entry["code"]: entry for entry in torch_server.client.get(f"{TTS}/languages").json()["languages"]}
    assert set(languages) == set("abefhipjz")
    assert all(languages[code]["available"] for code in "abefhip")


@pytest.mark.slow  # starts server.py three times
def test_invalid_settings_stop_startup_naming_the_variable(tmp_path) -> None:
    for variable, value in (("CPU_USAGE_LIMIT", "2"), ("MAX_CONCURRENT_TTS", "0"), ("MAX_QUEUED_JOBS", "many")):
        result = subprocess.run(
            [sys.executable, "server.py"],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", variable: value, "STORAGE_PATH": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=WAIT_S,
        )
        assert result.returncode == 2
        assert variable in result.stderr
