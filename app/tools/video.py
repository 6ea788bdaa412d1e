"""Video tools (kind `video`): transcode, cut, split, gif-preview, extract-frames and thumbnail, each ffmpeg over
a stored video. The GET routes (`info`, `extract-frame`) are in `app/tools/video_routes.py`."""

import itertools
import math
import re
import zipfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.errors import InvalidInput
from app.services.ffmpeg import Ffmpeg, ImageFormat, MediaInfo, media_facts
from app.services.files import StoredFile
from app.services.runner import ExtraFile, JobOutput
from app.tools.table import Inputs, Invocation, Tool, ToolForm, ToolParams, ToolRun

PREFIX = "/api/v1/media/video-tools"
VideoFormat = Literal["mp4", "webm", "mov", "mkv"]
Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]

VIDEO_FORMATS = ("mp4", "webm", "mov", "mkv")
MUXERS = {"mp4": "mp4", "mov": "mov", "mkv": "matroska", "webm": "webm"}
MP4_CODECS = {"h264", "hevc", "av1", "vp9", "mpeg4", "aac", "mp3", "opus", "alac", "ac3", "eac3", "flac"}
COPYABLE: dict[str, set[str] | None] = {
    "mp4": MP4_CODECS,
    "mov": MP4_CODECS | {"prores", "mjpeg", "pcm_s16le", "pcm_s24le"},
    "webm": {"vp8", "vp9", "av1", "opus", "vorbis"},
    "mkv": None,
}
"""The codecs each container takes as they are (None: any)."""
VP9_SPEED: dict[str, tuple[str, str]] = {
    "ultrafast": ("realtime", "8"),
    "superfast": ("realtime", "7"),
    "veryfast": ("realtime", "6"),
    "faster": ("good", "5"),
    "fast": ("good", "4"),
    "medium": ("good", "3"),
    "slow": ("good", "2"),
    "slower": ("good", "1"),
    "veryslow": ("good", "0"),
}
"""x264's preset names mapped onto libvpx-vp9's deadline and cpu-used, for webm."""
IMAGE_ARGS: dict[str, list[str]] = {
    "png": ["-c:v", "png"],
    "jpg": ["-c:v", "mjpeg", "-q:v", "2"],
    "webp": ["-c:v", "libwebp", "-quality", "90"],
}
"""Encoder options for one still image of each format (written by the image2 muxer)."""
END_SLACK_S = 0.01
"""The log gives durations to the hundredth: an end this close past the reported duration is still inside."""
CUT_CRF, CUT_PRESET = 18, "veryfast"
"""A frame-accurate cut re-encodes near-losslessly and fast."""
MAX_SEGMENTS = 50
MAX_FRAMES = 200
MAX_GIF_S = 30.0
DEFAULT_GIF_S = 5.0


def seconds(value: float) -> str:
    """A time for ffmpeg's options, to the millisecond."""
    return f"{value:.3f}"


def video_encoder(container: str, crf: int | None, preset: str) -> list[str]:
    """libx264 (mp4, mov, mkv) or libvpx-vp9 (webm) at `crf` with `preset`'s speed."""
    if container == "webm":
        deadline, speed = VP9_SPEED[preset]
        quality = str(32 if crf is None else crf)
        return ["-c:v", "libvpx-vp9", "-crf", quality, "-b:v", "0", "-deadline", deadline, "-cpu-used", speed]
    return ["-c:v", "libx264", "-preset", preset, "-crf", str(23 if crf is None else crf), "-pix_fmt", "yuv420p"]


def audio_encoder(container: str, bitrate: str | None) -> list[str]:
    return ["-c:a", "libopus" if container == "webm" else "aac", "-b:a", bitrate or "128k"]


def container_args(container: str) -> list[str]:
    faststart = ["-movflags", "+faststart"] if container in ("mp4", "mov") else []
    return [*faststart, "-f", MUXERS[container]]


def copyable(codec: str, container: str) -> bool:
    """Whether a stream of `codec` (\"\" when absent) goes into `container` as it is."""
    accepted = COPYABLE[container]
    return not codec or accepted is None or codec in accepted


def container_of(stored: StoredFile) -> str:
    """The container a cut or split of this input is written in: its own, or mkv (which holds any codec)."""
    return stored.ext if stored.ext in VIDEO_FORMATS else "mkv"


def segment_args(source: Path, start: float, duration: float, accurate: bool, container: str) -> list[str]:
    """One piece of a video: re-encoded from the exact frame, or stream-copied from the keyframe at or before."""
    streams = ["-map", "0:v:0", "-map", "0:a:0?"]
    if accurate:
        from_zero = ["-vf", "setpts=PTS-STARTPTS", "-af", "asetpts=PTS-STARTPTS"]  # the first frame at 0, not 0.04
        encode = [*video_encoder(container, CUT_CRF, CUT_PRESET), *audio_encoder(container, None)]
        return ["-ss", seconds(start), "-t", seconds(duration), "-i", str(source), *streams, *from_zero, *encode]
    copy = ["-c", "copy", "-avoid_negative_ts", "make_zero"]
    return ["-ss", seconds(start), "-i", str(source), "-t", seconds(duration), *streams, *copy]


def frame_args(source: Path, timestamp: float, fmt: str) -> list[str]:
    """The first frame at or after `timestamp`, as one image."""
    single = ["-frames:v", "1", *IMAGE_ARGS[fmt], "-f", "image2", "-update", "1"]
    return ["-ss", seconds(timestamp), "-i", str(source), "-map", "0:v:0", *single]


def grab_frame(ffmpeg: Ffmpeg, source: Path, timestamp: float, fmt: str, out: Path, threads: int) -> None:
    """Write the frame at `timestamp` to `out`; past the last frame's start (but inside the duration), the last."""
    ffmpeg.run([*frame_args(source, timestamp, fmt), str(out)], threads=threads)
    if not out.exists():
        last = ["-sseof", "-1", "-i", str(source), "-map", "0:v:0", *IMAGE_ARGS[fmt], "-f", "image2", "-update", "1"]
        ffmpeg.run([*last, str(out)], threads=threads)


def zip_files(paths: list[Path], archive: Path) -> Path:
    """Store the files (already compressed media) side by side in a zip."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as bundle:
        for path in paths:
            bundle.write(path, path.name)
    return archive


def archive_facts(archive: Path, count: int, what: str) -> dict[str, Any]:
    return {
        "media_type": "archive",
        "format": "zip",
        "size": archive.stat().st_size,
        "archive": f"A zip of the {count} {what}.",
    }


# --- the route side: inputs and times checked before admission ---------------------------------------------


def ready_video(inputs: Inputs, video_id: str, field: str = "video_id") -> tuple[StoredFile, MediaInfo]:
    """A ready video with a picture and a known duration, and what ffmpeg says about it."""
    stored = inputs.ready(video_id, field, ("video",))
    media = inputs.probe(stored)
    if not media.has_video:
        raise InvalidInput(f"Field '{field}': file '{stored.id}' has no video stream.")
    if media.duration <= 0:
        raise InvalidInput(f"Field '{field}': the duration of video '{stored.id}' is unknown.")
    return stored, media


def check_inside(field: str, at: float, media: MediaInfo) -> None:
    """A start or timestamp: a time at which the video still shows something."""
    if at >= media.duration:
        raise InvalidInput(f"Field '{field}': {at:g} s is at or past the end of the video ({media.duration:g} s).")


def check_ends_inside(field: str, end: float, media: MediaInfo) -> None:
    if end > media.duration + END_SLACK_S:
        raise InvalidInput(f"Field '{field}': it ends at {end:g} s, past the end of the video ({media.duration:g} s).")


def parse_times(field: str, text: str) -> list[float]:
    """A comma list of seconds."""
    try:
        times = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput(f"Field '{field}': expected seconds separated by commas, like '0.5,2,7.25'.") from None
    if not times:
        raise InvalidInput(f"Field '{field}': give at least one time.")
    if any(time < 0 or not math.isfinite(time) for time in times):
        raise InvalidInput(f"Field '{field}': times are seconds from the start, 0 or more.")
    return times


# --- transcode ------------------------------------------------------------------------------------------------


class TranscodeParams(ToolParams):
    operation: Literal["video_transcode"] = "video_transcode"
    video_id: str
    format: VideoFormat
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    crf: int | None = None
    preset: Preset | None = None
    audio_bitrate: str | None = None

    def changes_picture(self) -> bool:
        return any(value is not None for value in (self.width, self.height, self.fps, self.crf, self.preset))

    def invocation(self, run: ToolRun) -> Invocation:
        source = run.input(self.video_id)
        media = run.probe(source)
        copy_video = not self.changes_picture() and copyable(media.video_codec, self.format)
        copy_audio = self.audio_bitrate is None and copyable(media.audio_codec, self.format)
        video = ["-c:v", "copy"] if copy_video else [*self.picture_filter(), *self.video_encoder()]
        audio = ["-c:a", "copy"] if copy_audio else audio_encoder(self.format, self.audio_bitrate)
        streams = ["-map", "0:v:0", "-map", "0:a:0?"]
        facts = {
            "source_id": self.video_id,
            "stream_copy": copy_video and copy_audio,
            "video_stream": "copied" if copy_video else "re-encoded",
            "audio_stream": ("copied" if copy_audio else "re-encoded") if media.has_audio else "none",
        }
        args = ["-i", str(source), *streams, *video, *audio, *container_args(self.format)]
        return Invocation(args, self.format, media.duration, facts)

    def picture_filter(self) -> list[str]:
        """Scale (one side alone keeps the aspect) and frame rate; even sizes for 4:2:0."""
        width = self.width if self.width is not None else -2
        height = self.height if self.height is not None else -2
        size = f"scale={width}:{height}" if self.width or self.height else "scale=trunc(iw/2)*2:trunc(ih/2)*2"
        steps = [size, *([f"fps={self.fps:g}"] if self.fps else [])]
        return ["-vf", ",".join(steps)]

    def video_encoder(self) -> list[str]:
        return video_encoder(self.format, self.crf, self.preset or "medium")


class TranscodeForm(ToolForm):
    video_id: str = Field(description="A stored video.")
    format: VideoFormat = Field("mp4", description="The container: a stream copy when nothing else changes.")
    width: int | None = Field(None, ge=16, le=7680, multiple_of=2, description="Pixels; alone, keeps the aspect.")
    height: int | None = Field(None, ge=16, le=7680, multiple_of=2, description="Pixels; alone, keeps the aspect.")
    fps: float | None = Field(None, gt=0, le=120, description="Frames per second; default: the input's.")
    crf: int | None = Field(None, ge=0, le=51, description="Quality (lower is better); default 23 (h264), 32 (vp9).")
    preset: Preset | None = Field(None, description="Encoder speed; default medium.")
    audio_bitrate: str | None = Field(None, pattern=r"^\d{2,3}k$", description="e.g. 128k; default: copy if it fits.")

    def params(self, inputs: Inputs) -> TranscodeParams:
        stored, _ = ready_video(inputs, self.video_id)
        return TranscodeParams(
            video_id=stored.id,
            format=self.format,
            width=self.width,
            height=self.height,
            fps=self.fps,
            crf=self.crf,
            preset=self.preset,
            audio_bitrate=self.audio_bitrate,
        )


# --- cut and split --------------------------------------------------------------------------------------------


class CutParams(ToolParams):
    operation: Literal["video_cut"] = "video_cut"
    video_id: str
    start: float
    duration: float
    accurate: bool
    container: VideoFormat

    def invocation(self, run: ToolRun) -> Invocation:
        source = run.input(self.video_id)
        args = segment_args(source, self.start, self.duration, self.accurate, self.container)
        facts = {
            "source_id": self.video_id,
            "start": self.start,
            "end": round(self.start + self.duration, 3),
            "accurate": self.accurate,
            "stream_copy": not self.accurate,
        }
        return Invocation([*args, *container_args(self.container)], self.container, self.duration, facts)


class CutForm(ToolForm):
    video_id: str = Field(description="A stored video.")
    start: float = Field(0.0, ge=0, description="Seconds from the start.")
    end: float | None = Field(None, gt=0, description="Seconds from the start; or give duration. Default: the end.")
    duration: float | None = Field(None, gt=0, description="Seconds; or give end.")
    accurate: bool = Field(
        True,
        description="true: re-encode from the exact frame; false: stream copy from the keyframe at or before start.",
    )

    def params(self, inputs: Inputs) -> CutParams:
        stored, media = ready_video(inputs, self.video_id)
        check_inside("start", self.start, media)
        duration = self.length(media)
        return CutParams(
            video_id=stored.id,
            start=self.start,
            duration=duration,
            accurate=self.accurate,
            container=container_of(stored),
        )

    def length(self, media: MediaInfo) -> float:
        """What the cut lasts, from end or duration (one of them at most), else to the video's end."""
        if self.end is not None and self.duration is not None:
            raise InvalidInput("Field 'end': give end or duration, not both.")
        if self.end is not None:
            if self.end <= self.start:
                raise InvalidInput(f"Field 'end': {self.end:g} s is not after start ({self.start:g} s).")
            check_ends_inside("end", self.end, media)
            return self.end - self.start
        if self.duration is not None:
            check_ends_inside("duration", self.start + self.duration, media)
            return self.duration
        return media.duration - self.start


class Segment(BaseModel):
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


SEGMENT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*$")


def parse_segments(text: str, media: MediaInfo) -> list[Segment]:
    """`"0-10,10-25.5"`: each one forwards, inside the video, none overlapping another."""
    pieces = [piece for piece in text.split(",") if piece.strip()]
    if not pieces or len(pieces) > MAX_SEGMENTS:
        raise InvalidInput(f"Field 'segments': give 1 to {MAX_SEGMENTS} segments like '0-10,10-25.5'.")
    segments = []
    for piece in pieces:
        match = SEGMENT_RE.match(piece)
        if match is None:
            raise InvalidInput(f"Field 'segments': '{piece.strip()[:40]}' is not start-end in seconds, like '10-25.5'.")
        segment = Segment(start=float(match.group(1)), end=float(match.group(2)))
        if segment.end <= segment.start:
            raise InvalidInput(f"Field 'segments': '{piece.strip()}' ends before it starts.")
        check_ends_inside("segments", segment.end, media)
        segments.append(segment)
    ordered = sorted(segments, key=lambda segment: segment.start)
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            raise InvalidInput(
                f"Field 'segments': {before.start:g}-{before.end:g} and {after.start:g}-{after.end:g} overlap."
            )
    return segments


class SplitParams(ToolParams):
    operation: Literal["video_split"] = "video_split"
    video_id: str
    segments: list[Segment]
    accurate: bool
    container: VideoFormat

    def execute(self, run: ToolRun) -> JobOutput:
        source = run.input(self.video_id)
        total = sum(segment.duration for segment in self.segments)
        done, pieces = 0.0, []
        for number, segment in enumerate(self.segments, start=1):
            args = segment_args(source, segment.start, segment.duration, self.accurate, self.container)
            out = run.work_dir / f"segment-{number:02d}.{self.container}"
            stop = 95 * (done + segment.duration) / total
            invocation = Invocation([*args, *container_args(self.container)], self.container, segment.duration)
            run.ffmpeg_run(invocation, out, 95 * done / total, stop)
            done += segment.duration
            pieces.append(self.piece(run, out, number, segment))
        archive = zip_files([piece.file for piece in pieces], run.work_dir / "segments.zip")
        facts = {
            **archive_facts(archive, len(pieces), "segments, each also stored under its own id (see files)"),
            "source_id": self.video_id,
            "accurate": self.accurate,
            "segments": [segment.model_dump() for segment in self.segments],
        }
        return JobOutput(archive, "zip", facts, pieces)

    def piece(self, run: ToolRun, out: Path, number: int, segment: Segment) -> ExtraFile:
        base = run.context.job.name or "segment"
        facts = {**media_facts(out, run.ffmpeg), "source_id": self.video_id, "segment": number, **segment.model_dump()}
        return ExtraFile(out, self.container, f"{base}-{number:02d}", facts)


class SplitForm(ToolForm):
    video_id: str = Field(description="A stored video.")
    segments: str = Field(description="Comma list of start-end in seconds, like 0-10,10-25.5; one file each.")
    accurate: bool = Field(True, description="true: re-encode at the exact frames; false: stream copy at keyframes.")

    def params(self, inputs: Inputs) -> SplitParams:
        stored, media = ready_video(inputs, self.video_id)
        segments = parse_segments(self.segments, media)
        return SplitParams(
            video_id=stored.id, segments=segments, accurate=self.accurate, container=container_of(stored)
        )


# --- gif-preview ----------------------------------------------------------------------------------------------


class GifParams(ToolParams):
    operation: Literal["video_gif_preview"] = "video_gif_preview"
    video_id: str
    start: float
    duration: float
    width: int
    fps: float

    def invocation(self, run: ToolRun) -> Invocation:
        source = run.input(self.video_id)
        graph = (
            f"[0:v]fps={self.fps:g},scale={self.width}:-1:flags=lanczos,split[frames][sample];"
            "[sample]palettegen=stats_mode=diff[palette];"
            "[frames][palette]paletteuse=dither=bayer:bayer_scale=5:diff_mode=rectangle"
        )
        window = ["-ss", seconds(self.start), "-t", seconds(self.duration), "-i", str(source)]
        args = [*window, "-filter_complex", graph, "-an", "-loop", "0", "-f", "gif"]
        facts = {
            "media_type": "image",
            "animated": True,
            "source_id": self.video_id,
            "start": self.start,
            "frames": round(self.duration * self.fps),
        }
        return Invocation(args, "gif", self.duration, facts)


class GifForm(ToolForm):
    video_id: str = Field(description="A stored video.")
    start: float = Field(0.0, ge=0, description="Seconds from the start.")
    duration: float | None = Field(
        None,
        gt=0,
        le=MAX_GIF_S,
        description=f"Seconds, at most {MAX_GIF_S:g}; default {DEFAULT_GIF_S:g} (or to the end).",
    )
    width: int | None = Field(None, ge=16, le=1920, description="Pixels; the height keeps the aspect. Default 480.")
    fps: float = Field(12.0, gt=0, le=50, description="Frames per second.")

    def params(self, inputs: Inputs) -> GifParams:
        stored, media = ready_video(inputs, self.video_id)
        check_inside("start", self.start, media)
        if self.duration is not None:
            check_ends_inside("duration", self.start + self.duration, media)
        duration = self.duration or min(DEFAULT_GIF_S, media.duration - self.start)
        width = self.width or min(480, media.width)
        return GifParams(video_id=stored.id, start=self.start, duration=duration, width=width, fps=self.fps)


# --- extract-frames and thumbnail -----------------------------------------------------------------------------


class FramesParams(ToolParams):
    operation: Literal["video_extract_frames"] = "video_extract_frames"
    video_id: str
    format: ImageFormat
    timestamps: list[float] | None = None
    every_s: float | None = None

    def execute(self, run: ToolRun) -> JobOutput:
        source = run.input(self.video_id)
        frames = self.every(run, source) if self.every_s else self.at_timestamps(run, source)
        archive = zip_files([path for path, _ in frames], run.work_dir / "frames.zip")
        listed = [{"name": path.name, "timestamp": round(at, 3)} for path, at in frames]
        facts = {
            **archive_facts(archive, len(frames), f"{self.format} frames"),
            "source_id": self.video_id,
            "image_format": self.format,
            "count": len(frames),
            "frames": listed,
        }
        return JobOutput(archive, "zip", facts)

    def at_timestamps(self, run: ToolRun, source: Path) -> list[tuple[Path, float]]:
        """One quick seek per timestamp."""
        timestamps = self.timestamps or []
        frames = []
        for number, at in enumerate(timestamps, start=1):
            out = run.work_dir / f"frame-{number:04d}.{self.format}"
            grab_frame(run.ffmpeg, source, at, self.format, out, run.threads())
            run.context.progress(95 * number / len(timestamps))
            frames.append((out, at))
        return frames

    def every(self, run: ToolRun, source: Path) -> list[tuple[Path, float]]:
        """One pass: the first frame at or after each multiple of every_s."""
        step = f"{self.every_s:g}"
        folder = run.work_dir / "frames"
        folder.mkdir(exist_ok=True)
        chosen = f"select='eq(n\\,0)+gt(floor(t/{step})\\,floor(prev_t/{step}))'"
        args = ["-i", str(source), "-map", "0:v:0", "-vf", chosen, "-fps_mode", "passthrough"]
        invocation = Invocation(
            [*args, *IMAGE_ARGS[self.format], "-f", "image2"], self.format, run.probe(source).duration
        )
        run.ffmpeg_run(invocation, folder / f"frame-%04d.{self.format}", 0, 95)
        paths = sorted(folder.glob(f"frame-*.{self.format}"))
        return [(path, index * (self.every_s or 0)) for index, path in enumerate(paths)]


class FramesForm(ToolForm):
    video_id: str = Field(description="A stored video.")
    timestamps: str | None = Field(None, description="Comma list of seconds, like 0.5,2,7.25; or give every_s.")
    every_s: float | None = Field(None, gt=0, description="One frame every this many seconds, from 0; or timestamps.")
    format: ImageFormat = Field("png", description="The images' format.")

    def params(self, inputs: Inputs) -> FramesParams:
        if (self.timestamps is None) == (self.every_s is None):
            raise InvalidInput("Field 'timestamps': give timestamps or every_s (one of them).")
        stored, media = ready_video(inputs, self.video_id)
        if self.every_s is not None:
            if media.fps and self.every_s < 1 / media.fps:
                raise InvalidInput(f"Field 'every_s': shorter than one frame ({1 / media.fps:g} s).")
            count = math.ceil(media.duration / self.every_s)
            if count > MAX_FRAMES:
                raise InvalidInput(f"Field 'every_s': it gives {count} frames; at most {MAX_FRAMES}.")
            return FramesParams(video_id=stored.id, format=self.format, every_s=self.every_s)
        timestamps = parse_times("timestamps", self.timestamps or "")
        if len(timestamps) > MAX_FRAMES:
            raise InvalidInput(f"Field 'timestamps': {len(timestamps)} timestamps; at most {MAX_FRAMES}.")
        for at in timestamps:
            check_inside("timestamps", at, media)
        return FramesParams(video_id=stored.id, format=self.format, timestamps=timestamps)


class ThumbnailParams(ToolParams):
    operation: Literal["video_thumbnail"] = "video_thumbnail"
    video_id: str
    columns: int
    rows: int
    width: int
    format: Literal["png", "jpg"]

    def invocation(self, run: ToolRun) -> Invocation:
        source = run.input(self.video_id)
        media = run.probe(source)
        tiles = self.columns * self.rows
        step = media.duration / tiles
        offset = step / 2
        pick = f"gte(t\\,{offset:.4f})*gt(floor((t-{offset:.4f})/{step:.4f})\\,floor((prev_t-{offset:.4f})/{step:.4f}))"
        tile_width = self.width // self.columns
        sheet = f"select='{pick}',scale={tile_width}:-1,tile={self.columns}x{self.rows},pad={self.width}:ih:0:0"
        args = ["-i", str(source), "-map", "0:v:0", "-vf", sheet, "-frames:v", "1", *IMAGE_ARGS[self.format]]
        facts = {
            "source_id": self.video_id,
            "columns": self.columns,
            "rows": self.rows,
            "timestamps": [round(offset + index * step, 3) for index in range(tiles)],
        }
        return Invocation([*args, "-f", "image2", "-update", "1"], self.format, media.duration, facts)


class ThumbnailForm(ToolForm):
    video_id: str = Field(description="A stored video.")
    columns: int = Field(4, ge=1, le=10)
    rows: int = Field(4, ge=1, le=10)
    width: int = Field(1280, ge=64, le=7680, description="The sheet's width in pixels; each tile is width/columns.")
    format: Literal["png", "jpg"] = "png"

    def params(self, inputs: Inputs) -> ThumbnailParams:
        stored, media = ready_video(inputs, self.video_id)
        if self.width // self.columns < 16:
            raise InvalidInput(
                f"Field 'width': {self.width} px leaves less than 16 px for each of {self.columns} columns."
            )
        frames = math.floor(media.duration * media.fps) if media.fps else None
        tiles = self.columns * self.rows
        if frames is not None and 2 * tiles > frames:
            raise InvalidInput(
                f"Field 'rows': a {self.columns}x{self.rows} grid needs {2 * tiles} frames (two for each tile, so "
                f"that each tile's frame is its own); the video has {frames}."
            )
        return ThumbnailParams(
            video_id=stored.id, columns=self.columns, rows=self.rows, width=self.width, format=self.format
        )


def video_tool(name: str, form: type[ToolForm], params: type[ToolParams], summary: str) -> Tool:
    return Tool(f"{PREFIX}/{name}", "video", form, params, summary, "video-tools")


TOOLS = [
    video_tool("transcode", TranscodeForm, TranscodeParams, "Transcode a video (a stream copy when it can be)"),
    video_tool("cut", CutForm, CutParams, "Cut a piece of a video, to the frame or at keyframes"),
    video_tool("split", SplitForm, SplitParams, "Split a video into segments, one file each"),
    video_tool("gif-preview", GifForm, GifParams, "A GIF preview with a generated palette"),
    video_tool("extract-frames", FramesForm, FramesParams, "Frames of a video as a zip of images"),
    video_tool("thumbnail", ThumbnailForm, ThumbnailParams, "A contact sheet of evenly spaced frames"),
]
