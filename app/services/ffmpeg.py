"""ffmpeg (the binary imageio-ffmpeg ships, or FFMPEG_BINARY): probing media and running one process per job,
killed at once when the job's cancel scope is cancelled."""

import re
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, TypedDict

from app.errors import InvalidInput
from app.services.cancellation import current_scope, kill_on_cancel

ImageFormat = Literal["png", "jpg", "webp"]
"""The image formats a frame is written in."""
_STDERR_KEEP = 200
_MESSAGE_MAX = 400
_PROBE_TIMEOUT_S = 60.0

_DURATION_RE = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_BITRATE_RE = re.compile(r"Duration:.*?bitrate:\s*(\d+) kb/s")
_DISPLAY_MATRIX_RE = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees", re.IGNORECASE)
_ROTATE_TAG_RE = re.compile(r"^\s*rotate\s*:\s*(-?\d+)\s*$", re.MULTILINE)
_STREAM_RE = re.compile(r"^\s*Stream #\d+:\d+.*?: (Video|Audio): (\w+)(.*)$")
_SIZE_RE = re.compile(r",\s(\d+)x(\d+)[\s,]")
_FPS_RE = re.compile(r"([\d.]+)(k?) (?:fps|tbr)\b")
_RATE_RE = re.compile(r"(\d+) Hz")
_PIX_FMT_RE = re.compile(r"^\s*(?:\([^)]*\)\s*)*,\s*(\w+)")
_ADDRESS_RE = re.compile(r" @ 0x[0-9a-f]+")
_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "6.1": 7, "7.1": 8}
_NOISE = re.compile(
    r"Task finished with error code|Terminating thread with return code|Conversion failed|"
    r"Nothing was written into output file|Could not open encoder before EOF|Decode error rate|"
    r"Cannot determine format of input|Error sending frames to consumers|^Error : |"
    r"Error initializing filters|Error parsing a filter description|Error parsing filterchain|"
    r"Error while opening encoder|Error selecting an encoder|Error opening (?:input|output) files?[ :]|"
    r"Error parsing options for output file|Error binding filtergraph inputs/outputs",
    re.IGNORECASE,
)
_INPUT_FILE_RE = re.compile(r"^Error opening input file (.+)\.$")
_INPUT_REASON_RE = re.compile(r"Error opening input: (.+)$")

ENCODER_ARGS = {
    "mp3": ["-c:a", "libmp3lame", "-b:a", "128k", "-f", "mp3"],
    "opus": ["-c:a", "libopus", "-b:a", "64k", "-f", "ogg"],
    "flac": ["-c:a", "flac", "-f", "flac"],
    "aac": ["-c:a", "aac", "-b:a", "128k", "-f", "adts"],
    "pcm": ["-c:a", "pcm_s16le", "-f", "s16le"],
}
"""ffmpeg output options for each encoded speech format (WAV needs no encoding)."""


class RenderFailed(Exception):
    """ffmpeg exited with an error; `message` is the one most relevant line of its log."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class MediaInfo:
    """What ffmpeg reports about a file; sizes and rates are 0 and codecs "" where absent."""

    duration: float
    has_video: bool
    has_audio: bool
    width: int = 0
    height: int = 0
    fps: float = 0.0
    video_codec: str = ""
    audio_codec: str = ""
    pix_fmt: str = ""
    sample_rate: int = 0
    channels: int = 0
    bitrate: int = 0
    """The whole file's bits per second, as the container reports it."""
    rotation: int = 0
    """Degrees clockwise a player turns the picture (0, 90, 180 or 270), like the classic `rotate` tag."""


class Ffmpeg:
    """The ffmpeg binary and how every ffmpeg process of the server is run, probed, timed out and killed."""

    def __init__(self, binary: str, probe_timeout_s: float = _PROBE_TIMEOUT_S) -> None:
        self.binary = binary
        self.probe_timeout_s = probe_timeout_s

    @classmethod
    def locate(cls, explicit: str | None = None) -> "Ffmpeg":
        """The explicit path when given (FFMPEG_BINARY), else the binary shipped by imageio-ffmpeg."""
        if explicit:
            return cls(explicit)
        import imageio_ffmpeg

        return cls(imageio_ffmpeg.get_ffmpeg_exe())

    def __repr__(self) -> str:
        return f"Ffmpeg({self.binary!r})"

    def command(self, *args: str) -> list[str]:
        """The binary and the options every invocation shares, then `args`: for callers running it themselves."""
        return [self.binary, "-hide_banner", "-nostdin", *args]

    def run(
        self,
        args: list[str],
        duration_s: float | None = None,
        threads: int = 0,
        progress: Callable[[float], None] | None = None,
    ) -> None:
        """Run one ffmpeg process; `args` end with the output path. RenderFailed with one log line on failure,
        Cancelled when the current scope is cancelled (the process is killed at once)."""
        tail: deque[str] = deque(maxlen=_STDERR_KEEP)
        _check_cancelled()
        cmd = self._run_command(args, threads)
        with subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
            code, reported = _supervise(proc, tail, duration_s, progress)
        _check_cancelled()
        if code != 0:
            raise RenderFailed(error_line(list(tail), code))
        if progress is not None and reported < 1.0:
            progress(1.0)

    def probe(self, path: Path | str) -> MediaInfo:
        """Read duration and streams from `ffmpeg -i` stderr; InvalidInput when ffmpeg cannot read the file."""
        path = Path(path)
        if not path.is_file():
            raise InvalidInput(f"media file not found: {path.name}")
        try:
            log = self.probe_log(path)
        except subprocess.TimeoutExpired as exc:
            raise InvalidInput(f"timed out reading media file {path.name}") from exc
        info = parse_probe_log(log)
        if info is None:
            raise InvalidInput(f"cannot read media file {path.name}: {_probe_reason(log)}")
        return info

    def probe_log(self, path: Path) -> str:
        """The raw stderr of `ffmpeg -i path`; subprocess.TimeoutExpired (process killed) past probe_timeout_s."""
        cmd = self.command("-i", str(path))
        with subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
            try:
                with kill_on_cancel(proc.kill):
                    _, err = proc.communicate(timeout=self.probe_timeout_s)
            except BaseException:
                proc.kill()
                raise
        _check_cancelled()
        return err.decode("utf-8", errors="replace")

    def encode_audio(self, wav: Path, fmt: str, out: Path, threads: int) -> None:
        """Convert a WAV to mono `fmt` (a key of ENCODER_ARGS) with one ffmpeg process."""
        try:
            self.run(["-i", str(wav), "-ac", "1", *ENCODER_ARGS[fmt], str(out)], threads=threads)
        except RenderFailed as exc:
            raise RenderFailed(f"ffmpeg could not encode {fmt}: {exc.message}") from exc

    def _run_command(self, args: list[str], threads: int) -> list[str]:
        head = self.command("-y", "-loglevel", "error", "-progress", "pipe:1", "-nostats")
        if threads <= 0:
            return head + args
        n = str(threads)
        head += ["-filter_threads", n, "-filter_complex_threads", n]
        return head + args[:-1] + ["-threads", n] + args[-1:]


class _StreamFields(TypedDict, total=False):
    """`MediaInfo`'s fields that the stream lines of a probe log give."""

    has_video: bool
    has_audio: bool
    width: int
    height: int
    fps: float
    video_codec: str
    audio_codec: str
    pix_fmt: str
    sample_rate: int
    channels: int


def parse_probe_log(log: str) -> MediaInfo | None:
    """MediaInfo from an `ffmpeg -i` log, or None when it names no usable video or audio stream."""
    fields: _StreamFields = {"has_video": False, "has_audio": False}
    for line in log.splitlines():
        match = _STREAM_RE.match(line)
        if match is None:
            continue
        kind, codec, rest = match.groups()
        if kind == "Video" and not fields["has_video"] and "(attached pic)" not in rest:
            fields.update(_video_fields(codec, rest))
        elif kind == "Audio" and not fields["has_audio"]:
            fields.update(_audio_fields(codec, rest))
    if not fields["has_video"] and not fields["has_audio"]:
        return None
    return MediaInfo(duration=_duration(log), bitrate=_bitrate(log), rotation=_rotation(log), **fields)


def _duration(log: str) -> float:
    match = _DURATION_RE.search(log)
    if match is None:
        return 0.0
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _bitrate(log: str) -> int:
    match = _BITRATE_RE.search(log)
    return int(match.group(1)) * 1000 if match else 0


def _rotation(log: str) -> int:
    """From the display matrix (degrees counter-clockwise) or an older log's `rotate` tag (clockwise)."""
    matrix = _DISPLAY_MATRIX_RE.search(log)
    if matrix is not None:
        return round(-float(matrix.group(1))) % 360
    tag = _ROTATE_TAG_RE.search(log)
    return int(tag.group(1)) % 360 if tag else 0


def _video_fields(codec: str, rest: str) -> _StreamFields:
    size = _SIZE_RE.search(rest + " ")
    if size is None:
        return {}
    fps = _FPS_RE.search(rest)
    pix_fmt = _PIX_FMT_RE.match(rest)
    return {
        "has_video": True,
        "video_codec": codec,
        "width": int(size.group(1)),
        "height": int(size.group(2)),
        "fps": float(fps.group(1)) * (1000 if fps.group(2) else 1) if fps else 0.0,
        "pix_fmt": pix_fmt.group(1) if pix_fmt else "",
    }


def _audio_fields(codec: str, rest: str) -> _StreamFields:
    rate = _RATE_RE.search(rest)
    parts = [part.strip() for part in rest.split(",")]
    layouts = [part.split("(")[0] for part in parts]
    channels = next((_CHANNELS[p] for p in layouts if p in _CHANNELS), 0)
    if channels == 0:
        channels = next((int(p.split()[0]) for p in parts if re.fullmatch(r"\d+ channels", p)), 0)
    return {
        "has_audio": True,
        "audio_codec": codec,
        "sample_rate": int(rate.group(1)) if rate else 0,
        "channels": channels,
    }


def _probe_reason(log: str) -> str:
    opening = re.findall(r"Error opening input: (.+)", log)
    if opening:
        return _clean(opening[-1])
    errors = [line for line in log.splitlines() if re.search(r"rror|Invalid|Could not", line)]
    return _clean(errors[-1]) if errors else "no video or audio stream found"


def _check_cancelled() -> None:
    """Raise Cancelled when the current scope (if any) was cancelled."""
    scope = current_scope()
    if scope is not None:
        scope.check()


def _supervise(
    proc: subprocess.Popen[bytes], tail: deque[str], duration_s: float | None, progress: Callable[[float], None] | None
) -> tuple[int, float]:
    """Follow a started process to its end, killed when the scope is cancelled or on any error; (code, progress)."""
    assert proc.stdout is not None and proc.stderr is not None
    reader = threading.Thread(target=_drain, args=(proc.stderr, tail), daemon=True)
    reader.start()
    try:
        with kill_on_cancel(proc.kill):
            reported = _follow_progress(proc.stdout, duration_s, progress)
            return proc.wait(), reported
    except BaseException:
        proc.kill()
        raise
    finally:
        reader.join()


def _drain(stream: IO[bytes], tail: deque[str]) -> None:
    for raw in stream:
        tail.append(raw.decode("utf-8", errors="replace").rstrip())


def _follow_progress(stream: IO[bytes], duration_s: float | None, progress: Callable[[float], None] | None) -> float:
    """Report each new highest fraction read from `-progress` lines; return the last one reported."""
    best = 0.0
    for raw in stream:
        if progress is None or not duration_s or duration_s <= 0:
            continue
        fraction = _progress_fraction(raw.decode("ascii", errors="replace"), duration_s)
        if fraction is not None and fraction > best:
            best = fraction
            progress(best)
    return best


def _progress_fraction(line: str, duration_s: float) -> float | None:
    key, _, value = line.strip().partition("=")
    if key not in ("out_time_us", "out_time_ms") or not value.lstrip("-").isdigit():
        return None
    return min(1.0, max(0.0, int(value) / 1_000_000 / duration_s))


def error_line(lines: list[str], code: int) -> str:
    """The most relevant line of an ffmpeg error log: the last one that is not a generic consequence or summary."""
    cleaned = [_clean(line) for line in lines if line.strip()]
    relevant = [line for line in cleaned if not _NOISE.search(line)]
    if not relevant:
        return cleaned[-1] if cleaned else f"ffmpeg exited with code {code}"
    reason = _INPUT_REASON_RE.search(relevant[-1])
    names = [m.group(1) for m in map(_INPUT_FILE_RE.match, cleaned) if m]
    if reason and names:
        return f"cannot open input {names[-1]}: {reason.group(1)}"
    return relevant[-1]


def _clean(line: str) -> str:
    text = _ADDRESS_RE.sub("", line.strip())
    return text if len(text) <= _MESSAGE_MAX else text[: _MESSAGE_MAX - 3] + "..."


def media_facts(path: Path, ffmpeg: Ffmpeg) -> dict[str, Any]:
    """What `/info` shows about a job's output file: media type, duration, size and the streams' details."""
    media = ffmpeg.probe(path)
    facts: dict[str, Any] = {"duration": round(media.duration, 3), "size": path.stat().st_size}
    if media.has_video:
        facts.update(media_type="video" if media.duration > 0 and media.fps else "image")
        facts.update(width=media.width, height=media.height, fps=media.fps, video_codec=media.video_codec)
    elif media.has_audio:
        facts["media_type"] = "audio"
    if media.has_audio:
        facts.update(audio_codec=media.audio_codec, sample_rate=media.sample_rate, channels=media.channels)
    return facts
