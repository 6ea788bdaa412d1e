"""OpenAI-compatible speech in: the official `openai` client, pointed at this server's `/v1`, hears the
server's own real speech (ONNX Kokoro) through `/v1/audio/transcriptions` and `/v1/audio/translations`.

The languages are named in every request: a busy machine may misdetect a short clip."""

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import ServerFactory
from tests.support.hearing import wer
from tests.support.local_server import RunningServer
from tests.support.waits import WAIT_S
from tests.tools.conftest import info_of, job_count, make_media

TTS = "/api/v1/media/audio-tools/tts/kokoro"
JOB_ROUTE = "/api/v1/media/audio-tools/transcribe"
TRANSCRIPTIONS = "/v1/audio/transcriptions"
ENGLISH = "The weather is nice today, so we will walk to the park. Please send the report to my office before noon."
PORTUGUESE = "Bom dia a todos. Hoje vamos falar sobre a história da cidade e os seus monumentos mais bonitos."
PORTUGUESE_IN_ENGLISH = {"good", "morning", "today", "talk", "city", "history", "beautiful", "monuments"}
TRANSLATIONS_DEPRECATED = pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")
"""openai 3.x marks `audio.translations` deprecated (OpenAI's own endpoint is); n8n and others still call it."""
SEGMENT_KEYS = [
    *("id", "seek", "start", "end", "text", "tokens"),
    *("temperature", "avg_logprob", "compression_ratio", "no_speech_prob"),
]


@pytest.fixture(scope="module")
def clips(onnx_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """English and Portuguese speech from the ONNX engine (files here, and their ids on the server), an image."""
    folder = tmp_path_factory.mktemp("openai-stt")
    clips: dict[str, Any] = {}
    for name, fields in (
        ("english", {"text": ENGLISH, "lang_code": "a"}),
        ("portuguese", {"text": PORTUGUESE, "voice": "jf_alpha", "lang_code": "p"}),
    ):
        response = onnx_server.client.post(TTS, data={**fields, "wait": "true"})
        assert response.status_code == 200, response.text
        (folder / f"{name}.wav").write_bytes(response.content)
        clips[name], clips[f"{name}_id"] = folder / f"{name}.wav", response.headers["x-file-id"]
    clips["image"] = folder / "still.png"
    make_media("-f", "lavfi", "-i", "testsrc2=s=160x120", "-frames:v", "1", str(clips["image"]))
    return clips


@pytest.fixture(scope="module")
def client(onnx_server: RunningServer) -> Iterator[openai.OpenAI]:
    """The official client as a user sets it up: base URL `http://HOST:PORT/v1`, any key, no retries."""
    with openai.OpenAI(base_url=f"{onnx_server.base_url}/v1", api_key="unused", max_retries=0, timeout=WAIT_S) as made:
        yield made


def transcribe(client: openai.OpenAI, audio: Path, fmt: str, **options: Any) -> Any:
    with audio.open("rb") as file:
        return client.audio.transcriptions.create(
            model="whisper-1", file=file, response_format=fmt, language="en", **options
        )


def translate(client: openai.OpenAI, audio: Path, fmt: str) -> Any:
    with audio.open("rb") as file:  # translations take no language: a busy machine may misdetect, so it is named
        return client.audio.translations.create(
            model="whisper-1", file=file, response_format=fmt, extra_body={"language": "pt"}
        )


def caption_words(captions: str) -> str:
    """The spoken text of an SRT or WebVTT file: every line that is not a header, a number or a time."""
    lines = [line for line in captions.splitlines() if line.strip() and "-->" not in line]
    return " ".join(line for line in lines if not line.strip().isdigit() and line != "WEBVTT")


def test_the_openai_client_transcribes_english_speech_in_every_response_format(
    client: openai.OpenAI, clips: dict[str, Any], onnx_server: RunningServer
) -> None:
    plain = transcribe(client, clips["english"], "json")
    assert wer(ENGLISH, plain.text) <= 0.2, plain.text
    text = transcribe(client, clips["english"], "text")
    assert isinstance(text, str) and wer(ENGLISH, text) <= 0.2, text
    srt = transcribe(client, clips["english"], "srt")
    assert srt.startswith("1\n00:00:") and wer(ENGLISH, caption_words(srt)) <= 0.2, srt
    vtt = transcribe(client, clips["english"], "vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:") and wer(ENGLISH, caption_words(vtt)) <= 0.2, vtt
    verbose = transcribe(client, clips["english"], "verbose_json").model_dump()
    assert verbose["language"] == "english" and wer(ENGLISH, verbose["text"]) <= 0.2, verbose
    spoken = info_of(onnx_server, clips["english_id"])["duration"]
    assert abs(verbose["duration"] - spoken) < 0.05 and verbose["task"] == "transcribe"
    segments = verbose["segments"]
    assert segments and all(set(segment) == set(SEGMENT_KEYS) for segment in segments), segments
    assert [segment["id"] for segment in segments] == list(range(len(segments)))
    assert all(segment["tokens"] and segment["avg_logprob"] < 0 for segment in segments), segments
    assert verbose["words"] is None  # asked for segments only (OpenAI's default granularity)


def test_raw_answers_have_openais_content_types_and_json_has_only_text(
    onnx_server: RunningServer, clips: dict[str, Any]
) -> None:
    types = {}
    for fmt in ("json", "text", "srt", "vtt", "verbose_json"):
        with clips["english"].open("rb") as file:
            answer = onnx_server.client.post(
                TRANSCRIPTIONS,
                data={"model": "whisper-1", "response_format": fmt, "language": "en"},
                files={"file": file},
            )
        assert answer.status_code == 200, answer.text
        types[fmt] = answer.headers["content-type"]
        if fmt == "json":
            assert list(answer.json()) == ["text"]
        if fmt == "verbose_json":
            body = answer.json()
            assert list(body) == ["task", "language", "duration", "text", "segments"]
            assert all(list(segment) == SEGMENT_KEYS for segment in body["segments"]), body
    assert types["json"] == types["verbose_json"] == "application/json"
    assert all(types[fmt].startswith("text/plain") for fmt in ("text", "srt", "vtt")), types


@TRANSLATIONS_DEPRECATED
def test_the_openai_client_translates_portuguese_speech_into_english_in_every_response_format(
    client: openai.OpenAI, clips: dict[str, Any]
) -> None:
    texts = {
        "json": translate(client, clips["portuguese"], "json").text,
        "text": translate(client, clips["portuguese"], "text"),
        "srt": caption_words(translate(client, clips["portuguese"], "srt")),
        "vtt": caption_words(translate(client, clips["portuguese"], "vtt")),
    }
    verbose = translate(client, clips["portuguese"], "verbose_json").model_dump()
    assert verbose["task"] == "translate" and verbose["language"] == "portuguese" and verbose["segments"], verbose
    texts["verbose_json"] = verbose["text"]
    for fmt, text in texts.items():
        words = set(re.findall(r"[a-z]+", text.lower()))
        assert len(words & PORTUGUESE_IN_ENGLISH) >= 4, (fmt, text)
        assert not words & {"bom", "dia", "hoje", "falar", "cidade", "monumentos", "bonitos"}, (fmt, text)


def idle(server: RunningServer) -> None:
    """Wait until the shared server runs no heavy work, so that the next transcription gets the whole share of
    threads (Whisper's times depend, in the last digits, on how many threads decode)."""
    deadline = time.monotonic() + WAIT_S
    while server.services.admission.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not server.services.admission.running(), "the shared server stayed busy"


def test_verbose_json_word_timestamps_match_the_transcription_jobs_words(
    client: openai.OpenAI, onnx_server: RunningServer, clips: dict[str, Any]
) -> None:
    idle(onnx_server)
    verbose = transcribe(client, clips["english"], "verbose_json", timestamp_granularities=["word", "segment"])
    idle(onnx_server)
    job = onnx_server.client.post(JOB_ROUTE, data={"audio_id": clips["english_id"], "language": "en"})
    assert job.status_code == 202, job.text
    assert onnx_server.wait_for(job.json()["file_id"])["status"] == "ready"
    job_words = info_of(onnx_server, job.json()["file_id"])["words"]
    assert job_words and verbose.words and verbose.segments
    assert [(w.word, w.start, w.end) for w in verbose.words] == [(w["word"], w["start"], w["end"]) for w in job_words]


def test_litellms_plain_timestamp_granularities_array_is_accepted(
    onnx_server: RunningServer, clips: dict[str, Any]
) -> None:
    fields = {"model": "whisper-1", "language": "en", "response_format": "verbose_json"}
    for granularities in (["word", "segment"], json.dumps(["word", "segment"])):  # repeated fields; a JSON array
        data = {**fields, "timestamp_granularities": granularities}
        with clips["english"].open("rb") as file:
            answer = onnx_server.client.post(TRANSCRIPTIONS, data=data, files={"file": file})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["words"] and body["segments"], body
        assert wer(ENGLISH, " ".join(word["word"] for word in body["words"])) <= 0.2, body


def test_bad_inputs_are_refused_naming_the_field_and_start_no_work(
    onnx_server: RunningServer, client: openai.OpenAI, clips: dict[str, Any]
) -> None:
    jobs_before = job_count(onnx_server)
    audio = clips["english"].read_bytes()
    cases: list[tuple[dict[str, str], Any, str]] = [
        ({"model": "whisper-1"}, None, "file"),
        ({"model": "whisper-1"}, ("still.png", clips["image"].read_bytes()), "file"),
        ({"model": "whisper-1"}, ("empty.wav", b""), "file"),
        ({"response_format": "docx"}, ("a.wav", audio), "response_format"),
        ({"timestamp_granularities[]": "sentence"}, ("a.wav", audio), "timestamp_granularities"),
        ({"temperature": "3"}, ("a.wav", audio), "temperature"),
        ({"temperature": "warm"}, ("a.wav", audio), "temperature"),
        ({"language": "klingon"}, ("a.wav", audio), "language"),
        ({"file": "not a file"}, None, "file"),
    ]
    for fields, upload, field in cases:
        files = {"file": upload} if upload else None
        response = onnx_server.client.post(TRANSCRIPTIONS, data=fields, files=files)
        assert response.status_code == 400, (fields, response.text)
        assert field in response.json()["error"], response.text
    with pytest.raises(openai.BadRequestError) as refused:
        transcribe(client, clips["english"], "docx")
    assert "response_format" in str(refused.value.body)  # the client keeps the server's sentence as the body
    assert job_count(onnx_server) == jobs_before


@TRANSLATIONS_DEPRECATED
def test_a_busy_server_answers_429_with_retry_after_and_the_client_raises_rate_limit(
    server_factory: ServerFactory, clips: dict[str, Any]
) -> None:
    server = server_factory(max_queued_jobs=0)
    with server.hold_slot("stt"):
        with clips["english"].open("rb") as file:
            response = server.client.post(TRANSCRIPTIONS, data={"model": "whisper-1"}, files={"file": file})
        assert response.status_code == 429, response.text
        assert int(response.headers["retry-after"]) >= 1 and response.json()["error"]
        with (
            openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0) as busy,
            pytest.raises(openai.RateLimitError),
            clips["english"].open("rb") as file,
        ):
            busy.audio.translations.create(model="whisper-1", file=file)
    assert job_count(server) == 0


def test_an_upload_over_max_upload_mb_is_refused_with_413(server_factory: ServerFactory, tmp_path: Path) -> None:
    server = server_factory(max_upload_mb=1)
    big = tmp_path / "big.wav"
    make_media("-f", "lavfi", "-i", "anoisesrc=d=40:r=16000", "-c:a", "pcm_s16le", str(big))  # 1.28 MB
    with big.open("rb") as file:
        response = server.client.post(TRANSCRIPTIONS, data={"model": "whisper-1"}, files={"file": file})
    assert response.status_code == 413 and "MAX_UPLOAD_MB" in response.json()["error"], response.text


def test_clients_that_list_first_find_the_speech_and_transcription_models_and_the_voices(
    client: openai.OpenAI, onnx_server: RunningServer
) -> None:
    models = {model.id: model for model in client.models.list()}
    assert {"whisper-1", "tts-1", "kokoro"} <= models.keys(), models
    assert all(model.object == "model" and model.owned_by for model in models.values())
    voices = onnx_server.client.get("/v1/audio/voices").json()
    assert voices["voices"] and voices["default_voice"] in voices["voices"], voices


def test_the_openai_client_sends_the_api_key_as_a_bearer_token(
    server_factory: ServerFactory, clips: dict[str, Any]
) -> None:
    server = server_factory(api_key="s3cret")
    base_url = f"{server.base_url}/v1"
    with (
        openai.OpenAI(base_url=base_url, api_key="wrong", max_retries=0) as stranger,
        pytest.raises(openai.AuthenticationError),
        clips["english"].open("rb") as file,
    ):
        stranger.audio.transcriptions.create(model="whisper-1", file=file)
    with openai.OpenAI(base_url=base_url, api_key="s3cret", max_retries=0) as owner:
        assert "whisper-1" in {model.id for model in owner.models.list()}
    response = httpx.post(f"{base_url}/audio/transcriptions", data={"model": "whisper-1"})
    assert response.status_code == 401
