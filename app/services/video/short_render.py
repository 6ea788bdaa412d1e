"""A short's render: every scene's background, narration and captions, the transitions and the ducked music,
in one ffmpeg pass; and one frame of a scene as a PNG (the preview), through the same filters."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.services.ffmpeg import Ffmpeg
from app.services.video.captions import CaptionStyle, Word, build_scenes_ass, default_fonts_dir
from app.services.video.render import (
    _AUDIO_CODEC,
    _AUDIO_FORMAT,
    _VIDEO_CODEC,
    FPS,
    _ass_filter,
    _atomic_output,
    _check_output,
    background_chain,
)
from app.services.video.timeline import SceneSpan, total_length

TRANSITIONS = {"cut": "", "crossfade": "fade", "fade-black": "fadeblack"}
"""The transitions a short takes, as ffmpeg `xfade` names them (a cut is a plain concat)."""
MUSIC_FADE_S = 1.5
Progress = Callable[[float], None]


@dataclass(frozen=True)
class SceneMedia:
    """What a scene shows and says: its background (`effect` for an image) and its narration audio."""

    background: Path
    is_video: bool
    effect: str
    narration: Path


@dataclass(frozen=True)
class Music:
    """Music under the whole short, looped, its gain an ffmpeg `volume` expression in t."""

    path: Path
    gain: str


@dataclass(frozen=True)
class ShortLayout:
    """The frame size, the scenes' spans and how they are joined."""

    width: int
    height: int
    spans: list[SceneSpan]
    transition: str
    transition_s: float


def render_short(
    scenes: list[SceneMedia],
    layout: ShortLayout,
    captions: tuple[list[list[Word]], CaptionStyle] | None,
    music: Music | None,
    out: Path,
    threads: int,
    progress: Progress | None = None,
    *,
    ffmpeg: Ffmpeg,
    fonts_dir: Path | None = None,
) -> None:
    """Render the short into `out` (replaced only when ffmpeg succeeded): scene words in final-video time."""
    total = total_length(layout.spans)
    with _atomic_output(out) as (workdir, target):
        args: list[str] = []
        for scene in scenes:
            args += [*_background_input(scene), "-i", str(scene.narration)]
        if music is not None:
            args += ["-stream_loop", "-1", "-i", str(music.path)]
        parts = _video_parts(scenes, layout) + _join(len(scenes), layout, "vj")
        last = "vj"
        if captions is not None:
            parts.append(f"[vj]{_captions(captions, layout, workdir, fonts_dir)}[vc]")
            last = "vc"
        parts += _audio_parts(scenes, layout, music, total)
        args += ["-filter_complex", ";".join(parts), "-map", f"[{last}]", "-map", "[aout]"]
        args += [*_VIDEO_CODEC, "-r", str(FPS), *_AUDIO_CODEC, "-t", f"{total:.3f}"]
        ffmpeg.run([*args, "-movflags", "+faststart", str(target)], total, threads, progress)
        _check_output(ffmpeg, target)


def render_frame(
    scene: SceneMedia,
    layout: ShortLayout,
    captions: tuple[list[list[Word]], CaptionStyle] | None,
    at_s: float,
    out: Path,
    threads: int = 1,
    *,
    ffmpeg: Ffmpeg,
    fonts_dir: Path | None = None,
) -> None:
    """One frame (PNG) of a one-scene layout at `at_s`, through the same filters as `render_short` (the scene's
    narration is not read: a frame has no sound)."""
    with _atomic_output(out) as (workdir, target):
        parts = _video_parts([scene], layout)
        last = "v0"
        if captions is not None:
            parts.append(f"[v0]{_captions(captions, layout, workdir, fonts_dir)}[vc]")
            last = "vc"
        args = [*_background_input(scene), "-filter_complex", ";".join(parts), "-map", f"[{last}]"]
        args += ["-ss", f"{at_s:.3f}", "-frames:v", "1", "-update", "1", "-f", "image2", "-c:v", "png"]
        ffmpeg.run([*args, str(target.with_suffix(".png"))], threads=threads)
        target.with_suffix(".png").replace(target)


def _background_input(scene: SceneMedia) -> list[str]:
    loop = ["-stream_loop", "-1"] if scene.is_video else []
    return [*loop, "-i", str(scene.background)]


def _video_parts(scenes: list[SceneMedia], layout: ShortLayout) -> list[str]:
    """Each scene's picture, covering the frame for exactly its clip length, as [v0], [v1], ..."""
    parts = []
    stride = 2  # background and narration inputs alternate (the preview has only backgrounds: index 0)
    for index, (scene, span) in enumerate(zip(scenes, layout.spans, strict=True)):
        chain = background_chain(scene.is_video, scene.effect, layout.width, layout.height, span.clip_length)
        trim = f"trim=duration={span.clip_length:.3f},setpts=PTS-STARTPTS,settb=1/{FPS}"
        parts.append(f"[{index * stride}:v]{chain},{trim}[v{index}]")
    return parts


def _join(count: int, layout: ShortLayout, label: str) -> list[str]:
    """The scene pictures joined: concatenated for a cut, else a chain of xfades over the transition windows."""
    if count == 1:
        return [f"[v0]null[{label}]"]
    kind = TRANSITIONS[layout.transition]
    if not kind or layout.transition_s <= 0:
        return ["".join(f"[v{i}]" for i in range(count)) + f"concat=n={count}:v=1:a=0[{label}]"]
    parts = []
    previous = "v0"
    for index in range(1, count):
        offset = layout.spans[index].start - layout.transition_s
        name = label if index == count - 1 else f"x{index}"
        xfade = f"xfade=transition={kind}:duration={layout.transition_s:.3f}:offset={offset:.3f}"
        parts.append(f"[{previous}][v{index}]{xfade}[{name}]")
        previous = name
    return parts


def _captions(
    captions: tuple[list[list[Word]], CaptionStyle], layout: ShortLayout, workdir: Path, fonts_dir: Path | None
) -> str:
    words, style = captions
    ass_path = workdir / "captions.ass"
    ass_path.write_text(build_scenes_ass(words, style, layout.width, layout.height), encoding="utf-8")
    return _ass_filter(ass_path, fonts_dir or default_fonts_dir())


def _audio_parts(scenes: list[SceneMedia], layout: ShortLayout, music: Music | None, total: float) -> list[str]:
    """The narrations, each padded with silence to the next scene's start, then the music under them."""
    parts = []
    spans = layout.spans
    for index in range(len(scenes)):
        slot = (spans[index + 1].start if index + 1 < len(spans) else spans[index].end) - spans[index].start
        pad = f"apad,atrim=duration={slot:.3f},asetpts=PTS-STARTPTS"
        parts.append(f"[{2 * index + 1}:a]{_AUDIO_FORMAT},{pad}[a{index}]")
    narration = "aout" if music is None else "narr"
    parts.append("".join(f"[a{i}]" for i in range(len(scenes))) + f"concat=n={len(scenes)}:v=0:a=1[{narration}]")
    if music is not None:
        fade = min(MUSIC_FADE_S, total / 2)
        gain = f"asetnsamples=n=480,volume='{music.gain}':eval=frame"
        ending = f"afade=t=out:st={total - fade:.3f}:d={fade:.3f},atrim=duration={total:.3f}"
        parts.append(f"[{2 * len(scenes)}:a]{_AUDIO_FORMAT},{gain},{ending}[music]")
        parts.append("[narr][music]amix=inputs=2:duration=first:normalize=0[aout]")
    return parts
