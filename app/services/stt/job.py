"""The transcription job (kind `stt`, operation `transcribe`): the transcript stored in the asked format,
its text, language, duration, segments and words in `/info`."""

from typing import Any, Literal

from pydantic import BaseModel

from app.services.files import Files
from app.services.jobs import Job
from app.services.runner import Handler, JobContext, JobOutput
from app.services.stt.formats import TranscriptFormat, render
from app.services.stt.service import SttService

Task = Literal["transcribe", "translate"]


class TranscribeParams(BaseModel):
    """A checked transcription request, as stored with its job."""

    operation: Literal["transcribe"] = "transcribe"
    audio_id: str
    language: str | None = None
    task: Task = "transcribe"
    format: TranscriptFormat = "json"


def make_transcribe_handler(stt: SttService, files: Files) -> Handler:
    """The runner's handler for operation `transcribe`."""

    def handle(job: Job, context: JobContext) -> JobOutput:
        params = TranscribeParams.model_validate(job.params)
        transcript = stt.transcribe(
            files.input_path(params.audio_id), params.language, params.task, context.threads(), context.progress
        )
        out = context.work_dir / f"transcript.{params.format}"
        out.write_text(render(transcript, params.format), encoding="utf-8")
        facts: dict[str, Any] = {
            **transcript.model_dump(),
            "task": params.task,
            "format": params.format,
            "source_id": params.audio_id,
        }
        return JobOutput(out, params.format, facts)

    return handle
