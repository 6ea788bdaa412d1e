"""A transcript as OpenAI's `/v1/audio/transcriptions` answers it: json, text, srt, verbose_json or vtt."""

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.services.stt.formats import to_srt, to_vtt
from app.services.stt.language_names import language_name
from app.services.stt.transcript import Decoding, Transcript

OpenAiFormat = Literal["json", "text", "srt", "verbose_json", "vtt"]
Granularity = Literal["word", "segment"]
OPENAI_FORMATS: tuple[OpenAiFormat, ...] = ("json", "text", "srt", "verbose_json", "vtt")
GRANULARITIES: tuple[Granularity, ...] = ("word", "segment")
DEFAULT_GRANULARITIES: tuple[Granularity, ...] = ("segment",)
REPLY_EXT = {"json": "json", "verbose_json": "json", "text": "txt", "srt": "srt", "vtt": "vtt"}
"""The extension of the file a cluster worker writes for each format."""


class OpenAiReply(BaseModel):
    """What the answer looks like: its format and, for verbose_json, which timestamps it carries."""

    response_format: OpenAiFormat = "json"
    granularities: list[Granularity] = Field(default_factory=lambda: list(DEFAULT_GRANULARITIES))

    @property
    def media_type(self) -> str:
        """JSON for json and verbose_json; the others are plain text, as OpenAI sends them."""
        json_formats = ("json", "verbose_json")
        return "application/json" if self.response_format in json_formats else "text/plain; charset=utf-8"


def _segments(transcript: Transcript) -> list[dict[str, Any]]:
    segments = []
    for number, segment in enumerate(transcript.segments):
        decoding = segment.decoding or Decoding()
        timed = {"id": number, "seek": decoding.seek, "start": segment.start, "end": segment.end}
        segments.append({**timed, "text": segment.text, **decoding.model_dump(exclude={"seek"})})
    return segments


def verbose(transcript: Transcript, task: str, granularities: list[Granularity]) -> dict[str, Any]:
    """OpenAI's verbose_json: words only when asked, segments when asked (the default)."""
    body: dict[str, Any] = {
        "task": task,
        "language": language_name(transcript.language),
        "duration": transcript.duration,
        "text": transcript.text,
    }
    if "word" in granularities:
        body["words"] = [{"word": w.word, "start": w.start, "end": w.end} for w in transcript.words]
    if "segment" in granularities:
        body["segments"] = _segments(transcript)
    return body


def render_reply(transcript: Transcript, task: str, reply: OpenAiReply) -> str:
    """The answer's body in `reply.response_format`."""
    fmt = reply.response_format
    if fmt == "json":
        return json.dumps({"text": transcript.text}, ensure_ascii=False)
    if fmt == "verbose_json":
        return json.dumps(verbose(transcript, task, reply.granularities), ensure_ascii=False)
    if fmt == "srt":
        return to_srt(transcript)
    if fmt == "vtt":
        return to_vtt(transcript)
    return transcript.text + "\n"
