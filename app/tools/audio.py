"""Audio tools (kind `audio`): each one ffmpeg process over stored audio (or a video's sound)."""

from typing import Literal

from pydantic import Field

from app.errors import InvalidInput
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
        options = ["-i", str(source), "-vn", "-map", "0:a:0"]
        if self.sample_rate:
            options += ["-ar", str(self.sample_rate)]
        if self.channels:
            options += ["-ac", str(self.channels)]
        if self.bitrate and self.format in LOSSY:
            options += ["-b:a", self.bitrate]
        duration = run.probe(source).duration
        return Invocation([*options, *AUDIO_CODECS[self.format]], self.format, duration, {"source_id": self.file_id})


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


TOOLS = [
    Tool(f"{PREFIX}/convert", "audio", ConvertForm, ConvertParams, "Convert audio (or a video's sound)", "audio-tools"),
]
