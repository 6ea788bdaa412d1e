"""Speech to text: a stored audio file (or a video's sound) transcribed, or translated into English, by Whisper.

Everything a request can get wrong is checked here, before admission; the job only transcribes.
"""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import Field

from app.admission_gate import admitted_as
from app.deps import ServicesDep
from app.errors import InvalidInput
from app.routes.responses import JOB_RESPONSES
from app.routes.submission import submit_job
from app.services.inputs import ready_input
from app.services.job_fields import JobFields
from app.services.stt.formats import TranscriptFormat
from app.services.stt.job import Task, TranscribeParams
from app.wiring import Services

router = APIRouter(prefix="/api/v1/media/audio-tools", tags=["audio-tools"])


class TranscribeForm(JobFields):
    audio_id: str = Field(description="A stored audio file, or a video with sound.")
    language: str | None = Field(
        None, description="ISO 639-1 code of the speech (en, pt, es...); detected when absent."
    )
    task: Task = Field("transcribe", description="transcribe, or translate into English.")
    format: TranscriptFormat = Field("json", description="The stored file: json, srt, vtt or txt.")

    def params(self, services: Services) -> TranscribeParams:
        """503 when transcription cannot work; 4xx naming the field for a bad input. Runs in a thread."""
        services.stt.check_available()
        stored = ready_input(services.jobs, services.files, self.audio_id, "audio_id", ("audio", "video"))
        if stored.media_kind == "video" and not services.ffmpeg.probe(services.files.path(stored)).has_audio:
            raise InvalidInput(f"Field 'audio_id': video '{stored.id}' has no audio stream to transcribe.")
        language = services.stt.language(self.language)
        return TranscribeParams(audio_id=stored.id, language=language, task=self.task, format=self.format)


@router.post("/transcribe", status_code=202, response_class=Response, responses=JOB_RESPONSES)
@admitted_as("stt")
async def transcribe(request: Request, form: Annotated[TranscribeForm, Form()], services: ServicesDep) -> Response:
    """The speech of `audio_id` as text with segment and word times; the file in `format`, the rest in `/info`."""
    params = await asyncio.to_thread(form.params, services)
    return await submit_job(request, services, "stt", params, form)
