"""The transcription job (kind `stt`, operation `transcribe`): the transcript stored in the asked format,
its text, language, duration, segments and words in `/info`; or, for the OpenAI-compatible route in cluster
mode, the answer's body in the format that route was asked for."""

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from app.services.files import Files
from app.services.jobs import Job
from app.services.runner import Handler, JobContext, JobOutput
from app.services.stt.formats import TranscriptFormat, render
from app.services.stt.openai_reply import REPLY_EXT, OpenAiReply, render_reply
from app.services.stt.service import DecodeHints, SttService
from app.services.stt.transcript import Transcript

Task = Literal["transcribe", "translate"]


class TranscribeParams(BaseModel):
    """A checked transcription request, as stored with its job."""

    operation: Literal["transcribe"] = "transcribe"
    audio_id: str
    language: str | None = None
    task: Task = "transcribe"
    format: TranscriptFormat = "json"
    hints: DecodeHints | None = None
    reply: OpenAiReply | None = None
    """Set by the OpenAI-compatible route: the file is that answer's body instead of `format`."""


def write_output(transcript: Transcript, params: TranscribeParams, work_dir: Path) -> tuple[Path, str]:
    """The job's file: the transcript in `format`, or the OpenAI answer when `reply` is set; its path and extension."""
    if params.reply is not None:
        ext, body = REPLY_EXT[params.reply.response_format], render_reply(transcript, params.task, params.reply)
    else:
        ext, body = params.format, render(transcript, params.format)
    out = work_dir / f"transcript.{ext}"
    out.write_text(body, encoding="utf-8")
    return out, ext


def make_transcribe_handler(stt: SttService, files: Files) -> Handler:
    """The runner's handler for operation `transcribe`."""

    def handle(job: Job, context: JobContext) -> JobOutput:
        params = TranscribeParams.model_validate(job.params)
        audio = files.input_path(params.audio_id)
        transcript = stt.transcribe(
            audio, params.language, params.task, context.threads(), context.progress, params.hints
        )
        out, ext = write_output(transcript, params, context.work_dir)
        facts: dict[str, Any] = {
            **transcript.model_dump(),
            "task": params.task,
            "format": params.format,
            "source_id": params.audio_id,
        }
        return JobOutput(out, ext, facts)

    return handle
