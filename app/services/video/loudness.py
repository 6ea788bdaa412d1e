"""Integrated loudness (EBU R128, LUFS) of an audio file, measured by ffmpeg's ebur128 filter."""

import tempfile
from pathlib import Path

from app.services.ffmpeg import Ffmpeg, RenderFailed
from app.services.video.render import escape_filter_value

SILENCE_LUFS = -69.0
"""ebur128 reports -70 LUFS for silence (everything below its absolute gate)."""


def integrated_loudness(ffmpeg: Ffmpeg, path: Path, limit_s: float) -> float | None:
    """The loudness of the first `limit_s` seconds of `path`; None for silence or an unreadable file."""
    with tempfile.TemporaryDirectory(prefix="loudness.") as folder:
        log = Path(folder) / "r128.txt"
        measure = f"ebur128=metadata=1,ametadata=mode=print:key=lavfi.r128.I:file={escape_filter_value(str(log))}"
        try:
            ffmpeg.run(["-t", f"{limit_s:g}", "-i", str(path), "-map", "0:a:0", "-af", measure, "-f", "null", "-"])
        except RenderFailed:
            return None
        values = [line.split("=", 1)[1] for line in log.read_text().splitlines() if line.startswith("lavfi.r128.I=")]
    if not values:
        return None
    value = float(values[-1])
    return value if value > SILENCE_LUFS else None
