"""Rendering captioned narration videos and merging clips, each with one ffmpeg process and an atomic output."""

import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from app.errors import InvalidInput
from app.services.ffmpeg import Ffmpeg, MediaInfo, RenderFailed
from app.services.video.captions import CaptionStyle, Word, build_ass, default_fonts_dir

FPS = 25
EFFECTS = ("ken_burns", "pan", "none")
MergeMode = Literal["copy", "reencode"]
Progress = Callable[[float], None]

_PRESCALE = 1.25
_ZOOM_END = 1.15
_SAMPLE_RATE = 48000
_AUDIO_FORMAT = f"aresample={_SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"
_VIDEO_CODEC = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
_AUDIO_CODEC = ["-c:a", "aac", "-b:a", "192k"]


def render_captioned_video(
    background: Path,
    background_is_video: bool,
    audio: Path,
    words: list[Word] | None,
    out: Path,
    width: int,
    height: int,
    effect: str,
    style: CaptionStyle,
    threads: int,
    progress: Progress | None = None,
    *,
    ffmpeg: Ffmpeg,
    fonts_dir: Path | None = None,
) -> None:
    """Narration over a still image (camera `effect`) or a looped video (effect unused), captions burned in.

    The output lasts exactly as long as the narration and replaces `out` only when ffmpeg succeeded.
    """
    _check_size(width, height)
    if effect not in EFFECTS:
        raise InvalidInput(f"effect must be one of {', '.join(EFFECTS)}")
    duration = _narration_duration(ffmpeg, audio)
    with _atomic_output(out) as (workdir, target):
        chain = background_chain(background_is_video, effect, width, height, duration)
        if words:
            chain += "," + captions_filter(words, style, width, height, workdir, fonts_dir)
        loop = ["-stream_loop", "-1"] if background_is_video else []
        args = [*loop, "-i", str(background), "-i", str(audio), "-filter_complex", f"[0:v]{chain}[v]"]
        args += ["-map", "[v]", "-map", "1:a:0", *_VIDEO_CODEC, "-r", str(FPS), *_AUDIO_CODEC]
        args += ["-t", f"{duration:.3f}", "-movflags", "+faststart", str(target)]
        ffmpeg.run(args, duration, threads, progress)
        _check_output(ffmpeg, target)


def _check_size(width: int, height: int) -> None:
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise InvalidInput("width and height must be even numbers of at least 16 pixels")


def _narration_duration(ffmpeg: Ffmpeg, audio: Path) -> float:
    info = ffmpeg.probe(audio)
    if not info.has_audio or info.duration <= 0:
        raise InvalidInput(f"narration {audio.name} has no audio or no duration")
    return info.duration


def background_chain(is_video: bool, effect: str, width: int, height: int, duration: float) -> str:
    """Filters turning input 0 into a WxH, FPS stream covering the frame, without captions."""
    if is_video:
        return f"{_cover(width, height)},setsar=1,fps={FPS},format=yuv420p"
    hold = f"loop=loop=-1:size=1,fps={FPS}"
    if effect == "ken_burns":
        big_w, big_h = _even(width * _PRESCALE), _even(height * _PRESCALE)
        frames = max(1, math.ceil(duration * FPS))
        zoom = f"zoompan=z='1+{_ZOOM_END - 1:g}*on/{frames}':x='(iw-iw/zoom)/2':y='(ih-ih/zoom)/2'"
        return f"{_cover(big_w, big_h)},setsar=1,{hold},{zoom}:d=1:fps={FPS}:s={width}x{height},format=yuv420p"
    if effect == "pan":
        wide = _even(width * _PRESCALE)
        pan = f"crop={width}:{height}:x='(iw-ow)*min(t/{duration:.3f},1)':y=0"
        return f"{_cover(wide, height)},setsar=1,{hold},{pan},format=yuv420p"
    return f"{_cover(width, height)},setsar=1,{hold},format=yuv420p"


def _cover(width: int, height: int) -> str:
    return f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height}"


def _even(value: float) -> int:
    return int(math.ceil(value / 2) * 2)


def captions_filter(
    words: list[Word], style: CaptionStyle, width: int, height: int, workdir: Path, fonts_dir: Path | None = None
) -> str:
    """Write the captions of a WxH frame as `workdir/captions.ass`; the filter that burns them in."""
    ass_path = workdir / "captions.ass"
    ass_path.write_text(build_ass(words, style, width, height), encoding="utf-8")
    return _ass_filter(ass_path, fonts_dir or default_fonts_dir())


def _ass_filter(ass_path: Path, fonts_dir: Path) -> str:
    return f"ass=filename={escape_filter_value(str(ass_path))}:fontsdir={escape_filter_value(str(fonts_dir))}"


def escape_filter_value(value: str) -> str:
    """Escape an option value for a filtergraph: once for the option parser, once for the graph parser."""
    option = "".join("\\" + c if c in "\\':" else c for c in value)
    return "".join("\\" + c if c in "\\'[],;" else c for c in option)


def _check_output(ffmpeg: Ffmpeg, path: Path) -> None:
    try:
        info = ffmpeg.probe(path)
    except InvalidInput as exc:
        raise RenderFailed(f"ffmpeg wrote an unreadable file: {exc.message}") from exc
    if not info.has_video or not info.has_audio:
        raise RenderFailed("ffmpeg wrote a file without both video and audio")


@contextmanager
def _atomic_output(out: Path) -> Iterator[tuple[Path, Path]]:
    """A private folder beside `out` and a temp target in it; the target replaces `out` only on success."""
    out.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    target = workdir / ("output" + (out.suffix or ".mp4"))
    try:
        yield workdir, target
        os.replace(target, out)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def merge_videos(
    inputs: list[Path],
    out: Path,
    music: Path | None,
    music_volume: float,
    threads: int,
    progress: Progress | None = None,
    *,
    ffmpeg: Ffmpeg,
) -> MergeMode:
    """Concatenate clips into `out`; stream copy when they all match and there is no music, else one re-encode."""
    if not inputs:
        raise InvalidInput("nothing to merge: no input videos")
    if music_volume < 0:
        raise InvalidInput("music_volume must not be negative")
    infos = [_merge_input(ffmpeg, path, index) for index, path in enumerate(inputs)]
    if music is not None and not ffmpeg.probe(music).has_audio:
        raise InvalidInput(f"music {music.name} has no audio stream")
    total = sum(info.duration for info in infos)
    with _atomic_output(out) as (workdir, target):
        if music is None and can_copy(infos):
            args = _copy_args(inputs, workdir, target)
            mode: MergeMode = "copy"
        else:
            args = _reencode_args(inputs, infos, music, music_volume, total, target)
            mode = "reencode"
        ffmpeg.run(args, total, threads, progress)
        _check_output(ffmpeg, target)
    return mode


def _merge_input(ffmpeg: Ffmpeg, path: Path, index: int) -> MediaInfo:
    info = ffmpeg.probe(path)
    if not info.has_video or info.duration <= 0:
        raise InvalidInput(f"input {index + 1} ({path.name}) has no video or no duration")
    return info


def can_copy(infos: list[MediaInfo]) -> bool:
    """True when the clips can be joined without re-encoding: H.264 + AAC with identical parameters."""
    first = infos[0]

    def signature(i: MediaInfo) -> tuple[object, ...]:
        return (i.width, i.height, i.fps, i.pix_fmt, i.sample_rate, i.channels)

    codecs_ok = all(i.video_codec == "h264" and i.audio_codec == "aac" and i.has_audio for i in infos)
    return codecs_ok and all(signature(i) == signature(first) for i in infos)


def _copy_args(inputs: list[Path], workdir: Path, target: Path) -> list[str]:
    listing = workdir / "inputs.txt"
    lines = ["file '" + str(path.resolve()).replace("'", "'\\''") + "'" for path in inputs]
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0:v:0", "-map", "0:a:0", "-c", "copy"]
    return [*args, "-movflags", "+faststart", str(target)]


def _reencode_args(
    inputs: list[Path], infos: list[MediaInfo], music: Path | None, music_volume: float, total: float, target: Path
) -> list[str]:
    args: list[str] = []
    for path in inputs:
        args += ["-i", str(path)]
    if music is not None:
        args += ["-stream_loop", "-1", "-i", str(music)]
    graph = _merge_graph(infos, music is not None, music_volume, total)
    args += ["-filter_complex", graph, "-map", "[vout]", "-map", "[aout]"]
    return [*args, *_VIDEO_CODEC, *_AUDIO_CODEC, "-movflags", "+faststart", str(target)]


def _merge_graph(infos: list[MediaInfo], with_music: bool, music_volume: float, total: float) -> str:
    """Fit+pad every clip to the first one's size and rate, give silent clips silence, concat, mix in music."""
    first = infos[0]
    width, height = first.width - first.width % 2, first.height - first.height % 2
    fps = f"{first.fps:g}" if first.fps > 0 else str(FPS)
    parts: list[str] = []
    pads = ""
    for index, info in enumerate(infos):
        fit = f"scale={width}:{height}:force_original_aspect_ratio=decrease"
        pad = f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black"
        parts.append(f"[{index}:v]{fit},{pad},setsar=1,fps={fps},format=yuv420p,setpts=PTS-STARTPTS[v{index}]")
        parts.append(_merge_audio(index, info))
        pads += f"[v{index}][a{index}]"
    concat_audio = "acat" if with_music else "aout"
    parts.append(f"{pads}concat=n={len(infos)}:v=1:a=1[vout][{concat_audio}]")
    if with_music:
        music = f"[{len(infos)}:a]{_AUDIO_FORMAT},volume={music_volume:g}[music]"
        mix = f"[acat][music]amix=inputs=2:duration=first:normalize=0,atrim=duration={total:.3f}[aout]"
        parts += [music, mix]
    return ";".join(parts)


def _merge_audio(index: int, info: MediaInfo) -> str:
    if info.has_audio:
        return f"[{index}:a]{_AUDIO_FORMAT},asetpts=PTS-STARTPTS[a{index}]"
    silence = f"anullsrc=r={_SAMPLE_RATE}:cl=stereo,atrim=duration={info.duration:.3f}"
    return f"{silence},{_AUDIO_FORMAT},asetpts=PTS-STARTPTS[a{index}]"
