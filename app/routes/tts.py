"""Kokoro text to speech: submit a job, list voices and languages."""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.admission_gate import admitted_as
from app.deps import get_tts
from app.routes.responses import JOB_RESPONSES
from app.routes.submission import submit_job
from app.services.tts.service import TtsService

router = APIRouter(prefix="/api/v1/media/audio-tools/tts/kokoro", tags=["text to speech"])


@router.post("", status_code=202, response_class=Response, responses=JOB_RESPONSES)
@admitted_as("tts")
async def create_speech(
    request: Request,
    text: Annotated[str, Form(description="The text to speak.")],
    voice: Annotated[
        str | None, Form(description="A voice or a blend like af_bella(2)+af_sky(1); default DEFAULT_VOICE.")
    ] = None,
    speed: Annotated[float, Form(description="0.5 to 2.0")] = 1.0,
    name: Annotated[str | None, Form()] = None,
    lang_code: Annotated[str | None, Form(description="G2P language; default: the voice's own.")] = None,
    format: Annotated[str, Form(description="wav, mp3, opus, flac, aac or pcm")] = "wav",
    webhook_url: Annotated[str | None, Form(description="POSTed JSON when the job ends.")] = None,
    wait: Annotated[bool, Form(description="Hold the request until the job ends; answer with the file.")] = False,
    tts: TtsService = Depends(get_tts),
) -> Response:
    speech = tts.validate(text, voice, speed, lang_code, format.lower())
    return await submit_job(request, "tts", {"request": asdict(speech)}, name, webhook_url, wait)


@router.get("/voices")
async def list_voices(lang_code: str | None = None, tts: TtsService = Depends(get_tts)) -> dict:
    loaded = tts.require()
    return {"voices": loaded.voices.describe(lang_code), "default_voice": tts.default_voice()}


@router.get("/languages")
async def list_languages(tts: TtsService = Depends(get_tts)) -> dict:
    tts.require()
    return {"languages": tts.g2p.languages()}
