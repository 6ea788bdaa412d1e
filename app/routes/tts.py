"""Kokoro text to speech: submit a job, list voices and languages."""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse

from app.deps import get_admission, get_runner, get_tts
from app.limits import Admission
from app.routes.responses import job_accepted
from app.services.runner import JobRunner
from app.services.tts.service import TtsService

router = APIRouter(prefix="/api/v1/media/audio-tools/tts/kokoro", tags=["text to speech"])


@router.post("", status_code=202)
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
    tts: TtsService = Depends(get_tts),
    admission: Admission = Depends(get_admission),
    runner: JobRunner = Depends(get_runner),
) -> JSONResponse:
    speech = tts.validate(text, voice, speed, lang_code, format.lower())
    ticket = admission.admit("tts")
    job = runner.submit("tts", {"request": asdict(speech)}, ticket, name=name)
    return job_accepted(request, job)


@router.get("/voices")
async def list_voices(lang_code: str | None = None, tts: TtsService = Depends(get_tts)) -> dict:
    loaded = tts.require()
    return {"voices": loaded.voices.describe(lang_code), "default_voice": tts.default_voice()}


@router.get("/languages")
async def list_languages(tts: TtsService = Depends(get_tts)) -> dict:
    tts.require()
    return {"languages": tts.g2p.languages()}
