"""The script alignment job (kind `stt`, operation `align_script`): the speech transcribed, the script's words
aligned to what was heard; the words with times stored as JSON, SRT or WebVTT, and shown in `/info`."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from app.services.files import Files
from app.services.jobs import Job
from app.services.runner import Handler, JobContext, JobOutput
from app.services.stt.align import Alignment, align_script, script_words
from app.services.stt.formats import to_srt, to_vtt
from app.services.stt.service import SttService
from app.services.stt.transcript import HeardWord, Transcript

AlignFormat = Literal["json", "srt", "vtt"]


class AlignParams(BaseModel):
    """A checked alignment request, as stored with its job."""

    operation: Literal["align_script"] = "align_script"
    audio_id: str
    text: str
    language: str | None = None
    format: AlignFormat = "json"


@dataclass(frozen=True)
class ScriptTimes:
    """A script aligned to an audio: its words with times, and what was heard."""

    alignment: Alignment
    heard: Transcript

    def words(self) -> list[dict[str, Any]]:
        """The aligned words as `/info` lists them: `{word, start, end, matched}`."""
        return [asdict(word) for word in self.alignment.words]

    def transcript(self) -> Transcript:
        """The aligned words as a transcript in the script's spelling, for the caption writers."""
        words = [HeardWord(word=w.word, start=w.start, end=w.end, probability=1.0) for w in self.alignment.words]
        text = " ".join(w.word for w in words)
        heard = self.heard
        return Transcript(text=text, language=heard.language, duration=heard.duration, segments=[], words=words)

    def file(self, fmt: AlignFormat) -> str:
        if fmt == "srt":
            return to_srt(self.transcript())
        if fmt == "vtt":
            return to_vtt(self.transcript())
        body = {**self.facts(), "text": " ".join(w.word for w in self.alignment.words)}
        return json.dumps(body, ensure_ascii=False, indent=2) + "\n"

    def facts(self) -> dict[str, Any]:
        return {
            "language": self.heard.language,
            "duration": self.heard.duration,
            "word_count": len(self.alignment.words),
            "matched": self.alignment.matched,
            "words": self.words(),
        }


def align_to_audio(
    stt: SttService, audio: Path, script: str, language: str | None, context: JobContext, share: float = 95.0
) -> ScriptTimes:
    """The script's words with times in `audio`; from a heavy thread that holds an stt slot. Hearing the audio
    reports progress on [0, share] percent of the job."""
    heard = stt.transcribe(
        audio, language, "transcribe", context.threads(), lambda pct: context.progress(pct * share / 100)
    )
    return ScriptTimes(align_script(script_words(script), heard.words, heard.duration, heard.language), heard)


def make_align_handler(stt: SttService, files: Files) -> Handler:
    """The runner's handler for operation `align_script`."""

    def handle(job: Job, context: JobContext) -> JobOutput:
        params = AlignParams.model_validate(job.params)
        times = align_to_audio(stt, files.input_path(params.audio_id), params.text, params.language, context)
        out = context.work_dir / f"alignment.{params.format}"
        out.write_text(times.file(params.format), encoding="utf-8")
        facts = {**times.facts(), "format": params.format, "source_id": params.audio_id}
        return JobOutput(out, params.format, facts)

    return handle
