"""Captioned renders, merges and probing against the real ffmpeg binary."""

import json
import re
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest

from app.errors import InvalidInput
from app.services.cancellation import Cancelled, CancelScope
from app.services.ffmpeg import RenderFailed
from app.services.video.captions import CaptionStyle, Word, available_fonts, build_ass, parse_captions
from app.services.video.render import merge_videos, render_captioned_video
from tests.video.conftest import FFMPEG

WIDTH, HEIGHT = 360, 640
WORDS = [
    Word("Olá", 0.2, 0.8),
    Word("ação", 0.8, 1.4),
    Word("coração", 1.4, 2.0),
    Word("mañana", 2.0, 2.9),
]


def streams(path: Path) -> list[str]:
    """The `Stream #` lines ffmpeg prints for a file."""
    done = subprocess.run(FFMPEG.command("-i", str(path)), capture_output=True, text=True)
    return [line.strip() for line in done.stderr.splitlines() if line.strip().startswith("Stream #")]


def frame(path: Path, seconds: float) -> bytes:
    """One decoded frame as raw RGB24 bytes."""
    cmd = FFMPEG.command("-v", "error", "-ss", str(seconds), "-i", str(path), "-frames:v", "1")
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    return subprocess.run(cmd, capture_output=True, check=True).stdout


def changed_fraction(a: bytes, b: bytes, first_row: int, last_row: int, width: int) -> float:
    """Share of pixels in rows [first_row, last_row) whose channels differ by more than 40 somewhere."""
    start, stop = first_row * width * 3, last_row * width * 3
    changed = sum(1 for i in range(start, stop, 3) if max(abs(a[i + c] - b[i + c]) for c in range(3)) > 40)
    return changed / ((last_row - first_row) * width)


def mean_volume(path: Path) -> float:
    cmd = FFMPEG.command("-i", str(path), "-map", "0:a", "-af", "volumedetect", "-f", "null", "-")
    log = subprocess.run(cmd, capture_output=True, text=True).stderr
    match = re.search(r"mean_volume: (-?[\d.]+|-inf) dB", log)
    assert match, log[-500:]
    return float(match.group(1))


def render(background: Path, audio: Path, out: Path, **overrides: object) -> None:
    values: dict[str, object] = {
        "background": background,
        "background_is_video": False,
        "audio": audio,
        "words": WORDS,
        "out": out,
        "width": WIDTH,
        "height": HEIGHT,
        "effect": "none",
        "style": CaptionStyle(),
        "threads": 2,
        "ffmpeg": FFMPEG,
        **overrides,
    }
    render_captioned_video(**values)  # type: ignore[arg-type]


def test_captioned_render_matches_audio_and_burns_captions(image_png: Path, narration_wav: Path, tmp_path: Path):
    captioned, plain = tmp_path / "captioned.mp4", tmp_path / "plain.mp4"
    fractions: list[float] = []
    render(image_png, narration_wav, captioned, progress=fractions.append)
    render(image_png, narration_wav, plain, words=None)

    info = FFMPEG.probe(captioned)
    assert abs(info.duration - FFMPEG.probe(narration_wav).duration) <= 0.1
    assert (info.width, info.height) == (WIDTH, HEIGHT)
    found = streams(captioned)
    assert len(found) == 2
    assert sum("Video: h264" in s for s in found) == 1 and sum("Audio: aac" in s for s in found) == 1
    assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0

    with_text, without = frame(captioned, 1.0), frame(plain, 1.0)
    assert len(with_text) == len(without) == WIDTH * HEIGHT * 3
    assert changed_fraction(with_text, without, HEIGHT * 3 // 4, HEIGHT, WIDTH) > 0.01
    assert changed_fraction(with_text, without, 0, HEIGHT // 2, WIDTH) < 0.001


@pytest.mark.parametrize("effect", ["ken_burns", "pan", "none"])
def test_every_effect_renders(effect: str, image_png: Path, narration_wav: Path, tmp_path: Path):
    out = tmp_path / f"{effect}.mp4"
    render(image_png, narration_wav, out, effect=effect, style=CaptionStyle(highlight_color="#FFD700"))
    info = FFMPEG.probe(out)
    assert abs(info.duration - 3.0) <= 0.1
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (WIDTH, HEIGHT, "h264", "aac")
    if effect != "none":
        assert frame(out, 0.1) != frame(out, 2.8)


def test_short_video_background_loops_to_narration(short_video: Path, narration_wav: Path, tmp_path: Path):
    out = tmp_path / "looped.mp4"
    render(short_video, narration_wav, out, background_is_video=True, width=320, height=568)
    info = FFMPEG.probe(out)
    assert abs(info.duration - 3.0) <= 0.1
    assert (info.width, info.height, info.fps) == (320, 568, 25.0)
    assert len(streams(out)) == 2


def test_render_into_folder_with_filtergraph_special_characters(image_png: Path, narration_wav: Path, tmp_path: Path):
    folder = tmp_path / "we'ird: [dir], x;y"
    folder.mkdir()
    out = folder / "video.mp4"
    render(image_png, narration_wav, out)
    assert FFMPEG.probe(out).has_video
    assert sorted(p.name for p in folder.iterdir()) == ["video.mp4"]


def test_corrupt_background_fails_cleanly(corrupt_png: Path, narration_wav: Path, tmp_path: Path):
    out = tmp_path / "never.mp4"
    with pytest.raises(RenderFailed) as caught:
        render(corrupt_png, narration_wav, out)
    assert caught.value.message and "\n" not in caught.value.message
    assert list(tmp_path.iterdir()) == []


def test_probe_rejects_non_media(tmp_path: Path):
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n")
    with pytest.raises(InvalidInput, match=r"notes\.mp4"):
        FFMPEG.probe(text)


def test_merge_mixed_clips_fits_to_first(mixed_clips: list[Path], tmp_path: Path):
    out = tmp_path / "merged.mp4"
    fractions: list[float] = []
    assert merge_videos(mixed_clips, out, None, 1.0, 2, fractions.append, ffmpeg=FFMPEG) == "reencode"
    info = FFMPEG.probe(out)
    assert abs(info.duration - 4.0) <= 0.2
    assert (info.width, info.height, info.has_audio) == (360, 640, True)
    assert fractions[-1] == 1.0


def test_merge_with_music_is_audible(silent_clips: list[Path], music_wav: Path, tmp_path: Path):
    out = tmp_path / "music.mp4"
    assert merge_videos(silent_clips, out, music_wav, 0.2, 2, ffmpeg=FFMPEG) == "reencode"
    info = FFMPEG.probe(out)
    assert info.has_audio and abs(info.duration - 2.0) <= 0.2
    assert mean_volume(out) > -60


def test_merge_identical_clips_copies_streams(same_clips: list[Path], tmp_path: Path):
    out = tmp_path / "copied.mp4"
    assert merge_videos(same_clips, out, None, 1.0, 2, ffmpeg=FFMPEG) == "copy"
    info = FFMPEG.probe(out)
    assert abs(info.duration - 2.0) <= 0.2
    assert (info.width, info.height) == (320, 240)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copied.mp4"]


def ffmpeg_children() -> list[psutil.Process]:
    """The ffmpeg processes this test process started and has not reaped."""
    return [p for p in psutil.Process().children(recursive=True) if "ffmpeg" in p.name()]


def test_cancelling_the_scope_kills_a_running_ffmpeg_at_once(tmp_path: Path):
    scope, started, finished = CancelScope(), threading.Event(), threading.Event()
    raised: list[BaseException] = []
    ten_minutes = ["-re", "-f", "lavfi", "-i", "sine=frequency=440:duration=600", "-c:a", "aac"]

    def job() -> None:
        try:
            with scope.active():
                FFMPEG.run([*ten_minutes, str(tmp_path / "long.m4a")], 600.0, 1, lambda _: started.set())
        except BaseException as exc:
            raised.append(exc)
        finally:
            finished.set()

    threading.Thread(target=job, daemon=True).start()
    assert started.wait(20), "ffmpeg reported no progress"
    assert len(ffmpeg_children()) == 1
    cancelled_at = time.monotonic()
    scope.cancel("the job ran past its timeout")

    assert finished.wait(20), "ffmpeg was not killed"
    assert time.monotonic() - cancelled_at < 20
    assert [type(exc) for exc in raised] == [Cancelled]
    assert raised[0].message == "the job ran past its timeout"
    assert ffmpeg_children() == []


def test_nothing_starts_in_a_scope_already_cancelled(narration_wav: Path, tmp_path: Path):
    scope = CancelScope()
    scope.cancel("shutting down")
    with scope.active(), pytest.raises(Cancelled, match="shutting down"):
        FFMPEG.run(["-i", str(narration_wav), str(tmp_path / "never.wav")])
    with scope.active(), pytest.raises(Cancelled):
        FFMPEG.probe(narration_wav)
    assert list(tmp_path.iterdir()) == [] and ffmpeg_children() == []


SRT = """1
00:00:00,000 --> 00:00:01,000
Olá mundo

2
00:00:01,500 --> 00:00:02,500
<i>ação</i> rápida
"""

VTT = """WEBVTT

NOTE a comment

intro
00:00.000 --> 00:01.000 align:start
Hola mañana

00:00:01.000 --> 00:00:02.000
<c.yellow>fin</c>
"""


def test_parse_srt_spreads_words_by_length():
    words = parse_captions(SRT)
    assert [w.word for w in words] == ["Olá", "mundo", "ação", "rápida"]
    assert words[0].start == 0.0 and words[1].end == 1.0
    assert words[0].end == pytest.approx(3 / 8, abs=0.001)
    assert words[2].start == 1.5 and words[3].end == 2.5


def test_parse_vtt_and_json():
    assert [(w.word, w.start, w.end) for w in parse_captions(VTT)] == [
        ("Hola", 0.0, 0.4),
        ("mañana", 0.4, 1.0),
        ("fin", 1.0, 2.0),
    ]
    data = [{"word": "sí", "start": 0.5, "end": 0.9}, {"word": "no", "start": 0, "end": 0.4}]
    assert parse_captions(json.dumps(data)) == [Word("no", 0.0, 0.4), Word("sí", 0.5, 0.9)]


@pytest.mark.parametrize(
    "bad",
    ["just some words", "", '[{"word": "x", "start": 2, "end": 1}]', "[1, 2]", "1\n00:00:xx --> 00:00:01,000\nhi"],
)
def test_parse_rejects_bad_captions(bad: str):
    with pytest.raises(InvalidInput):
        parse_captions(bad)


def test_build_ass_keeps_accents_and_highlights():
    words = [Word("Ação", 0, 0.5), Word("é", 0.5, 0.7), Word("coração", 0.7, 1.2), Word("{x}", 1.2, 1.5)]
    style = CaptionStyle(line_count=2, line_max_length=10, highlight_color="#FF8800", font_color="#00FF00")
    script = build_ass(words, style, WIDTH, HEIGHT)
    assert "Ação" in script and "coração" in script
    assert f"PlayResX: {WIDTH}\nPlayResY: {HEIGHT}" in script
    assert "{\\1c&H0088FF&}" in script and "{\\1c&H00FF00&}" in script
    assert "\\{x\\}" in script
    assert len([line for line in script.splitlines() if line.startswith("Dialogue:")]) == 4

    plain = build_ass(words, CaptionStyle(line_count=2, line_max_length=10), WIDTH, HEIGHT)
    dialogues = [line for line in plain.splitlines() if line.startswith("Dialogue:")]
    assert len(dialogues) == 2 and "\\1c" not in plain
    assert dialogues[0].endswith(",Ação é\\Ncoração")
    assert dialogues[0].startswith("Dialogue: 0,0:00:00.00,0:00:01.20,")


def test_style_rejects_bad_values_and_fonts_are_listed():
    with pytest.raises(InvalidInput):
        CaptionStyle(line_count=6)
    with pytest.raises(InvalidInput):
        CaptionStyle(font_color="red")
    assert "Lato" in available_fonts()


def test_every_shipped_caption_font_is_found_by_libass_not_the_system(tmp_path: Path):
    from app.services.video.fonts import caption_fonts_dir

    for family in available_fonts():
        style = CaptionStyle(font_name=family)
        ass = tmp_path / "font.ass"
        ass.write_text(build_ass([Word("Olá", 0, 1)], style, 320, 240), encoding="utf-8")
        graph = f"ass=filename={ass}:fontsdir={caption_fonts_dir()}"
        cmd = FFMPEG.command(
            "-v", "verbose", "-f", "lavfi", "-i", "color=s=320x240:d=0.1", "-vf", graph, "-f", "null", "-"
        )
        log = subprocess.run(cmd, capture_output=True, text=True).stderr
        chosen = [line.split("->", 1)[1] for line in log.splitlines() if "fontselect:" in line and "->" in line]
        assert chosen and all(family.replace(" ", "") in line and "/usr/" not in line for line in chosen), (
            family,
            chosen,
        )
    assert len(available_fonts()) >= 3
