"""Script alignment: a known script's words timed against its recording, from what Whisper hears.

Everything a request can get wrong is checked here, before admission; the job only hears and aligns.
"""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import Field

from app.admission_gate import admitted_as
from app.deps import ServicesDep
from app.errors import InvalidInput, PayloadTooLarge
from app.routes.responses import JOB_RESPONSES
from app.routes.submission import submit_job
from app.services.files import StoredFile
from app.services.inputs import ready_input
from app.services.job_fields import JobFields
from app.services.stt.align import script_words
from app.services.stt.align_job import AlignFormat, AlignParams
from app.wiring import Services

router = APIRouter(prefix="/api/v1/media/audio-tools", tags=["audio-tools"])


def checked_script(text: str | None, limit: int, field: str = "text") -> str:
    """The script, with at least one word and at most `limit` characters (MAX_TEXT_CHARS); 400/413 naming `field`."""
    if text is None or not script_words(text):
        raise InvalidInput(f"Field '{field}' is empty: give the script whose words are spoken in the audio.")
    if len(text) > limit:
        raise PayloadTooLarge(f"Field '{field}' has {len(text)} characters; the limit is {limit} (MAX_TEXT_CHARS).")
    return text.strip()


def spoken_input(services: Services, file_id: str, field: str) -> StoredFile:
    """A ready audio file, or a video with an audio stream; 4xx naming `field` otherwise."""
    stored = ready_input(services.jobs, services.files, file_id, field, ("audio", "video"))
    if stored.media_kind == "video" and not services.ffmpeg.probe(services.files.path(stored)).has_audio:
        raise InvalidInput(f"Field '{field}': video '{stored.id}' has no audio stream to hear.")
    return stored


class AlignForm(JobFields):
    audio_id: str = Field(description="A stored audio file, or a video with sound, in which the script is spoken.")
    text: str | None = Field(None, description="The script (required): every word gets a start and an end, as written.")
    language: str | None = Field(None, description="ISO 639-1 code of the speech (en, pt...); detected when absent.")
    format: AlignFormat = Field("json", description="The stored file: json (the words), srt or vtt.")

    def params(self, services: Services) -> AlignParams:
        """503 when transcription cannot work; 4xx naming the field for a bad input. Runs in a thread."""
        text = checked_script(self.text, services.settings.max_text_chars)
        services.stt.check_available()
        stored = spoken_input(services, self.audio_id, "audio_id")
        language = services.stt.language(self.language)
        return AlignParams(audio_id=stored.id, text=text, language=language, format=self.format)


@router.post("/align-script", status_code=202, response_class=Response, responses=JOB_RESPONSES)
@admitted_as("stt")
async def align_script(request: Request, form: Annotated[AlignForm, Form()], services: ServicesDep) -> Response:
    """Every word of `text` with its start and end in `audio_id`: words Whisper heard take its times, the others
    are placed between their neighbours. `/info` says how many were matched directly and lists the words."""
    params = await asyncio.to_thread(form.params, services)
    return await submit_job(request, services, "stt", params, form)
