"""The multipart form of OpenAI's `/v1/audio/transcriptions` and `/v1/audio/translations`, read and checked:
every bad field is a 400 naming it, before any work is admitted."""

import json
from typing import Any

from starlette.datastructures import FormData, UploadFile

from app.errors import InvalidInput
from app.routes.upload import form_text
from app.services.inline_transcripts import InlineTranscription
from app.services.stt.job import Task
from app.services.stt.openai_reply import GRANULARITIES, OPENAI_FORMATS, Granularity, OpenAiReply
from app.services.stt.service import DecodeHints, SttService

GRANULARITY_FIELDS = ("timestamp_granularities[]", "timestamp_granularities")
"""OpenAI's client sends `timestamp_granularities[]`; LiteLLM and others send the plain name, repeated."""


def audio_file(form: FormData) -> UploadFile:
    """The `file` part; 400 when it is missing or sent as text."""
    upload = form.get("file")
    if upload is None:
        raise InvalidInput("Field 'file' is required: the audio (or video) to transcribe, sent as multipart/form-data.")
    if not isinstance(upload, UploadFile):
        raise InvalidInput("Field 'file' must be a file part of a multipart/form-data body, not a text field.")
    return upload


def _granularity_values(form: FormData) -> list[str]:
    """Every value given, whether repeated fields, a JSON array or a comma-separated list."""
    values: list[str] = []
    for key in GRANULARITY_FIELDS:
        for raw in form.getlist(key):
            if not isinstance(raw, str):
                raise InvalidInput(f"Field '{key}' must be a text field, not a file.")
            text = raw.strip()
            parsed: Any = None
            if text.startswith("["):
                try:
                    parsed = json.loads(text)
                except ValueError:
                    parsed = None
            items = parsed if isinstance(parsed, list) else text.split(",")
            values += [str(item).strip() for item in items if str(item).strip()]
    return values


def granularities(form: FormData) -> list[Granularity]:
    """`word`, `segment` or both (in that order); `segment` when none is given."""
    values = _granularity_values(form)
    for value in values:
        if value not in GRANULARITIES:
            raise InvalidInput(
                f"Field 'timestamp_granularities[]': unknown value '{value[:20]}'; use word, segment or both."
            )
    return [item for item in GRANULARITIES if item in values] or ["segment"]


def response_format(form: FormData) -> str:
    fmt = (form_text(form, "response_format") or "json").lower()
    if fmt not in OPENAI_FORMATS:
        raise InvalidInput(f"Field 'response_format' must be one of: {', '.join(OPENAI_FORMATS)}; got '{fmt[:20]}'.")
    return fmt


def temperature(form: FormData) -> float | None:
    """The first sampling temperature, 0 to 1; None (Whisper's fallback from 0) when absent."""
    text = form_text(form, "temperature")
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(f"Field 'temperature' must be a number from 0 to 1; got '{text[:20]}'.") from None
    if not 0.0 <= value <= 1.0:
        raise InvalidInput(f"Field 'temperature' must be from 0 to 1; got {value:g}.")
    return value


def inline_request(form: FormData, task: Task, stt: SttService) -> InlineTranscription:
    """The checked request; `model` is only a name (every name is the loaded Whisper) but must be text."""
    form_text(form, "model")
    reply = OpenAiReply.model_validate({"response_format": response_format(form), "granularities": granularities(form)})
    hints = DecodeHints(prompt=form_text(form, "prompt"), temperature=temperature(form))
    return InlineTranscription(language=stt.language(form_text(form, "language")), task=task, hints=hints, reply=reply)
