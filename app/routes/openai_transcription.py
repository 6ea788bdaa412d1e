"""OpenAI-compatible speech in: `POST /v1/audio/transcriptions` and `POST /v1/audio/translations`.

Answered in the request, like OpenAI's, through the same admission (429 + Retry-After), time limit
(JOB_TIMEOUT_S for stt) and upload cap (MAX_UPLOAD_MB, 413) as the transcription jobs; every model name is
the loaded Whisper. In cluster mode a worker does the work (`app.cluster.transcripts`)."""

import asyncio
import shutil
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from app.admission_gate import admitted_as
from app.deps import ServicesDep
from app.errors import InvalidInput
from app.routes.models import ErrorBody
from app.routes.openai_form import audio_file, inline_request
from app.routes.upload import FORM_OVERHEAD, read_capped_form
from app.services.ffmpeg import Ffmpeg
from app.services.storage import new_file_id
from app.services.stt.job import Task
from app.services.stt.openai_reply import GRANULARITIES, OPENAI_FORMATS
from app.services.uploads import DetectedMedia, copy_with_cap, detect_media, file_chunks
from app.wiring import Services

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])

TRANSCRIPTION_MODELS = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")
"""Listed by `GET /v1/models` for clients that pick from the list; any other name works as well."""
MAX_FIELDS = 32
"""Form parts accepted: the fields OpenAI defines, repeated granularities, and a few a client may add."""
_TEXT = {"type": "string"}
_FIELDS: dict[str, Any] = {
    "file": {"type": "string", "format": "binary", "description": "The audio (or a video with sound)."},
    "model": {"type": "string", "default": "whisper-1", "description": "Any name: the loaded Whisper answers."},
    "language": {"type": "string", "description": "ISO 639-1 code of the speech (en, pt...); detected when absent."},
    "prompt": {"type": "string", "description": "Text to guide the style or spelling (Whisper's initial prompt)."},
    "temperature": {"type": "number", "minimum": 0, "maximum": 1, "default": 0},
    "response_format": {"type": "string", "enum": list(OPENAI_FORMATS), "default": "json"},
    "timestamp_granularities[]": {
        "type": "array",
        "items": {"type": "string", "enum": list(GRANULARITIES)},
        "description": "verbose_json: word, segment or both (also accepted as plain `timestamp_granularities`).",
    },
}
_FORM = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": _FIELDS}}},
    }
}
_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "json: {text}; verbose_json: task, language, duration, text, words, segments; "
        "text, srt and vtt as plain text",
        "content": {"application/json": {"schema": {"type": "object"}}, "text/plain": _TEXT},
    },
    504: {"model": ErrorBody, "description": "The transcription ran past its time limit (JOB_TIMEOUT_S)"},
}


@router.post("/audio/transcriptions", response_class=Response, openapi_extra=_FORM, responses=_ANSWERS)
@admitted_as("stt")
async def create_transcription(request: Request, services: ServicesDep) -> Response:
    """What is said in `file`, in its language, in OpenAI's shapes."""
    return await _answer(request, services, "transcribe")


@router.post("/audio/translations", response_class=Response, openapi_extra=_FORM, responses=_ANSWERS)
@admitted_as("stt")
async def create_translation(request: Request, services: ServicesDep) -> Response:
    """What is said in `file`, translated into English, in OpenAI's shapes."""
    return await _answer(request, services, "translate")


async def _answer(request: Request, services: Services, task: Task) -> Response:
    services.stt.check_available()
    cap = services.settings.max_upload_mb * 1024 * 1024
    form = await read_capped_form(request, cap + FORM_OVERHEAD, cap, MAX_FIELDS)
    try:
        asked = inline_request(form, task, services.stt)
        upload = audio_file(form)
        work = await asyncio.to_thread(services.files.storage.work_dir, new_file_id())
        try:
            audio, media = await asyncio.to_thread(_saved, upload, work, cap, services.ffmpeg)
            body = await services.inline_transcripts.answer(audio, media, asked)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)
    finally:
        await form.close()
    return Response(body, media_type=asked.reply.media_type)


def _saved(upload: UploadFile, work: Path, cap: int, ffmpeg: Ffmpeg) -> tuple[Path, DetectedMedia]:
    """The upload on disk under its real extension; 400 naming `file` unless it is audio or a video with sound."""
    raw = work / "upload"
    copy_with_cap(file_chunks(upload.file), raw, cap)
    try:
        media = detect_media(raw, ffmpeg)
    except InvalidInput as exc:
        raise InvalidInput(f"Field 'file': {exc.message}") from None
    if media.media_type == "image" or (media.media_type == "video" and not media.info.get("audio_codec")):
        raise InvalidInput(f"Field 'file': the {media.media_type} has no sound to transcribe; send audio or a video.")
    audio = raw.with_name(f"upload.{media.ext}")
    raw.rename(audio)
    return audio, media
