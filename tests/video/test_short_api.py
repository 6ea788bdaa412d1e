"""Shorts through the real HTTP API: scenes narrated by the random-weight Kokoro model over solid colours,
joined, captioned with each preset, music ducked under the voice (measured in the mix), and the preview."""

import json
import subprocess
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import RunningServer
from tests.video.conftest import FFMPEG, make_media

UPLOAD = "/api/v1/media/storage"
SHORT = "/api/v1/media/video-tools/generate/short"
PREVIEW = "/api/v1/media/video-tools/preview"
PRESETS = "/api/v1/media/video-tools/caption-presets"
W, H = 320, 568
FRAME_S = 1 / 25
COLOURS = {"red": (255, 0, 0), "green": (0, 128, 0), "blue": (0, 0, 255)}
SAMPLE_RATE = 48000


@pytest.fixture(scope="module")
def short_ids(torch_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Solid-colour backgrounds, a 220 Hz music loop, and a narration that is a 1 kHz tone for 1.5 s then silence."""
    folder = tmp_path_factory.mktemp("short-media")
    paths = {}
    for name in COLOURS:
        paths[name] = folder / f"{name}.png"
        make_media("-f", "lavfi", "-i", f"color=c={name}:s=160x284", "-frames:v", "1", str(paths[name]))
    paths["music"] = folder / "music.wav"
    make_media("-f", "lavfi", "-i", "sine=frequency=220:sample_rate=48000:duration=2", str(paths["music"]))
    paths["tone"] = folder / "tone.wav"
    tone = "sine=frequency=1000:sample_rate=48000:duration=1.5,volume=4,apad=whole_dur=2.5"
    make_media("-f", "lavfi", "-i", tone, str(paths["tone"]))
    kinds = {"red": "image", "green": "image", "blue": "image", "music": "audio", "tone": "audio"}
    ids = {}
    for key, kind in kinds.items():
        with paths[key].open("rb") as file:
            response = torch_server.client.post(UPLOAD, data={"media_type": kind}, files={"file": (file.name, file)})
        assert response.status_code == 201, response.text
        ids[key] = response.json()["file_id"]
    return ids


def render(server: RunningServer, body: dict, folder: Path) -> tuple[dict, Path]:
    """Submit a short, wait for it, return its /info and the downloaded video."""
    response = server.client.post(SHORT, json=body)
    assert response.status_code == 202, response.text
    status = server.wait_for(response.json()["file_id"])
    assert status["status"] == "ready", status
    assert status["progress"] == 100
    info = server.client.get(f"{UPLOAD}/{status['file_id']}/info").json()
    video = folder / f"{status['file_id']}.mp4"
    video.write_bytes(server.client.get(f"{UPLOAD}/{status['file_id']}").content)
    return info, video


def frame(path: Path, seconds: float) -> np.ndarray:
    cmd = FFMPEG.command("-v", "error", "-ss", f"{seconds:.3f}", "-i", str(path), "-frames:v", "1")
    raw = subprocess.run([*cmd, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(H, W, 3).astype(np.int16)


def png_pixels(png: bytes, folder: Path) -> np.ndarray:
    path = folder / "preview.png"
    path.write_bytes(png)
    cmd = FFMPEG.command("-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(H, W, 3).astype(np.int16)


def off_colour(image: np.ndarray, colour: tuple[int, int, int], rows: slice) -> float:
    """Share of pixels in `rows` more than 60 away from the solid background `colour` (caption pixels)."""
    return float((np.abs(image[rows] - np.array(colour)).max(axis=2) > 60).mean())


def audio(path: Path) -> np.ndarray:
    cmd = FFMPEG.command("-v", "error", "-i", str(path), "-map", "0:a", "-ac", "1", "-ar", str(SAMPLE_RATE))
    raw = subprocess.run([*cmd, "-f", "f32le", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype="<f4")


def tone_db(samples: np.ndarray, start: float, length: float, frequency: float) -> float:
    """The level (dB of RMS) of one pure tone in a window: the stem of that tone in the mix."""
    a, b = int(start * SAMPLE_RATE), int((start + length) * SAMPLE_RATE)
    window = samples[a:b].astype(np.float64)
    t = np.arange(len(window)) / SAMPLE_RATE
    amplitude = 2 * abs(np.dot(window, np.exp(-2j * np.pi * frequency * t))) / len(window)
    return float(20 * np.log10(amplitude / np.sqrt(2) + 1e-12))


MUSIC_STEM = "bandpass=f=220:width_type=q:w=5,bandpass=f=220:width_type=q:w=5"
VOICE_STEM = "highpass=f=600,highpass=f=600"
"""The 220 Hz music and the 1 kHz narration separated out of a mix (each lets the other through 50 dB down)."""


def momentary_lufs(path: Path, stem: str) -> dict[float, float]:
    """EBU R128 momentary loudness (K-weighted, 400 ms windows) of one stem of the file's audio, every 100 ms:
    {window end in seconds: LUFS}, by ffmpeg's ebur128 filter."""
    log = path.with_name(f"{path.stem}-{abs(hash(stem))}.r128")
    chain = f"{stem},asetnsamples=n=4800,ebur128=metadata=1,ametadata=mode=print:key=lavfi.r128.M:file={log.name}"
    cmd = FFMPEG.command("-v", "error", "-i", str(path), "-map", "0:a", "-ac", "1", "-ar", str(SAMPLE_RATE))
    subprocess.run([*cmd, "-af", chain, "-f", "null", "-"], check=True, capture_output=True, cwd=path.parent)
    levels: dict[float, float] = {}
    start = 0.0
    for line in log.read_text().splitlines():
        if line.startswith("frame:"):
            start = float(line.split("pts_time:")[1])
        elif line.startswith("lavfi.r128.M="):
            levels[round(start + 0.1, 1)] = float(line.split("=", 1)[1])
    return levels


def scene(text: str, colour: str, ids: dict[str, str], **extra: object) -> dict:
    return {"text": text, "background_id": ids[colour], "image_effect": "none", **extra}


def test_a_three_scene_short_with_music_is_timed_coloured_and_captioned_per_scene(
    torch_server: RunningServer, short_ids: dict[str, str], tmp_path: Path
) -> None:
    body = {
        "scenes": [
            scene("Small steps.", "red", short_ids, pause_after_s=1.0),
            scene("Every day.", "green", short_ids, pause_after_s=0.5),
            scene("They add up.", "blue", short_ids),
        ],
        "width": W,
        "height": H,
        "transition": "crossfade",
        "transition_s": 0.4,
        "music_id": short_ids["music"],
        "music_volume": 0.3,
        "caption_preset": "subtitle",
    }
    info, video = render(torch_server, body, tmp_path)
    scenes = info["scenes"]
    narrations = [s["narration_end"] - s["start"] for s in scenes]
    expected = sum(narrations) + 1.0 + 0.5 + 2 * 0.4
    assert abs(info["duration"] - expected) <= FRAME_S + 0.03, (info["duration"], expected)
    assert abs(FFMPEG.probe(video).duration - expected) <= FRAME_S + 0.03
    assert [s["start"] for s in scenes] == pytest.approx([0, narrations[0] + 1.4, sum(narrations[:2]) + 2.3], abs=2e-3)
    assert [w["word"] for w in info["words"]] == ["Small", "steps", "Every", "day", "They", "add", "up"]
    assert [w["scene"] for w in info["words"]] == [0, 0, 1, 1, 2, 2, 2]
    for word in info["words"]:
        span = scenes[word["scene"]]
        assert span["start"] <= word["start"] <= word["end"] <= span["narration_end"] + 1e-6

    for span, colour in zip(scenes, COLOURS.values(), strict=True):
        middle = frame(video, (span["start"] + span["narration_end"]) / 2)
        assert np.abs(middle[: H // 2].mean(axis=(0, 1)) - colour).max() < 25, (span, colour)
    first = info["words"][0]
    speaking = frame(video, (first["start"] + first["end"]) / 2)
    pause = frame(video, scenes[0]["narration_end"] + 0.6)
    assert off_colour(speaking, COLOURS["red"], slice(H * 3 // 4, H)) > 0.01
    assert off_colour(pause, COLOURS["red"], slice(0, H)) < 0.002
    assert info["ducking"] is True and info["duck_db"] >= 18 and info["speech_spans"]


def test_music_ducks_under_the_voice_and_comes_back_in_the_pause(
    torch_server: RunningServer, short_ids: dict[str, str], tmp_path: Path
) -> None:
    words = json.dumps([{"word": "tone", "start": 0.0, "end": 0.7}, {"word": "speaks", "start": 0.8, "end": 1.5}])
    tone_scene = {"audio_id": short_ids["tone"], "captions": words, "image_effect": "none", "pause_after_s": 1.5}
    body = {
        "scenes": [
            {**tone_scene, "background_id": short_ids["red"]},
            {**tone_scene, "background_id": short_ids["blue"]},
        ],
        "width": W,
        "height": H,
        "music_id": short_ids["music"],
        "music_volume": 0.5,
        "caption_preset": "none",
    }
    ducked_info, ducked = render(torch_server, body, tmp_path)
    _, flat = render(torch_server, {**body, "ducking": False}, tmp_path)
    mix, plain = audio(ducked), audio(flat)
    assert ducked_info["speech_spans"] == [[0.0, 1.5], [4.0, 5.5]]
    assert abs(ducked_info["duration"] - 8.0) <= FRAME_S + 0.03

    music, voice = momentary_lufs(ducked, MUSIC_STEM), momentary_lufs(ducked, VOICE_STEM)
    undocked = momentary_lufs(flat, MUSIC_STEM)
    speaking = [end for end in music if 0.5 <= end <= 1.5 or 4.5 <= end <= 5.5]  # 400 ms windows in the speech
    assert len(speaking) == 22
    for end in speaking:  # the music alone at least 12 LU below the voice
        assert music[end] <= voice[end] - 12, (end, music[end], voice[end])
        assert music[end] <= undocked[end] - 12, (end, music[end], undocked[end])
    after = [end for end in music if 2.9 <= end <= 3.7 or end >= 6.9]  # windows from 1 s after the speech ends
    assert len(after) >= 18
    for end in after:  # the music back at music_volume: as loud as the render without ducking, within 1 LU
        assert abs(music[end] - undocked[end]) <= 1.0, (end, music[end], undocked[end])

    full = tone_db(plain, 2.6, 0.2, 220)
    for start in np.arange(0.1, 1.4, 0.1).tolist() + np.arange(4.1, 5.4, 0.1).tolist():
        voice, music = tone_db(mix, start, 0.1, 1000), tone_db(mix, start, 0.1, 220)
        assert music <= voice - 12, (start, voice, music)
        assert music <= full - 17, (start, music, full)
    for start in (2.5, 2.7, 3.0, 3.3, 6.5):  # 1 s after the speech ends and until the next: music_volume again
        assert abs(tone_db(mix, start, 0.1, 220) - tone_db(plain, start, 0.1, 220)) < 1.0, start
    assert tone_db(mix, 7.85, 0.1, 220) < full - 10  # the music fades out at the end
    levels = [tone_db(mix, s, 0.05, 220) for s in np.arange(1.5, 2.5, 0.05)]
    assert all(b >= a - 0.5 for a, b in pairwise(levels)), levels  # rises without a dip


def test_each_caption_preset_renders_differently(
    torch_server: RunningServer, short_ids: dict[str, str], tmp_path: Path
) -> None:
    listed = torch_server.client.get(PRESETS).json()
    names = [p["name"] for p in listed["presets"]]
    assert names == ["bold-word", "karaoke", "subtitle", "boxed", "none"]
    assert len({p["values"].get("font_name") for p in listed["presets"] if p["values"]}) >= 3
    assert {"Lato", "Roboto", "Source Sans Pro"} <= set(listed["fonts"])
    frames = {}
    text = "Four words on screen. Then more words follow here."
    for name in names:
        body = {"scenes": [scene(text, "green", short_ids)], "width": W, "height": H, "caption_preset": name}
        info, video = render(torch_server, body, tmp_path)
        second = info["words"][1]
        frames[name] = frame(video, (second["start"] + second["end"]) / 2)
    green = COLOURS["green"]
    ink = {name: off_colour(image, green, slice(0, H)) for name, image in frames.items()}
    assert ink["none"] < 0.002 and all(value > 0.005 for name, value in ink.items() if name != "none"), ink
    for a in names:
        for b in names:
            if a < b:
                assert float((np.abs(frames[a] - frames[b]).max(axis=2) > 40).mean()) > 0.003, (a, b)
    middle, bottom = slice(H * 2 // 5, H * 3 // 5), slice(H * 3 // 4, H)
    assert off_colour(frames["bold-word"], green, bottom) < 0.002  # one word, centred
    assert off_colour(frames["subtitle"], green, middle) < 0.002  # lines at the bottom
    rows = np.nonzero((np.abs(frames["subtitle"] - np.array(green)).max(axis=2) > 60).any(axis=1))[0]
    assert rows.min() > H * 3 // 4 and _row_groups(rows) == 2, rows  # two lines
    assert off_colour(frames["boxed"], green, bottom) > 3 * off_colour(frames["subtitle"], green, bottom)


def _row_groups(rows: np.ndarray) -> int:
    """How many runs of consecutive rows (gaps of more than 2 rows split them)."""
    return 1 + int((np.diff(rows) > 2).sum())


def test_the_preview_shows_the_frame_the_render_will_show(
    torch_server: RunningServer, short_ids: dict[str, str], tmp_path: Path
) -> None:
    body = {
        "scenes": [scene("Preview this line.", "blue", short_ids), scene("And not this.", "red", short_ids)],
        "width": W,
        "height": H,
        "caption_preset": "karaoke",
    }
    preview = torch_server.client.post(PREVIEW, json=body)
    assert preview.status_code == 200, preview.text
    assert preview.headers["content-type"] == "image/png"
    at_s = float(preview.headers["x-at-s"])
    info, video = render(torch_server, body, tmp_path)
    first = info["words"][0]
    assert first["start"] <= at_s <= first["end"]
    shown, rendered = png_pixels(preview.content, tmp_path), frame(video, at_s)
    assert off_colour(shown, COLOURS["blue"], slice(0, H)) > 0.005  # captions are in the preview
    difference = np.abs(shown - rendered).max(axis=2)
    assert difference.mean() < 3 and (difference > 40).mean() < 0.002, (difference.mean(), (difference > 40).mean())

    fonts = {}
    for font in ("Lato", "Fredoka One", "Source Sans Pro"):
        response = torch_server.client.post(PREVIEW, json={**body, "caption_font": font, "at_s": at_s})
        assert response.status_code == 200, response.text
        fonts[font] = png_pixels(response.content, tmp_path)
    assert float((np.abs(fonts["Lato"] - fonts["Fredoka One"]).max(axis=2) > 40).mean()) > 0.001
    assert float((np.abs(fonts["Lato"] - fonts["Source Sans Pro"]).max(axis=2) > 40).mean()) > 0.001


def test_bad_shorts_are_refused_naming_the_scene_before_any_job(
    torch_server: RunningServer, short_ids: dict[str, str]
) -> None:
    unknown = "0123456789abcdef0123456789abcdef"
    ok = [scene("One.", "red", short_ids), scene("Two.", "green", short_ids), scene("Three.", "blue", short_ids)]
    cases = [
        ({"scenes": []}, 422, "scenes"),
        ({}, 422, "scenes"),
        ({"scenes": [ok[0]] * 51}, 422, "scenes"),
        ({"scenes": [ok[0], ok[1], {**ok[2], "background_id": unknown}]}, 404, "scenes[2].background_id"),
        ({"scenes": [ok[0], {"background_id": short_ids["red"]}]}, 400, "scenes[1].text"),
        ({"scenes": [ok[0], {"text": "No picture."}]}, 400, "scenes[1].background_id"),
        ({"scenes": [{**ok[0], "background_id": short_ids["music"]}]}, 400, "scenes[0].background_id"),
        ({"scenes": [{**ok[0], "background_url": "http://127.0.0.1/a.png"}]}, 400, "scenes[0].background_id"),
        ({"scenes": [{"text": "x", "background_url": "http://127.0.0.1/a.png"}]}, 400, "scenes[0].background_url"),
        ({"scenes": [{**ok[0], "audio_id": unknown, "text": None}]}, 404, "scenes[0].audio_id"),
        ({"scenes": [{**ok[0], "voice": "zz_nobody"}]}, 422, "scenes[0]"),
        ({"scenes": [{**ok[0], "speed": 9}]}, 422, "scenes[0]"),
        ({"scenes": [{**ok[0], "image_effect": "zoom"}]}, 422, "scenes[0].image_effect"),
        ({"scenes": [{**ok[0], "pause_after_s": -1}]}, 422, "scenes[0].pause_after_s"),
        ({"scenes": [{**ok[0], "backgroundId": "x"}]}, 422, "scenes[0].backgroundId"),
        ({"scenes": ok, "caption_preset": "comic"}, 422, "caption_preset"),
        ({"scenes": ok, "caption_font": "Comic Sans"}, 422, "caption_font"),
        ({"scenes": ok, "caption_config_font_color": "red"}, 400, "caption_config_font_color"),
        ({"scenes": ok, "transition": "wipe"}, 422, "transition"),
        ({"scenes": ok, "width": 320}, 400, "height"),
        ({"scenes": ok, "width": 321, "height": 568}, 400, "width"),
        ({"scenes": ok, "music_id": unknown}, 404, "music_id"),
        ({"scenes": ok, "music_id": short_ids["red"]}, 400, "music_id"),
        ({"scenes": ok, "music_volume": 2}, 422, "music_volume"),
    ]
    before = len(torch_server.services.jobs.recent(None, "video", 10_000, 0))
    for body, code, mentions in cases:
        response = torch_server.client.post(SHORT, json=body)
        assert response.status_code == code, (body, response.text)
        assert mentions in response.json()["error"], (body, response.json())
    preview = torch_server.client.post(PREVIEW, json={"scenes": ok, "scene_index": 3})
    assert preview.status_code == 400 and "scene_index" in preview.json()["error"]
    assert len(torch_server.services.jobs.recent(None, "video", 10_000, 0)) == before


def test_the_preview_times_the_first_sentence_as_its_synthesis_would_without_making_audio(
    torch_server: RunningServer, tmp_path: Path
) -> None:
    tts = torch_server.services.tts
    request = tts.validate("Time these words exactly. But never this sentence.", None, 1.0, "a")
    timed = tts.first_sentence_times(request, 1)
    first = tts.validate("Time these words exactly.", None, 1.0, "a")
    spoken = tts.synthesize_to_wav(first, tmp_path / "first.wav", lambda: 1)
    assert [w["word"] for w in timed.words] == ["Time", "these", "words", "exactly"]
    assert timed.words == spoken.words and timed.duration_s == pytest.approx(spoken.duration_s, abs=1e-9)
