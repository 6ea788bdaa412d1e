"""Captions from speech through the HTTP API: the server's own real speech (ONNX Kokoro) heard by its Whisper,
a script aligned to it, a narration captioned from what is heard, and an existing video captioned.

One server with the real ONNX engine speaks once; its Whisper process, started by the first job, serves the
whole module. It hears with tiny.en (WHISPER_MODEL): on this voice multilingual base places word starts about
140 ms early (tiny.en: about 40 ms), and the alignment can be no closer than the words it is given.
Pictures are solid colour, so a burned caption is every pixel that is not that colour.
"""

import json
import statistics
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.config import Settings
from app.services.video.captions import parse_captions
from tests.support.hearing import align_word_starts
from tests.support.local_server import RunningServer
from tests.tools.conftest import FFMPEG, download, info_of, job_count, make_media, upload_id

ALIGN = "/api/v1/media/audio-tools/align-script"
CAPTIONED = "/api/v1/media/video-tools/generate/tts-captioned-video"
ADD_CAPTIONS = "/api/v1/media/video-tools/add-captions"
TTS = "/api/v1/media/audio-tools/tts/kokoro"
SCRIPT = "The weather is nice today, so we will walk to the park. Please send the report before noon on Friday."
STYLISED = "The weather is NICE today; so we'll walk to the park! Please send the report before noon on Friday…"
"""The same words as SCRIPT, written another way: captions from a script keep its spelling."""
W, H = 320, 240
BACKGROUND = (40, 80, 160)
SRT = "1\n00:00:00,300 --> 00:00:02,000\nGiven captions\n"


@pytest.fixture(scope="module")
def speech_server(slow_tier: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = Settings(
        storage_path=tmp_path_factory.mktemp("captions-media"),
        tts_engine="onnx",
        whisper_model="tiny.en",
        cpu_usage_limit=1.0,
        max_queued_jobs=20,
    )
    server = RunningServer(settings)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def clips(speech_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """SCRIPT spoken (with the engine's own word times), a solid-colour picture, that picture as a video with
    the speech as its sound, the same video silent, and an image."""
    folder = tmp_path_factory.mktemp("captions-clips")
    spoken = speech_server.client.post(TTS, data={"text": SCRIPT, "lang_code": "a", "wait": "true"})
    assert spoken.status_code == 200, spoken.text
    speech = folder / "speech.wav"
    speech.write_bytes(spoken.content)
    speech_id = spoken.headers["x-file-id"]
    colour = "0x{:02x}{:02x}{:02x}".format(*BACKGROUND)
    still, talking, silent = folder / "still.png", folder / "talking.mp4", folder / "silent.mp4"
    make_media("-f", "lavfi", "-i", f"color=c={colour}:s={W}x{H}", "-frames:v", "1", str(still))
    video = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
    make_media(
        *("-f", "lavfi", "-i", f"color=c={colour}:s={W}x{H}:r=25", "-i", str(speech)),
        *(*video, "-c:a", "aac", "-b:a", "96k", "-shortest", str(talking)),
    )
    make_media("-f", "lavfi", "-i", f"color=c={colour}:s={W}x{H}:r=25:d=1", *video, str(silent))
    return {
        "speech": speech_id,
        "speech_words": info_of(speech_server, speech_id)["words"],
        "still": upload_id(speech_server, still, "image"),
        "talking_path": talking,
        "talking": upload_id(speech_server, talking, "video"),
        "silent": upload_id(speech_server, silent, "video"),
    }


def run_ready(server: RunningServer, route: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Submit a job, wait for it to be ready; its `/info`."""
    response = server.client.post(route, data={key: str(value) for key, value in fields.items()})
    assert response.status_code == 202, response.text
    status = server.wait_for(response.json()["file_id"])
    assert status["status"] == "ready", status
    return info_of(server, status["file_id"])


def frame(path: Path, seconds: float) -> np.ndarray:
    cmd = FFMPEG.command("-v", "error", "-ss", f"{seconds:.3f}", "-i", str(path), "-frames:v", "1")
    raw = subprocess.run([*cmd, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(H, W, 3).astype(np.int16)


def drawn(picture: np.ndarray, rows: slice) -> float:
    """Share of the pixels in `rows` that are not the background colour (a burned caption's)."""
    return float((np.abs(picture[rows] - np.array(BACKGROUND)).max(axis=2) > 40).mean())


def assert_captions_burned_while_speaking(video: Path, words: list[dict[str, Any]]) -> None:
    middle = words[len(words) // 2]
    picture = frame(video, (middle["start"] + middle["end"]) / 2)
    assert drawn(picture, slice(H * 3 // 4, H)) > 0.01
    assert drawn(picture, slice(0, H // 2)) < 0.001


def audio_md5(path: Path) -> str:
    done = subprocess.run(
        FFMPEG.command("-v", "error", "-i", str(path), "-map", "0:a", "-c", "copy", "-f", "md5", "-"),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def assert_in_order_inside(words: list[dict[str, Any]], duration: float) -> None:
    previous_end = 0.0
    for word in words:
        assert previous_end <= word["start"] <= word["end"] <= duration + 0.01, words
        previous_end = word["end"]


# ---------------------------------------------------------------- align-script


def test_aligned_script_words_start_where_the_engine_spoke_them(
    speech_server: RunningServer, clips: dict[str, Any]
) -> None:
    info = run_ready(speech_server, ALIGN, {"audio_id": clips["speech"], "text": SCRIPT})
    assert [word["word"] for word in info["words"]] == SCRIPT.split()
    assert info["word_count"] == len(SCRIPT.split()) and info["matched"] >= 0.8 * info["word_count"], info
    assert sum(word["matched"] for word in info["words"]) == info["matched"]
    assert_in_order_inside(info["words"], info["duration"])
    spoken = [(word["word"], word["start"]) for word in clips["speech_words"]]
    aligned = [(word["word"], word["start"], word["end"]) for word in info["words"]]
    distances = align_word_starts(spoken, aligned)
    assert len(distances) >= 0.8 * len(spoken), (spoken, aligned)
    assert statistics.median(distances) <= 0.1, statistics.median(distances)


def test_aligned_script_as_srt_and_json_files(
    speech_server: RunningServer, clips: dict[str, Any], tmp_path: Path
) -> None:
    srt_info = run_ready(speech_server, ALIGN, {"audio_id": clips["speech"], "text": STYLISED, "format": "srt"})
    srt = download(speech_server, srt_info["file_id"], tmp_path, "srt").read_text()
    assert [word.word for word in parse_captions(srt)] == STYLISED.split()
    json_info = run_ready(speech_server, ALIGN, {"audio_id": clips["talking"], "text": STYLISED, "language": "en"})
    body = json.loads(download(speech_server, json_info["file_id"], tmp_path, "json").read_text())
    assert body["words"] == json_info["words"] and body["matched"] == json_info["matched"] >= 14
    assert body["language"] == "en" and body["text"] == " ".join(STYLISED.split())


# ---------------------------------------------------------------- the captioned narration video


def test_an_uploaded_narration_alone_is_captioned_with_what_is_heard(
    speech_server: RunningServer, clips: dict[str, Any], tmp_path: Path
) -> None:
    fields = {"background_id": clips["still"], "audio_id": clips["speech"], "width": W, "height": H}
    info = run_ready(speech_server, CAPTIONED, {**fields, "image_effect": "none"})
    assert (info["captions_source"], info["captioned"], info["language"]) == ("transcribed", True, "en"), info
    heard = " ".join(word["word"] for word in info["words"]).lower()
    assert "weather" in heard and "park" in heard, heard
    assert_in_order_inside(info["words"], info["narration_duration"])
    assert_captions_burned_while_speaking(download(speech_server, info["file_id"], tmp_path, "mp4"), info["words"])


def test_a_narration_with_its_script_is_captioned_in_the_scripts_spelling(
    speech_server: RunningServer, clips: dict[str, Any], tmp_path: Path
) -> None:
    fields = {"background_id": clips["still"], "audio_id": clips["speech"], "text": STYLISED, "lang_code": "a"}
    info = run_ready(speech_server, CAPTIONED, {**fields, "width": W, "height": H, "image_effect": "none"})
    assert (info["captions_source"], info["captioned"]) == ("aligned", True), info
    assert [word["word"] for word in info["words"]] == STYLISED.split()
    assert info["matched"] >= 14, info
    assert_in_order_inside(info["words"], info["narration_duration"])
    assert_captions_burned_while_speaking(download(speech_server, info["file_id"], tmp_path, "mp4"), info["words"])


# ---------------------------------------------------------------- add-captions


def test_a_talking_video_gets_the_captions_it_speaks_and_keeps_its_sound_bit_for_bit(
    speech_server: RunningServer, clips: dict[str, Any], tmp_path: Path
) -> None:
    info = run_ready(speech_server, ADD_CAPTIONS, {"video_id": clips["talking"], "caption_config_font_size": 90})
    assert (info["captions_source"], info["audio"], info["width"], info["height"]) == ("transcribed", "copied", W, H)
    assert "park" in " ".join(word["word"] for word in info["words"]).lower(), info["words"]
    captioned = download(speech_server, info["file_id"], tmp_path, "mp4")
    assert_captions_burned_while_speaking(captioned, info["words"])
    assert audio_md5(captioned) == audio_md5(clips["talking_path"])
    assert abs(FFMPEG.probe(captioned).duration - FFMPEG.probe(clips["talking_path"]).duration) < 0.1


def test_given_captions_are_burned_without_hearing_the_video(
    speech_server: RunningServer, clips: dict[str, Any], tmp_path: Path
) -> None:
    fields = {"video_id": clips["talking"], "captions": SRT, "caption_config_subtitle_position": "top"}
    info = run_ready(speech_server, ADD_CAPTIONS, fields)
    assert info["captions_source"] == "given" and "words" not in info
    picture = frame(download(speech_server, info["file_id"], tmp_path, "mp4"), 1.0)
    assert drawn(picture, slice(0, H // 4)) > 0.01 and drawn(picture, slice(H // 2, H)) < 0.001


def test_every_caption_config_field_is_taken_and_the_karaoke_highlight_follows_the_spoken_word(
    speech_server: RunningServer, clips: dict[str, Any], tmp_path: Path
) -> None:
    words = [{"word": "HIGH", "start": 0.2, "end": 1.2}, {"word": "LIGHT", "start": 1.2, "end": 2.4}]
    style = {
        "caption_config_line_count": 1,
        "caption_config_line_max_length": 20,
        "caption_config_font_size": 110,
        "caption_config_font_name": "lato",
        "caption_config_font_bold": "true",
        "caption_config_font_italic": "true",
        "caption_config_font_color": "#FFFFFF",
        "caption_config_subtitle_position": "center",
        "caption_config_shadow_color": "#000000",
        "caption_config_shadow_transparency": 0.5,
        "caption_config_shadow_blur": 1,
        "caption_config_stroke_color": "#000000",
        "caption_config_stroke_size": 2,
        "caption_config_highlight_color": "#FFFF00",
    }
    fields = {"video_id": clips["talking"], "captions": json.dumps(words), **style}
    video = download(speech_server, run_ready(speech_server, ADD_CAPTIONS, fields)["file_id"], tmp_path, "mp4")
    first, second = frame(video, 0.7), frame(video, 1.8)
    middle, bottom = slice(H // 3, H * 2 // 3), slice(H * 3 // 4, H)
    assert drawn(first, middle) > 0.01 and drawn(first, bottom) < 0.001
    left, right = (slice(None), slice(0, W // 2)), (slice(None), slice(W // 2, W))
    assert yellow(first[middle][left]) > 5 * max(1, yellow(first[middle][right]))
    assert yellow(second[middle][right]) > 5 * max(1, yellow(second[middle][left]))


def yellow(pixels: np.ndarray) -> int:
    """How many pixels are the highlight colour (#FFFF00), not the white text or its black outline."""
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return int(((red > 180) & (green > 180) & (blue < 100)).sum())


# ---------------------------------------------------------------- bad requests


def test_bad_caption_requests_name_the_field_and_start_no_job(
    speech_server: RunningServer, clips: dict[str, Any]
) -> None:
    jobs_before = job_count(speech_server)
    speech, still, silent = clips["speech"], clips["still"], clips["silent"]
    narration = {"background_id": still, "audio_id": speech}
    cases = [
        (ALIGN, {"audio_id": still, "text": SCRIPT}, 400, "audio_id"),
        (ALIGN, {"audio_id": silent, "text": SCRIPT}, 400, "audio_id"),
        (ALIGN, {"audio_id": speech, "text": "  "}, 400, "text"),
        (ALIGN, {"audio_id": speech, "text": " — … "}, 400, "text"),
        (ALIGN, {"audio_id": speech}, 400, "text"),
        (ALIGN, {"audio_id": speech, "text": SCRIPT, "language": "xx"}, 400, "language"),
        (ALIGN, {"audio_id": speech, "text": SCRIPT, "format": "txt"}, 422, "format"),
        (ALIGN, {"audio_id": "0" * 32, "text": SCRIPT}, 404, "audio_id"),
        (CAPTIONED, {"background_id": still, "audio_id": still}, 400, "audio_id"),
        (CAPTIONED, {**narration, "text": SCRIPT, "captions": SRT}, 400, "not both"),
        (CAPTIONED, {**narration, "lang_code": "q"}, 422, "lang_code"),
        (CAPTIONED, {"background_id": still}, 400, "audio_id"),
        (ADD_CAPTIONS, {"video_id": silent}, 400, "video_id"),
        (ADD_CAPTIONS, {"video_id": still}, 400, "video_id"),
        (ADD_CAPTIONS, {"video_id": speech}, 400, "video_id"),
        (ADD_CAPTIONS, {"video_id": clips["talking"], "captions": "not captions"}, 400, "captions"),
        (ADD_CAPTIONS, {"video_id": clips["talking"], "language": "klingon"}, 400, "language"),
        (
            ADD_CAPTIONS,
            {"video_id": clips["talking"], "caption_config_font_color": "red"},
            400,
            "caption_config_font_color",
        ),
        (
            ADD_CAPTIONS,
            {"video_id": clips["talking"], "caption_config_highlight_color": "gold"},
            400,
            "caption_config_highlight_color",
        ),
        (
            ADD_CAPTIONS,
            {"video_id": clips["talking"], "caption_config_line_count": "9"},
            400,
            "caption_config_line_count",
        ),
        (ADD_CAPTIONS, {"video_id": clips["talking"], "caption_config_font_name": "Nope"}, 422, "Lato"),
    ]
    for route, fields, code, field in cases:
        response = speech_server.client.post(route, data=fields)
        assert response.status_code == code, (route, fields, response.text)
        assert field in response.json()["error"], (route, fields, response.text)
    assert job_count(speech_server) == jobs_before
