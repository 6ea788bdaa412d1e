"""Transcription through the HTTP API: the server hears its own real speech (ONNX Kokoro) with Whisper.

One server with the real ONNX engine speaks a few short clips once; its Whisper process, started by the first
transcription, serves the whole module. The stories that need other settings use the torch test servers.
"""

import logging
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from app.services.model_files import sha256_of
from app.services.stt.model import assemble_base, digest_file
from app.services.video.captions import parse_captions
from tests.conftest import ServerFactory
from tests.support.cli_server import ended, wait_until
from tests.support.hearing import wer
from tests.support.local_server import RunningServer
from tests.support.waits import WAIT_S
from tests.tools.conftest import download, info_of, job_count, make_media, upload_id

ROUTE = "/api/v1/media/audio-tools/transcribe"
TTS = "/api/v1/media/audio-tools/tts/kokoro"
ENGLISH = "The weather is nice today, so we will walk to the park. Please send the report to my office before noon."
PORTUGUESE = "Bom dia a todos. Hoje vamos falar sobre a história da cidade e os seus monumentos mais bonitos."
SENTENCE_END = re.compile(r"[.!?](?=\s)")


@pytest.fixture(scope="module")
def speech_server(onnx_server: RunningServer) -> RunningServer:
    return onnx_server


def speak(server: RunningServer, folder: Path, name: str, **fields: str) -> str:
    """Real speech from the ONNX engine, kept on the server and as `folder/name.wav`; its file id."""
    response = server.client.post(TTS, data={**fields, "wait": "true"})
    assert response.status_code == 200, response.text
    (folder / f"{name}.wav").write_bytes(response.content)
    return response.headers["x-file-id"]


@pytest.fixture(scope="module")
def clips(speech_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """English and Portuguese speech, a video with the English speech as its sound, a silent video, an image."""
    folder = tmp_path_factory.mktemp("stt-clips")
    english = speak(speech_server, folder, "english", text=ENGLISH, lang_code="a")
    portuguese = speak(speech_server, folder, "portuguese", text=PORTUGUESE, voice="jf_alpha", lang_code="p")
    talking, silent, image = folder / "talking.mp4", folder / "silent.mp4", folder / "still.png"
    video = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
    make_media(
        *("-f", "lavfi", "-i", "testsrc2=s=160x120:r=25", "-i", str(folder / "english.wav")),
        *(*video, "-c:a", "aac", "-shortest", str(talking)),
    )
    make_media("-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=1", *video, str(silent))
    make_media("-f", "lavfi", "-i", "testsrc2=s=160x120", "-frames:v", "1", str(image))
    return {
        "english": english,
        "portuguese": portuguese,
        "english_wav": folder / "english.wav",
        "talking": upload_id(speech_server, talking, "video"),
        "silent": upload_id(speech_server, silent, "video"),
        "image": upload_id(speech_server, image, "image"),
    }


def transcribe(server: RunningServer, **fields: str) -> dict[str, Any]:
    """A transcription job run to the end; its `/info`."""
    response = server.client.post(ROUTE, data=fields)
    assert response.status_code == 202, response.text
    status = server.wait_for(response.json()["file_id"])
    assert status["status"] == "ready", status
    return info_of(server, status["file_id"])


def captions_of(server: RunningServer, **fields: str) -> tuple[str, str]:
    """A caption file asked with wait=true: its text and content type."""
    response = server.client.post(ROUTE, data={**fields, "wait": "true"})
    assert response.status_code == 200, response.text
    return response.text, response.headers["content-type"]


def cue_texts(captions: str) -> list[list[str]]:
    """The text lines of each cue of an SRT or WebVTT file."""
    blocks = re.split(r"\n\s*\n", captions.strip())
    cues = []
    for block in blocks:
        lines = block.splitlines()
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing is not None:
            cues.append(lines[timing + 1 :])
    return cues


def assert_cues_are_short_and_end_at_sentences(captions: str) -> None:
    cues = cue_texts(captions)
    assert len(cues) >= 2, captions  # two sentences: two cues at least
    for lines in cues:
        assert 1 <= len(lines) <= 2 and all(len(line) <= 42 for line in lines), lines
        assert not SENTENCE_END.search(" ".join(lines)), f"a sentence ends inside the cue {lines}"


def test_english_speech_is_heard_in_a_whisper_process_started_by_the_first_transcription(
    speech_server: RunningServer, clips: dict[str, Any]
) -> None:
    whisper = speech_server.services.stt.process
    deadline = time.monotonic() + WAIT_S  # the session's server may have heard speech for another module, and
    while whisper is not None and whisper.pid is not None and time.monotonic() < deadline:  # may still be
        if not whisper.unload():  # hearing it: start afresh once its call has ended
            time.sleep(0.1)
    before = speech_server.client.get("/health").json()["stt"]
    assert before["available"] and before["model"] == "base" and not before["loaded"], before
    info = transcribe(speech_server, audio_id=clips["english"], dedup="false")  # other modules heard the same
    assert info["language"] == "en" and info["media_type"] == "application/json"
    assert wer(ENGLISH, info["text"]) <= 0.2, info["text"]
    assert [segment["text"] for segment in info["segments"]] and info["words"]
    after = speech_server.client.get("/health").json()["stt"]
    assert after["loaded"] and after["pid"] not in (None, os.getpid()), after
    assert os.getpriority(os.PRIO_PROCESS, after["pid"]) == speech_server.settings.heavy_nice


def test_word_times_follow_each_other_inside_the_audio(speech_server: RunningServer, clips: dict[str, Any]) -> None:
    info = transcribe(speech_server, audio_id=clips["english"])
    spoken = info_of(speech_server, clips["english"])["duration"]
    assert abs(info["duration"] - spoken) < 0.05
    starts = [word["start"] for word in info["words"]]
    assert starts == sorted(starts)
    assert all(0 <= word["start"] <= word["end"] <= info["duration"] + 0.01 for word in info["words"])
    assert all(0.0 <= word["probability"] <= 1.0 for word in info["words"])
    assert wer(ENGLISH, " ".join(word["word"] for word in info["words"])) <= 0.2


def test_portuguese_speech_is_heard_in_portuguese(speech_server: RunningServer, clips: dict[str, Any]) -> None:
    info = transcribe(speech_server, audio_id=clips["portuguese"], language="pt")
    assert info["language"] == "pt"
    assert wer(PORTUGUESE, info["text"], lang="pt") <= 0.2, info["text"]


def test_srt_captions_parse_and_keep_to_two_lines_of_42_characters(
    speech_server: RunningServer, clips: dict[str, Any]
) -> None:
    srt, content_type = captions_of(speech_server, audio_id=clips["english"], format="srt")
    assert content_type.startswith("application/x-subrip") and srt.startswith("1\n00:00:")
    assert wer(ENGLISH, " ".join(word.word for word in parse_captions(srt))) <= 0.2, srt
    assert_cues_are_short_and_end_at_sentences(srt)


def test_a_videos_sound_becomes_webvtt_captions(speech_server: RunningServer, clips: dict[str, Any]) -> None:
    vtt, content_type = captions_of(speech_server, audio_id=clips["talking"], format="vtt")
    assert content_type.startswith("text/vtt") and vtt.startswith("WEBVTT\n\n00:00:")
    assert wer(ENGLISH, " ".join(word.word for word in parse_captions(vtt))) <= 0.2, vtt
    assert_cues_are_short_and_end_at_sentences(vtt)


def test_translate_gives_english_words_for_portuguese_speech(
    speech_server: RunningServer, clips: dict[str, Any], tmp_path: Path
) -> None:
    # the language is named: detection on a Japanese voice speaking Portuguese is a close call (it said `la`)
    info = transcribe(speech_server, audio_id=clips["portuguese"], task="translate", language="pt", format="txt")
    text = download(speech_server, info["file_id"], tmp_path, "txt").read_text()
    words = set(re.findall(r"[a-z]+", text.lower()))
    assert info["language"] == "pt" and info["task"] == "translate"
    assert len(words & {"good", "morning", "today", "talk", "city", "history", "beautiful", "monuments"}) >= 4, text
    assert not words & {"bom", "dia", "hoje", "falar", "cidade", "monumentos", "bonitos"}, text


def test_bad_transcription_requests_name_the_field_and_leave_no_job(
    speech_server: RunningServer, clips: dict[str, Any]
) -> None:
    jobs_before = job_count(speech_server)
    english = clips["english"]
    cases = [
        ({"audio_id": clips["image"]}, 400, "audio_id"),
        ({"audio_id": clips["silent"]}, 400, "audio_id"),
        ({"audio_id": "0" * 32}, 404, "audio_id"),
        ({}, 422, "audio_id"),
        ({"audio_id": english, "language": "xx"}, 400, "language"),
        ({"audio_id": english, "language": "klingon"}, 400, "language"),
        ({"audio_id": english, "task": "summarize"}, 422, "task"),
        ({"audio_id": english, "format": "docx"}, 422, "format"),
    ]
    for fields, code, field in cases:
        response = speech_server.client.post(ROUTE, data=fields)
        assert response.status_code == code, (fields, response.text)
        assert field in response.json()["error"], response.text
    assert job_count(speech_server) == jobs_before


def test_a_missing_model_directory_is_named_by_health_and_transcriptions_get_503(
    server_factory: ServerFactory, clips: dict[str, Any], tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-whisper"
    server = server_factory(whisper_model=str(missing))
    stt = server.client.get("/health").json()["stt"]
    assert not stt["available"] and str(missing) in stt["reason"] and "no such directory" in stt["reason"], stt
    audio_id = upload_id(server, clips["english_wav"], "audio")
    response = server.client.post(ROUTE, data={"audio_id": audio_id})
    assert response.status_code == 503 and str(missing) in response.json()["error"], response.text
    aligned = server.client.post("/api/v1/media/audio-tools/align-script", data={"audio_id": audio_id, "text": ENGLISH})
    assert aligned.status_code == 503 and str(missing) in aligned.json()["error"], aligned.text
    assert job_count(server) == 0


def test_a_model_that_fails_to_load_fails_its_job_then_health_says_why_and_requests_get_503(
    server_factory: ServerFactory, clips: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "model.bin").write_bytes(b"not a CTranslate2 model")
    server = server_factory(whisper_model=str(tmp_path))
    audio_id = upload_id(server, clips["english_wav"], "audio")
    response = server.client.post(ROUTE, data={"audio_id": audio_id})
    assert response.status_code == 202, response.text
    status = server.wait_for(response.json()["file_id"])
    assert status["status"] == "failed" and "could not be loaded" in status["error"], status
    stt = server.client.get("/health").json()["stt"]
    assert not stt["available"] and f"WHISPER_MODEL={tmp_path} could not be loaded" in stt["reason"], stt
    again = server.client.post(ROUTE, data={"audio_id": audio_id, "format": "srt"})
    assert again.status_code == 503 and "could not be loaded" in again.json()["error"], again.text


def test_a_truncated_whisper_model_is_joined_again_on_the_next_start(
    server_factory: ServerFactory, clips: dict[str, Any], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    model = assemble_base(cache) / "model.bin"
    size = model.stat().st_size
    with model.open("r+b") as file:
        file.truncate(size // 3)
    server = server_factory(model_cache_dir=cache)
    info = transcribe(server, audio_id=upload_id(server, clips["english_wav"], "audio"), format="txt")
    assert wer(ENGLISH, info["text"]) <= 0.2, info["text"]
    assert model.stat().st_size == size
    assert digest_file(model).read_text() == sha256_of(model)


def test_a_busy_stt_slot_answers_429_with_retry_after_and_starts_nothing(
    server_factory: ServerFactory, clips: dict[str, Any]
) -> None:
    server = server_factory(max_queued_jobs=0)
    audio_id = upload_id(server, clips["english_wav"], "audio")
    with server.hold_slot("stt"):
        response = server.client.post(ROUTE, data={"audio_id": audio_id})
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1 and "error" in response.json()
    assert job_count(server) == 0


def test_an_idle_whisper_process_is_unloaded_and_the_next_transcription_loads_it_again(
    server_factory: ServerFactory, clips: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.child")
    server = server_factory(whisper_model="tiny.en", stt_idle_unload_s=0.5)
    audio_id = upload_id(server, clips["english_wav"], "audio")

    first = transcribe(server, audio_id=audio_id, format="txt")
    pid = whisper_pids(caplog)[0]
    wait_until(lambda: ended(pid), "the idle Whisper process to be unloaded")
    assert server.client.get("/health").json()["stt"]["loaded"] is False

    again = transcribe(server, audio_id=audio_id, format="txt", dedup="false")  # a new job, not the first reused
    assert wer(ENGLISH, first["text"]) <= 0.2 and again["text"] == first["text"], (first["text"], again["text"])
    assert whisper_pids(caplog)[1] != pid
    assert server.services.stt.process is not None and server.services.stt.process.restarts == 0


def whisper_pids(caplog: pytest.LogCaptureFixture) -> list[int]:
    """The pids of the Whisper processes started so far, from their "ready" log lines."""
    found = (re.fullmatch(r"speech recognizer process (\d+) ready", message) for message in caplog.messages)
    return [int(match.group(1)) for match in found if match]
