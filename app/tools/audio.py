"""Audio tools (kind `audio`): convert, merge, trim-pauses, extend-audio and normalize, each ffmpeg over stored audio
(convert also over a video's sound). The GET route (`info`) is in `app/tools/audio_routes.py`."""

from typing import Literal

from pydantic import Field

from app.errors import InvalidInput
from app.jobs.kinds import MAX_MERGE_INPUTS
from app.services.ffmpeg import MediaInfo, media_facts
from app.services.files import StoredFile
from app.services.runner import JobOutput
from app.tools.analysis import Loudness, logged_pass, loudness_after, loudnorm_report, silences
from app.tools.table import Inputs, Invocation, Tool, ToolForm, ToolParams, ToolRun

PREFIX = "/api/v1/media/audio-tools"

AUDIO_CODECS: dict[str, list[str]] = {
    "mp3": ["-c:a", "libmp3lame", "-f", "mp3"],
    "wav": ["-c:a", "pcm_s16le", "-f", "wav"],
    "opus": ["-c:a", "libopus", "-f", "ogg"],
    "flac": ["-c:a", "flac", "-f", "flac"],
    "aac": ["-c:a", "aac", "-f", "adts"],
    "m4a": ["-c:a", "aac", "-f", "ipod"],
}
"""Encoder and container for each audio output format."""
STREAM_CODECS = {"mp3": "mp3", "wav": "pcm_s16le", "opus": "opus", "flac": "flac", "aac": "aac", "m4a": "aac"}
"""The codec (as a probe names it) each output format holds: a source already in it is copied."""
AudioFormat = Literal["mp3", "wav", "opus", "flac", "aac", "m4a"]
LOSSY = {"mp3", "opus", "aac", "m4a"}


class ConvertParams(ToolParams):
    operation: Literal["audio_convert"] = "audio_convert"
    file_id: str
    format: AudioFormat
    sample_rate: int | None = None
    channels: int | None = None
    bitrate: str | None = None

    def invocation(self, run: ToolRun) -> Invocation:
        source = run.input(self.file_id)
        media = run.probe(source)
        options = ["-i", str(source), "-vn", "-map", "0:a:0"]
        copied = self.copies(media)
        if copied:
            codec = ["-c:a", "copy", *AUDIO_CODECS[self.format][2:]]
        else:
            options += ["-ar", str(self.sample_rate)] if self.sample_rate else []
            options += ["-ac", str(self.channels)] if self.channels else []
            options += ["-b:a", self.bitrate] if self.bitrate and self.format in LOSSY else []
            codec = AUDIO_CODECS[self.format]
        facts = {"source_id": self.file_id, "stream_copy": copied}
        return Invocation([*options, *codec], self.format, media.duration, facts)

    def copies(self, media: MediaInfo) -> bool:
        """The sound goes as it is (a stream copy) when it already has the format's codec, rate and channels and
        no bitrate is asked for."""
        return (
            media.audio_codec == STREAM_CODECS[self.format]
            and self.sample_rate in (None, media.sample_rate)
            and self.channels in (None, media.channels)
            and not (self.bitrate and self.format in LOSSY)
        )


class ConvertForm(ToolForm):
    file_id: str = Field(description="A stored audio file, or a video to extract its sound.")
    format: AudioFormat = "mp3"
    sample_rate: int | None = Field(None, ge=8000, le=192000, description="Hz; default: the input's.")
    channels: int | None = Field(None, ge=1, le=8, description="Default: the input's.")
    bitrate: str | None = Field(None, pattern=r"^\d{2,3}k$", description="For lossy formats, e.g. 128k.")

    def params(self, inputs: Inputs) -> ConvertParams:
        stored = inputs.ready(self.file_id, "file_id", ("audio", "video"))
        if stored.media_kind == "video" and not inputs.probe(stored).has_audio:
            raise InvalidInput(f"Field 'file_id': video '{stored.id}' has no audio stream to convert.")
        return ConvertParams(
            file_id=stored.id,
            format=self.format,
            sample_rate=self.sample_rate,
            channels=self.channels,
            bitrate=self.bitrate,
        )


STORED_FORMATS: dict[str, AudioFormat] = {
    "mp3": "mp3",
    "wav": "wav",
    "ogg": "opus",
    "opus": "opus",
    "flac": "flac",
    "aac": "aac",
    "m4a": "m4a",
}
"""The output format that keeps a stored file's own (by its extension)."""
CHANNEL_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}
MAX_LENGTH_S = 3 * 3600.0
FORMAT_DESCRIPTION = "Default: the (first) input's own format, or mp3 when it is none of these."


def format_of(chosen: AudioFormat | None, stored: StoredFile) -> AudioFormat:
    """The format asked for, else the input's own (mp3 when that is not an output format)."""
    return chosen or STORED_FORMATS.get(stored.ext, "mp3")


def id_list(text: str, field: str, least: int, most: int) -> list[str]:
    """The ids of a comma-separated field; InvalidInput naming it unless there are `least` to `most`."""
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not least <= len(ids) <= most:
        raise InvalidInput(f"Field '{field}' takes {least} to {most} comma-separated ids; got {len(ids)}.")
    return ids


def from_milliseconds(milliseconds: float) -> str:
    """Milliseconds as ffmpeg's seconds, to the millisecond."""
    return f"{milliseconds / 1000:.3f}"


class MergeParams(ToolParams):
    operation: Literal["audio_merge"] = "audio_merge"
    audio_ids: list[str]
    gap_ms: int
    crossfade_ms: int
    format: AudioFormat
    sample_rate: int
    channels: int
    duration_s: float

    def invocation(self, run: ToolRun) -> Invocation:
        sources = [arg for file_id in self.audio_ids for arg in ("-i", str(run.input(file_id)))]
        args = [*sources, "-filter_complex", self.graph(), "-map", "[out]", *AUDIO_CODECS[self.format]]
        return Invocation(args, self.format, self.duration_s, {"source_ids": self.audio_ids})

    def graph(self) -> str:
        """Every input at the common rate and layout, then joined: apart by gap_ms, or overlapping by crossfade_ms."""
        count, layout = len(self.audio_ids), CHANNEL_LAYOUTS[self.channels]
        chains = [
            f"[{i}:a:0]aformat=sample_fmts=fltp:sample_rates={self.sample_rate}:channel_layouts={layout}[a{i}]"
            for i in range(count)
        ]
        if self.crossfade_ms:
            joined = "a0"
            for i in range(1, count):
                label = "out" if i == count - 1 else f"x{i}"
                chains.append(f"[{joined}][a{i}]acrossfade=d={from_milliseconds(self.crossfade_ms)}[{label}]")
                joined = label
            return ";".join(chains)
        labels = [f"a{i}" for i in range(count)]
        if self.gap_ms:
            chains += [f"[a{i}]apad=pad_dur={from_milliseconds(self.gap_ms)}[p{i}]" for i in range(count - 1)]
            labels = [f"p{i}" for i in range(count - 1)] + [f"a{count - 1}"]
        chains.append("".join(f"[{label}]" for label in labels) + f"concat=n={count}:v=0:a=1[out]")
        return ";".join(chains)


class MergeForm(ToolForm):
    audio_ids: str = Field(description="Comma-separated ids of 2 to 50 stored audio files, in order.")
    gap_ms: int = Field(0, ge=0, le=60_000, description="Silence between consecutive files.")
    crossfade_ms: int = Field(0, ge=0, le=30_000, description="Consecutive files overlap this long, fading.")
    format: AudioFormat | None = Field(None, description=FORMAT_DESCRIPTION)

    def params(self, inputs: Inputs) -> MergeParams:
        """Inputs of any rate and channel count: the output takes the highest of each."""
        if self.gap_ms and self.crossfade_ms:
            raise InvalidInput("Fields 'gap_ms' and 'crossfade_ms' exclude each other: files are apart or overlap.")
        ids = id_list(self.audio_ids, "audio_ids", 2, MAX_MERGE_INPUTS)
        stored = [inputs.ready(file_id, "audio_ids", ("audio",)) for file_id in ids]
        media = [inputs.probe(one) for one in stored]
        shortest = min(one.duration for one in media)
        if self.crossfade_ms >= shortest * 1000:
            raise InvalidInput(
                f"Field 'crossfade_ms': {self.crossfade_ms} ms is not shorter than the shortest file "
                f"({shortest:.3f} s)."
            )
        joins = (len(ids) - 1) * (self.gap_ms - self.crossfade_ms) / 1000
        return MergeParams(
            audio_ids=[one.id for one in stored],
            gap_ms=self.gap_ms,
            crossfade_ms=self.crossfade_ms,
            format=format_of(self.format, stored[0]),
            sample_rate=max(one.sample_rate for one in media) or 48000,
            channels=min(8, max(one.channels for one in media)) or 2,
            duration_s=round(sum(one.duration for one in media) + joins, 3),
        )


def shortened(pauses: list[tuple[float, float]], keep_s: float) -> list[tuple[float, float]]:
    """What to cut out of each pause so that `keep_s` of it is left, half at each side."""
    return [(start + keep_s / 2, end - keep_s / 2) for start, end in pauses if end - start > keep_s]


def kept_graph(cuts: list[tuple[float, float]]) -> str:
    """A filtergraph keeping everything between the cuts, joined (atrim is sample-accurate)."""
    parts: list[tuple[float, float | None]] = []
    cursor = 0.0
    for start, end in cuts:
        if start > cursor:
            parts.append((cursor, start))
        cursor = end
    parts.append((cursor, None))
    count = len(parts)
    chains = [f"[0:a:0]asplit={count}" + "".join(f"[s{i}]" for i in range(count))]
    for i, (begin, stop) in enumerate(parts):
        until = f":end={stop:.6f}" if stop is not None else ""
        chains.append(f"[s{i}]atrim=start={begin:.6f}{until},asetpts=PTS-STARTPTS[k{i}]")
    chains.append("".join(f"[k{i}]" for i in range(count)) + f"concat=n={count}:v=0:a=1[out]")
    return ";\n".join(chains)


class TrimPausesParams(ToolParams):
    operation: Literal["audio_trim_pauses"] = "audio_trim_pauses"
    audio_id: str
    min_silence_ms: int
    keep_silence_ms: int
    threshold_db: float
    format: AudioFormat

    def execute(self, run: ToolRun) -> JobOutput:
        """Find the pauses (silencedetect), then keep everything but their middles; `/info` says what went."""
        source = run.input(self.audio_id)
        duration = run.probe(source).duration
        detect = f"silencedetect=noise={self.threshold_db}dB:duration={from_milliseconds(self.min_silence_ms)}"
        found = logged_pass(
            run, ["-i", str(source), "-map", "0:a:0", "-af", detect, "-f", "null", "-"], duration, 0, 40
        )
        cuts = shortened(silences(found, duration), self.keep_silence_ms / 1000)
        script = run.work_dir / "trim.graph"
        script.write_text(kept_graph(cuts), encoding="utf-8")
        planned = duration - sum(end - start for start, end in cuts)
        args = ["-i", str(source), "-/filter_complex", str(script), "-map", "[out]", *AUDIO_CODECS[self.format]]
        out = run.work_dir / f"output.{self.format}"
        run.ffmpeg_run(Invocation(args, self.format, planned), out, 40, 99)
        facts = media_facts(out, run.ffmpeg)
        removed = max(0.0, duration - facts["duration"])
        facts.update(source_id=self.audio_id, pauses_shortened=len(cuts), removed_s=round(removed, 3))
        return JobOutput(out, self.format, facts)


class TrimPausesForm(ToolForm):
    audio_id: str = Field(description="A stored audio file, e.g. speech.")
    min_silence_ms: int = Field(500, ge=100, le=60_000, description="Pauses at least this long are shortened.")
    keep_silence_ms: int = Field(150, ge=0, le=10_000, description="What is left of each shortened pause.")
    threshold_db: float = Field(-40, ge=-90, le=-10, description="Quieter than this (dBFS) counts as silence.")
    format: AudioFormat | None = Field(None, description=FORMAT_DESCRIPTION)

    def params(self, inputs: Inputs) -> TrimPausesParams:
        if self.keep_silence_ms >= self.min_silence_ms:
            raise InvalidInput(
                f"Field 'keep_silence_ms' ({self.keep_silence_ms}) must be shorter than "
                f"min_silence_ms ({self.min_silence_ms}): a pause is shortened to it."
            )
        stored = inputs.ready(self.audio_id, "audio_id", ("audio",))
        return TrimPausesParams(
            audio_id=stored.id,
            min_silence_ms=self.min_silence_ms,
            keep_silence_ms=self.keep_silence_ms,
            threshold_db=self.threshold_db,
            format=format_of(self.format, stored),
        )


class ExtendParams(ToolParams):
    operation: Literal["audio_extend"] = "audio_extend"
    audio_id: str
    duration: float
    mode: Literal["pad", "loop"]
    format: AudioFormat

    def invocation(self, run: ToolRun) -> Invocation:
        source, length = str(run.input(self.audio_id)), f"{self.duration:.6f}"
        if self.mode == "loop":
            args = ["-stream_loop", "-1", "-i", source, "-map", "0:a:0", "-af", f"atrim=duration={length}"]
        else:
            args = ["-i", source, "-map", "0:a:0", "-af", f"apad=whole_dur={length},atrim=duration={length}"]
        facts = {"source_id": self.audio_id, "mode": self.mode}
        return Invocation([*args, *AUDIO_CODECS[self.format]], self.format, self.duration, facts)


class ExtendForm(ToolForm):
    audio_id: str = Field(description="A stored audio file.")
    duration: float = Field(gt=0, le=MAX_LENGTH_S, description="Seconds the result lasts, exactly (shorter cuts).")
    mode: Literal["pad", "loop"] = Field("pad", description="pad: silence after the audio; loop: repeat it.")
    format: AudioFormat | None = Field(None, description=FORMAT_DESCRIPTION)

    def params(self, inputs: Inputs) -> ExtendParams:
        stored = inputs.ready(self.audio_id, "audio_id", ("audio",))
        return ExtendParams(
            audio_id=stored.id, duration=self.duration, mode=self.mode, format=format_of(self.format, stored)
        )


class NormalizeParams(ToolParams):
    operation: Literal["audio_normalize"] = "audio_normalize"
    audio_id: str
    target_lufs: float
    true_peak_db: float
    format: AudioFormat

    def execute(self, run: ToolRun) -> JobOutput:
        """Two-pass EBU R128: loudnorm measures, then applies what it measured (linear gain when the peak allows)."""
        source = run.input(self.audio_id)
        media = run.probe(source)
        target = f"loudnorm=I={self.target_lufs}:TP={self.true_peak_db}"
        measure = ["-i", str(source), "-map", "0:a:0", "-af", f"{target}:print_format=json", "-f", "null", "-"]
        measured = loudnorm_report(logged_pass(run, measure, media.duration, 0, 50))
        out = run.work_dir / f"output.{self.format}"
        rate = media.sample_rate or 48000  # loudnorm's dynamic mode works at 192 kHz: back to the input's rate
        apply = f"{target}:{measured_options(measured.before, measured.target_offset)},aresample={rate}"
        args = ["-i", str(source), "-map", "0:a:0", "-af", apply, *AUDIO_CODECS[self.format], str(out)]
        applied = loudnorm_report(logged_pass(run, args, media.duration, 50, 99))
        facts = media_facts(out, run.ffmpeg)
        facts.update(
            source_id=self.audio_id,
            target_lufs=self.target_lufs,
            true_peak_db=self.true_peak_db,
            loudness_before=measured.before.facts(),
            loudness_after=loudness_after(measured, applied).facts(),
            normalization=applied.normalization_type,
        )
        return JobOutput(out, self.format, facts)


def measured_options(before: Loudness, offset: float) -> str:
    """loudnorm's second-pass options. A loudness range of exactly 0 (a steady tone) is loudnorm's "not measured"
    and would force its dynamic mode, so it is given as 0.01; the target range is widened to the measured one so
    that linear gain (the dynamics kept) is allowed."""
    lra = max(0.01, min(50.0, before.lra))
    return (
        f"LRA={max(11.0, lra):.2f}:measured_I={max(-99.0, before.integrated_lufs):.2f}"
        f":measured_TP={max(-99.0, before.true_peak_db):.2f}:measured_LRA={lra:.2f}"
        f":measured_thresh={max(-99.0, before.threshold_lufs):.2f}:offset={offset:.2f}:linear=true:print_format=json"
    )


class NormalizeForm(ToolForm):
    audio_id: str = Field(description="A stored audio file.")
    target_lufs: float = Field(-14, ge=-70, le=-5, description="Integrated loudness to reach (LUFS).")
    true_peak_db: float = Field(-1, ge=-9, le=0, description="Highest true peak allowed (dBTP).")
    format: AudioFormat | None = Field(None, description=FORMAT_DESCRIPTION)

    def params(self, inputs: Inputs) -> NormalizeParams:
        stored = inputs.ready(self.audio_id, "audio_id", ("audio",))
        return NormalizeParams(
            audio_id=stored.id,
            target_lufs=self.target_lufs,
            true_peak_db=self.true_peak_db,
            format=format_of(self.format, stored),
        )


TAG = "audio-tools"
TOOLS = [
    Tool(f"{PREFIX}/convert", "audio", ConvertForm, ConvertParams, "Convert audio (or a video's sound)", TAG),
    Tool(f"{PREFIX}/merge", "audio", MergeForm, MergeParams, "Join audio files, with gaps or crossfades", TAG),
    Tool(f"{PREFIX}/trim-pauses", "audio", TrimPausesForm, TrimPausesParams, "Shorten long pauses", TAG),
    Tool(f"{PREFIX}/extend-audio", "audio", ExtendForm, ExtendParams, "Pad or loop audio to a length", TAG),
    Tool(f"{PREFIX}/normalize", "audio", NormalizeForm, NormalizeParams, "Two-pass EBU R128 loudness", TAG),
]
