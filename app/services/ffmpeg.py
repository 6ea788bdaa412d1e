"""ffmpeg (the binary imageio-ffmpeg ships, or FFMPEG_BINARY): probing media and running one process per job."""

import re
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from app.errors import InvalidInput

_STDERR_KEEP = 200
_MESSAGE_MAX = 400
_PROBE_TIMEOUT_S = 60.0

_DURATION_RE = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
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
    r"Error while opening encoder|Error selecting an encoder|Error opening (?:input|output) files?[ :]",
    re.IGNORECASE,
)
_INPUT_FILE_RE = re.compile(r"^Error opening input file (.+)\.$")
_INPUT_REASON_RE = re.compile(r"Error opening input: (.+)$")


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


def ffmpeg_binary(explicit: str | None = None) -> str:
    """The explicit path when given (FFMPEG_BINARY), else the binary shipped by imageio-ffmpeg."""
    if explicit:
        return explicit
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def probe(path: Path | str, binary: str | None = None) -> MediaInfo:
    """Read duration and streams from `ffmpeg -i` stderr; InvalidInput when ffmpeg cannot read the file."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"media file not found: {path.name}")
    cmd = [ffmpeg_binary(binary), "-hide_banner", "-nostdin", "-i", str(path)]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=_PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise InvalidInput(f"timed out reading media file {path.name}") from exc
    log = done.stderr.decode("utf-8", errors="replace")
    info = parse_probe_log(log)
    if info is None:
        raise InvalidInput(f"cannot read media file {path.name}: {_probe_reason(log)}")
    return info


def parse_probe_log(log: str) -> MediaInfo | None:
    """MediaInfo from an `ffmpeg -i` log, or None when it names no usable video or audio stream."""
    fields: dict[str, object] = {"has_video": False, "has_audio": False}
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
    return MediaInfo(duration=_duration(log), **fields)  # type: ignore[arg-type]


def _duration(log: str) -> float:
    match = _DURATION_RE.search(log)
    if match is None:
        return 0.0
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _video_fields(codec: str, rest: str) -> dict[str, object]:
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


def _audio_fields(codec: str, rest: str) -> dict[str, object]:
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


def run_ffmpeg(
    args: list[str],
    duration_s: float | None,
    threads: int,
    progress: Callable[[float], None] | None,
    binary: str | None = None,
) -> None:
    """Run one ffmpeg process; `args` end with the output path. RenderFailed with one log line on failure."""
    cmd = _command(args, threads, binary)
    tail: deque[str] = deque(maxlen=_STDERR_KEEP)
    with subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        reader = threading.Thread(target=_drain, args=(proc.stderr, tail), daemon=True)
        reader.start()
        try:
            reported = _follow_progress(proc.stdout, duration_s, progress)
            code = proc.wait()
        except BaseException:
            proc.kill()
            raise
        finally:
            reader.join()
    if code != 0:
        raise RenderFailed(error_line(list(tail), code))
    if progress is not None and reported < 1.0:
        progress(1.0)


def _command(args: list[str], threads: int, binary: str | None) -> list[str]:
    head = [ffmpeg_binary(binary), "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    head += ["-progress", "pipe:1", "-nostats"]
    if threads <= 0:
        return head + args
    n = str(threads)
    head += ["-filter_threads", n, "-filter_complex_threads", n]
    return head + args[:-1] + ["-threads", n] + args[-1:]


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
