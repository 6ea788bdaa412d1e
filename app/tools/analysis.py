"""ffmpeg passes whose log a tool reads (loudnorm's report, silencedetect's lines), run like every other pass:
the job's threads, progress from `-progress`, killed when the job is cancelled."""

import json
import math
import re
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import IO

from app.errors import UnprocessableInput
from app.services.cancellation import kill_on_cancel
from app.services.ffmpeg import RenderFailed, error_line
from app.tools.table import ToolRun

MAX_LOG_LINES = 200_000
"""A log longer than this keeps only its last lines (a pathological input warning on every packet)."""
_SILENCE_RE = re.compile(r"silence_(start|end): (-?[\d.]+)")
_REPORT_RE = re.compile(r"\{[^{}]*\"input_i\"[^{}]*\}", re.DOTALL)


def logged_pass(run: ToolRun, args: list[str], duration_s: float, start: float, stop: float) -> list[str]:
    """Run one ffmpeg process (`args` end with the output) and return its log lines; progress on [start, stop].
    RenderFailed with the log's most relevant line when ffmpeg fails."""
    threads = str(max(1, run.threads()))
    command = run.ffmpeg.command(
        *("-y", "-loglevel", "info", "-nostats", "-progress", "pipe:1"),
        *("-filter_threads", threads, "-filter_complex_threads", threads),
        *args[:-1],
        *("-threads", threads, args[-1]),
    )
    lines: list[str] = []
    report = run.progress(start, stop)
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        reader = threading.Thread(target=_collect, args=(proc.stderr, lines), daemon=True)
        reader.start()
        try:
            with kill_on_cancel(proc.kill):
                _follow(proc.stdout, duration_s, report)
                code = proc.wait()
        except BaseException:
            proc.kill()
            raise
        finally:
            reader.join()
    if code != 0:
        raise RenderFailed(error_line(lines[-200:], code))
    return lines


def _collect(stream: IO[bytes], lines: list[str]) -> None:
    for raw in stream:
        lines.append(raw.decode("utf-8", errors="replace").rstrip())
        if len(lines) > MAX_LOG_LINES:
            del lines[: MAX_LOG_LINES // 2]


def _follow(stream: IO[bytes], duration_s: float, report: Callable[[float], None]) -> None:
    for raw in stream:
        key, _, value = raw.decode("ascii", errors="replace").strip().partition("=")
        if key == "out_time_us" and value.isdigit() and duration_s > 0:
            report(min(1.0, int(value) / 1_000_000 / duration_s))


def silences(lines: list[str], duration_s: float) -> list[tuple[float, float]]:
    """(start, end) of each silence silencedetect reported; one still open at the end lasts to `duration_s`."""
    found: list[tuple[float, float]] = []
    opened: float | None = None
    for line in lines:
        match = _SILENCE_RE.search(line)
        if match is None:
            continue
        moment = max(0.0, float(match.group(2)))
        if match.group(1) == "start":
            opened = moment
        elif opened is not None:
            found.append((opened, moment))
            opened = None
    if opened is not None:
        found.append((opened, duration_s))
    return found


@dataclass(frozen=True)
class Loudness:
    """EBU R128 figures of one signal, as loudnorm measures them."""

    integrated_lufs: float
    true_peak_db: float
    lra: float
    threshold_lufs: float

    def facts(self) -> dict[str, float]:
        return {"integrated_lufs": self.integrated_lufs, "true_peak_db": self.true_peak_db, "lra": self.lra}


@dataclass(frozen=True)
class LoudnormReport:
    """loudnorm's JSON report: the input, the output, and how it normalised."""

    before: Loudness
    after: Loudness
    target_offset: float
    normalization_type: str


def loudnorm_report(lines: list[str]) -> LoudnormReport:
    """The report loudnorm printed with print_format=json; UnprocessableInput for silent audio."""
    match = _REPORT_RE.search("\n".join(lines[-60:]))
    if match is None:
        raise RenderFailed("loudnorm printed no loudness report")
    values = json.loads(match.group(0))
    before, after = (_loudness(values, side) for side in ("input", "output"))
    if not math.isfinite(before.integrated_lufs):
        raise UnprocessableInput("Field 'audio_id': the audio is silent; there is no loudness to normalise.")
    return LoudnormReport(before, after, float(values["target_offset"]), str(values["normalization_type"]))


def loudness_after(measured: LoudnormReport, applied: LoudnormReport) -> Loudness:
    """The output's figures from the second pass. In linear mode loudnorm does not oversample and reports the
    output's sample peak; its true peak is the one measured in the first pass moved by the gain (exact for a gain)."""
    if applied.normalization_type != "linear":
        return applied.after
    gain = applied.after.integrated_lufs - measured.before.integrated_lufs
    return replace(applied.after, true_peak_db=round(measured.before.true_peak_db + gain, 2))


def _loudness(values: dict[str, str], side: str) -> Loudness:
    return Loudness(
        float(values[f"{side}_i"]),
        float(values[f"{side}_tp"]),
        float(values[f"{side}_lra"]),
        float(values[f"{side}_thresh"]),
    )
