"""video-tools add-audio, match-duration, add-overlay, add-colorkey-overlay and create-looping-video, each
checked on what its output shows and sounds like."""

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.local_server import RunningServer
from tests.tools.conftest import FFMPEG, download, ffmpeg_log, job_count, make_media, packets, run_tool, upload_id

TOOLS = "/api/v1/media/video-tools"
RGB = tuple[int, int, int]
RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)
H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def _clip(path: Path, picture: str, seconds: float, tone_hz: int | None, drawn: str = "") -> Path:
    """A 25 fps H.264 clip of a lavfi picture (then the `drawn` filters), with an AAC sine of `tone_hz` when given."""
    sound = ["-f", "lavfi", "-i", f"sine=frequency={tone_hz}:duration={seconds}"] if tone_hz else []
    audio = ["-c:a", "aac", "-shortest"] if tone_hz else []
    make_media("-f", "lavfi", "-i", f"{picture}:r=25:d={seconds}{drawn}", *sound, *H264, *audio, str(path))
    return path


def _media(folder: Path) -> dict[str, tuple[Path, str]]:
    """Every input of this module: its file and its media type."""
    tone, short_tone = folder / "tone.wav", folder / "short.wav"
    make_media("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=2.5", str(tone))
    make_media("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=0.6", str(short_tone))
    logo, still = folder / "logo.png", folder / "still.png"
    half_opaque = "color=c=red:s=40x40,format=rgba,geq=r=255:g=0:b=0:a='if(lt(X,20),255,0)'"
    make_media("-f", "lavfi", "-i", half_opaque, "-frames:v", "1", str(logo))
    make_media("-f", "lavfi", "-i", "testsrc2=s=320x240", "-frames:v", "1", str(still))
    square = ",drawbox=x=60:y=40:w=40:h=40:color=red:t=fill"
    return {
        "clip": (_clip(folder / "clip.mp4", "testsrc2=s=160x120", 1, 3000), "video"),
        "silent": (_clip(folder / "silent.mp4", "testsrc2=s=160x120", 1, None), "video"),
        "blue": (_clip(folder / "blue.mp4", "color=c=blue:s=320x240", 2, 1000), "video"),
        "green": (_clip(folder / "green.mp4", "color=c=0x00ff00:s=160x120", 2, None, square), "video"),
        "tone": (tone, "audio"),
        "short_tone": (short_tone, "audio"),
        "logo": (logo, "image"),
        "still": (still, "image"),
    }


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    return _media(tmp_path_factory.mktemp("compose"))


@pytest.fixture(scope="module")
def ids(torch_server: RunningServer, media: dict[str, tuple[Path, str]]) -> dict[str, str]:
    return {name: upload_id(torch_server, path, kind) for name, (path, kind) in media.items()}


def _made(server: RunningServer, tool: str, fields: dict[str, Any], folder: Path) -> tuple[dict[str, Any], Path]:
    """Run a tool to the end; its `/info` and its downloaded mp4."""
    info = run_tool(server, f"{TOOLS}/{tool}", fields)
    return info, download(server, info["file_id"], folder, "mp4")


def band_volume(path: Path, hz: int, seconds: float = 1.0) -> float:
    """Mean volume (dB) of the first `seconds` of the sound near `hz`: tells a tone apart from the others."""
    log = ffmpeg_log(
        "-t", str(seconds), "-i", str(path), "-af", f"bandpass=f={hz}:width_type=q:w=5,volumedetect", "-f", "null", "-"
    )
    found = re.search(r"mean_volume: (-?[\d.]+) dB", log)
    assert found, log
    return float(found.group(1))


def pixels(path: Path, at_s: float, points: list[tuple[int, int]]) -> list[RGB]:
    """The colours of a few pixels of the frame shown at `at_s`, decoded to raw rgb24."""
    width = FFMPEG.probe(path).width
    decode = FFMPEG.command("-v", "error", "-ss", str(at_s), "-i", str(path), "-frames:v", "1", "-f", "rawvideo")
    frame = subprocess.run([*decode, "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return [
        (frame[3 * (y * width + x)], frame[3 * (y * width + x) + 1], frame[3 * (y * width + x) + 2]) for x, y in points
    ]


def looks_like(colour: RGB, expected: RGB, tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


def test_audio_fit_loops_the_video_to_the_audio_length_and_replaces_its_sound(
    torch_server: RunningServer, ids: dict[str, str], tmp_path: Path
) -> None:
    fields = {"video_id": ids["clip"], "audio_id": ids["tone"], "mode": "replace", "fit": "audio"}
    info, out = _made(torch_server, "add-audio", fields, tmp_path)
    assert abs(info["duration"] - 2.5) < 0.1
    assert (info["width"], info["video_codec"], info["audio_codec"]) == (160, "h264", "aac")
    assert band_volume(out, 440, 2.5) > band_volume(out, 3000, 2.5) + 20


def test_mixed_sound_carries_both_tones_each_at_its_own_volume(
    torch_server: RunningServer, ids: dict[str, str], media: dict[str, tuple[Path, str]], tmp_path: Path
) -> None:
    fields = {"video_id": ids["clip"], "audio_id": ids["tone"], "mode": "mix", "audio_volume": 0.5, "fit": "video"}
    info, out = _made(torch_server, "add-audio", fields, tmp_path)
    assert abs(info["duration"] - 1.0) < 0.1
    tone_alone, clip_alone = band_volume(media["tone"][0], 440), band_volume(media["clip"][0], 3000)
    assert abs(band_volume(out, 440) - (tone_alone - 6.0)) < 1.5
    assert abs(band_volume(out, 3000) - clip_alone) < 1.5


def test_a_new_sound_leaves_the_picture_as_it_was_packet_for_packet(
    torch_server: RunningServer, ids: dict[str, str], media: dict[str, tuple[Path, str]], tmp_path: Path
) -> None:
    fields = {"video_id": ids["blue"], "audio_id": ids["tone"], "fit": "video"}
    _, out = _made(torch_server, "add-audio", fields, tmp_path)
    assert packets(out) == packets(media["blue"][0])


@pytest.mark.parametrize(("fit", "expected_s"), [("video", 2.0), ("shortest", 0.6)])
def test_fit_video_keeps_the_video_length_and_fit_shortest_ends_with_the_shorter_input(
    torch_server: RunningServer, ids: dict[str, str], fit: str, expected_s: float
) -> None:
    info = run_tool(
        torch_server, f"{TOOLS}/add-audio", {"video_id": ids["blue"], "audio_id": ids["short_tone"], "fit": fit}
    )
    assert abs(info["duration"] - expected_s) < 0.1


@pytest.mark.parametrize(
    ("mode", "target_s"), [("loop", 2.6), ("loop", 0.6), ("cut", 0.6), ("cut", 1.8), ("stretch", 2.0), ("stretch", 0.5)]
)
def test_a_matched_video_lasts_the_asked_duration_in_every_mode(
    torch_server: RunningServer, ids: dict[str, str], mode: str, target_s: float
) -> None:
    info = run_tool(
        torch_server, f"{TOOLS}/match-duration", {"video_id": ids["clip"], "duration": target_s, "mode": mode}
    )
    assert abs(info["duration"] - target_s) < 0.1, info
    assert (info["width"], info["audio_codec"]) == (160, "aac")
    assert 24.0 < info["fps"] <= 25.0  # a stream-copied loop keeps its frames; its seam lowers the average rate


def test_a_video_matched_to_an_audio_takes_its_length(torch_server: RunningServer, ids: dict[str, str]) -> None:
    info = run_tool(torch_server, f"{TOOLS}/match-duration", {"video_id": ids["clip"], "audio_id": ids["tone"]})
    assert abs(info["duration"] - 2.5) < 0.1


def test_an_overlay_lands_at_the_named_position_and_its_transparent_half_shows_the_video(
    torch_server: RunningServer, ids: dict[str, str], tmp_path: Path
) -> None:
    fields = {"video_id": ids["blue"], "overlay_id": ids["logo"], "position": "bottom-right", "margin": 20}
    info, out = _made(torch_server, "add-overlay", {**fields, "overlay_width": 80}, tmp_path)
    assert (info["width"], info["height"], info["audio_codec"]) == (320, 240, "aac")
    assert abs(info["duration"] - 2.0) < 0.1
    opaque, transparent, above, elsewhere = pixels(out, 1.0, [(240, 180), (285, 180), (240, 125), (100, 100)])
    assert looks_like(opaque, RED), opaque
    assert all(looks_like(colour, BLUE) for colour in (transparent, above, elsewhere))


def test_expressions_place_the_overlay_and_half_opacity_blends_it(
    torch_server: RunningServer, ids: dict[str, str], tmp_path: Path
) -> None:
    fields = {"video_id": ids["blue"], "overlay_id": ids["logo"], "position": "center", "x": "min(10, W-w)"}
    _, out = _made(torch_server, "add-overlay", {**fields, "y": "H-h-10", "opacity": 0.5}, tmp_path)
    blended, centre = pixels(out, 1.0, [(20, 210), (160, 120)])
    assert looks_like(blended, (128, 0, 128), 30), blended
    assert looks_like(centre, BLUE), centre


def test_an_overlay_shows_only_between_start_and_end(
    torch_server: RunningServer, ids: dict[str, str], tmp_path: Path
) -> None:
    fields = {"video_id": ids["blue"], "overlay_id": ids["logo"], "start": 0.5, "end": 1.2}
    _, out = _made(torch_server, "add-overlay", fields, tmp_path)
    before, during, after = (pixels(out, at, [(10, 20)])[0] for at in (0.2, 0.8, 1.6))
    assert looks_like(during, RED), during
    assert looks_like(before, BLUE) and looks_like(after, BLUE), (before, after)


@pytest.mark.parametrize(("key", "keyed_area"), [("#00ff00", BLUE), ("#ff0000", GREEN)])
def test_the_colorkey_overlay_shows_the_video_where_the_key_colour_was(
    torch_server: RunningServer, ids: dict[str, str], tmp_path: Path, key: str, keyed_area: RGB
) -> None:
    fields = {"video_id": ids["blue"], "overlay_id": ids["green"], "position": "center", "color": key}
    _, out = _made(torch_server, "add-colorkey-overlay", fields, tmp_path)
    square, screen, outside = pixels(out, 1.0, [(160, 120), (100, 80), (20, 20)])
    assert looks_like(screen, keyed_area), screen
    assert looks_like(square, RED if keyed_area == BLUE else BLUE), square
    assert looks_like(outside, BLUE), outside


def test_a_looping_video_lasts_the_audio_length_and_carries_its_sound(
    torch_server: RunningServer, ids: dict[str, str], tmp_path: Path
) -> None:
    info, out = _made(
        torch_server, "create-looping-video", {"image_id": ids["still"], "audio_id": ids["tone"]}, tmp_path
    )
    assert abs(info["duration"] - 2.5) < 0.1
    assert (info["width"], info["height"], info["fps"], info["audio_codec"]) == (320, 240, 25.0, "aac")
    assert band_volume(out, 440, 2.5) > -30


def test_a_looping_still_with_ken_burns_moves_and_a_looping_clip_repeats_with_its_sound(
    torch_server: RunningServer, ids: dict[str, str], tmp_path: Path
) -> None:
    fields = {"image_id": ids["still"], "duration": 1.5, "image_effect": "ken_burns", "width": 160, "height": 120}
    info, out = _made(torch_server, "create-looping-video", fields, tmp_path)
    assert (abs(info["duration"] - 1.5) < 0.1, info["width"], info.get("audio_codec")) == (True, 160, None)
    corner_points = [(5, 5), (150, 110)]
    assert pixels(out, 0.0, corner_points) != pixels(out, 1.4, corner_points)
    clip_info, clip = _made(torch_server, "create-looping-video", {"video_id": ids["clip"], "duration": 2.2}, tmp_path)
    assert abs(clip_info["duration"] - 2.2) < 0.1
    assert band_volume(clip, 3000, 2.2) > -35


BAD_REQUESTS: list[tuple[str, dict[str, Any], int, str]] = [
    ("add-audio", {"video_id": "tone", "audio_id": "tone"}, 400, "video_id"),
    ("add-audio", {"video_id": "clip", "audio_id": "still"}, 400, "audio_id"),
    ("add-audio", {"video_id": "clip", "audio_id": "tone", "audio_volume": 3}, 422, "audio_volume"),
    ("add-audio", {"video_id": "clip", "audio_id": "tone", "video_volume": -1}, 422, "video_volume"),
    ("add-audio", {"video_id": "silent", "audio_id": "tone", "mode": "mix"}, 400, "video_id"),
    ("add-audio", {"video_id": "clip", "audio_id": "tone", "fit": "longest"}, 422, "fit"),
    ("match-duration", {"video_id": "clip", "duration": 2, "audio_id": "tone"}, 400, "duration"),
    ("match-duration", {"video_id": "clip"}, 400, "duration"),
    ("match-duration", {"video_id": "clip", "duration": -1}, 422, "duration"),
    ("match-duration", {"video_id": "clip", "duration": 100, "mode": "stretch"}, 400, "duration"),
    ("match-duration", {"video_id": "clip", "audio_id": "clip"}, 400, "audio_id"),
    ("add-overlay", {"video_id": "blue", "overlay_id": "logo", "x": "W-w[in];drawtext"}, 400, "x"),
    ("add-overlay", {"video_id": "blue", "overlay_id": "logo", "x": "W-w':enable=0"}, 400, "x"),
    ("add-overlay", {"video_id": "blue", "overlay_id": "logo", "y": "st(0,1)"}, 400, "y"),
    ("add-overlay", {"video_id": "blue", "overlay_id": "logo", "y": "(H-h"}, 400, "y"),
    ("add-overlay", {"video_id": "blue", "overlay_id": "logo", "opacity": 1.5}, 422, "opacity"),
    ("add-overlay", {"video_id": "blue", "overlay_id": "logo", "start": 1.5, "end": 1.0}, 400, "end"),
    ("add-overlay", {"video_id": "blue", "overlay_id": "logo", "start": 5}, 400, "start"),
    ("add-overlay", {"video_id": "blue", "overlay_id": "tone"}, 400, "overlay_id"),
    ("add-overlay", {"video_id": "blue", "overlay_id": "logo", "position": "middle"}, 422, "position"),
    ("add-overlay", {"video_id": "nope", "overlay_id": "logo"}, 404, "video_id"),
    ("add-colorkey-overlay", {"video_id": "blue", "overlay_id": "green", "color": "green"}, 422, "color"),
    ("add-colorkey-overlay", {"video_id": "blue", "overlay_id": "green", "similarity": 0}, 422, "similarity"),
    ("add-colorkey-overlay", {"video_id": "blue", "overlay_id": "green", "blend": 2}, 422, "blend"),
    ("create-looping-video", {"image_id": "still", "video_id": "clip", "duration": 1}, 400, "image_id"),
    ("create-looping-video", {"duration": 1}, 400, "image_id"),
    ("create-looping-video", {"image_id": "still", "duration": 1, "audio_id": "tone"}, 400, "duration"),
    ("create-looping-video", {"image_id": "still", "duration": 1, "image_effect": "spin"}, 422, "image_effect"),
    ("create-looping-video", {"image_id": "still", "duration": 1, "width": 15}, 400, "width"),
    ("create-looping-video", {"image_id": "clip", "duration": 1}, 400, "image_id"),
]
"""(tool, fields with input names for ids, status, the field the error names)."""


def test_bad_compose_requests_name_the_field_and_start_nothing(
    torch_server: RunningServer, ids: dict[str, str]
) -> None:
    jobs_before = job_count(torch_server)
    id_fields = ("video_id", "audio_id", "overlay_id", "image_id")
    for tool, fields, code, field in BAD_REQUESTS:
        sent = {key: ids.get(value, value) if key in id_fields else value for key, value in fields.items()}
        response = torch_server.client.post(f"{TOOLS}/{tool}", data={key: str(value) for key, value in sent.items()})
        assert response.status_code == code, (tool, fields, response.text)
        assert field in response.json()["error"], (tool, fields, response.text)
    assert job_count(torch_server) == jobs_before
