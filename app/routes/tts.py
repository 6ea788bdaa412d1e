"""Kokoro text to speech: submit a job, list voices and languages."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import Field

from app.admission_gate import admitted_as
from app.deps import ServicesDep, TtsDep
from app.errors import UnprocessableInput
from app.routes.models import Languages, Voices
from app.routes.responses import JOB_RESPONSES
from app.routes.submission import submit_job
from app.services.job_fields import JobFields
from app.services.tts.g2p import LANG_ALIASES, LANGUAGES, normalize_lang_code
from app.services.tts.job import TtsParams
from app.services.tts.service import EMPTY_TEXT
from app.services.tts.voices import GET_MORE

router = APIRouter(prefix="/api/v1/media/audio-tools/tts/kokoro", tags=["text to speech"])


class SpeechForm(JobFields):
    text: str | None = Field(None, description="The text to speak (required, not blank).")
    voice: str | None = Field(None, description="A voice or a blend like af_bella(2)+af_sky(1); default DEFAULT_VOICE.")
    speed: float = Field(1.0, description="0.5 to 2.0")
    lang_code: str | None = Field(None, description="G2P language; default: the voice's own.")
    format: str = Field("wav", description="wav, mp3, opus, flac, aac or pcm")
    name: str | None = None
    webhook_url: str | None = Field(None, description="POSTed JSON when the job ends.")
    wait: bool = Field(False, description="Hold the request until the job ends; answer with the file.")


@router.post("", status_code=202, response_class=Response, responses=JOB_RESPONSES)
@admitted_as("tts")
async def create_speech(request: Request, form: Annotated[SpeechForm, Form()], services: ServicesDep) -> Response:
    if form.text is None:  # sent empty (a form sends "" as absent) or not at all
        raise UnprocessableInput(EMPTY_TEXT)
    speech = await services.tts.prepare(form.text, form.voice, form.speed, form.lang_code, form.format.lower())
    return await submit_job(request, services, "tts", TtsParams(speech=speech), form)


@router.get("/voices", response_model=Voices)
async def list_voices(tts: TtsDep, lang_code: str | None = None) -> Voices:
    """Installed voices and the Kokoro v1.0 voices fetched on first use (`installed: false`), of every language
    or of `lang_code`: a Kokoro code (`a`, `p` ...) or a name the older servers used (`en-us`, `pt` ...)."""
    voices = tts.require().voices
    code = None
    if lang_code is not None and lang_code.strip():
        code = normalize_lang_code(lang_code)
        if code not in LANGUAGES:
            raise UnprocessableInput(
                f"Unknown lang_code '{lang_code}'. Use one of: {', '.join(LANGUAGES)}, or {', '.join(LANG_ALIASES)}."
            )
    reason = voices.fetch_unavailable_reason
    if reason is None:
        get_more = "Voices with installed: false are fetched on first use (about 0.5 MB each) into MODEL_CACHE_DIR."
    else:
        get_more = f"Voices cannot be fetched here ({reason}). {GET_MORE}"
    return Voices.model_validate(
        {
            "voices": voices.describe(code),
            "default_voice": tts.default_voice(),
            "fetch_on_first_use": reason is None,
            "get_more": get_more,
        }
    )


@router.get("/languages", response_model=Languages)
async def list_languages(tts: TtsDep) -> Languages:
    tts.require()
    assert tts.g2p is not None
    return Languages.model_validate({"languages": tts.g2p.languages()})
