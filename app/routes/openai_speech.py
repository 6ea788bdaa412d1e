"""OpenAI-compatible speech: `POST /v1/audio/speech`, `GET /v1/models`, `GET /v1/audio/voices`."""

from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from app.admission_gate import admitted_as
from app.deps import get_tts
from app.errors import UnprocessableInput
from app.services.tts.direct import STREAM_MEDIA_TYPES, DirectSpeech
from app.services.tts.service import TtsService

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])

MODELS = ("kokoro", "tts-1", "tts-1-hd", "gpt-4o-mini-tts")
OPENAI_VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse")


class SpeechBody(BaseModel):
    model: str = Field("kokoro", description=f"One of {', '.join(MODELS)}; all use Kokoro.")
    input: str = Field(..., description="The text to speak.")
    voice: str | None = Field(None, description="A Kokoro voice or blend; OpenAI names map to the default voice.")
    speed: float = 1.0
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    stream: bool = Field(False, description="Send audio chunk by chunk as sentences are synthesized.")
    lang_code: str | None = Field(None, description="G2P language; default: the voice's own.")


async def get_direct(request: Request) -> DirectSpeech:
    return request.app.state.direct_speech


@router.post(
    "/audio/speech",
    response_class=Response,
    responses={200: {"description": "The audio", "content": {"audio/*": {}}}},
)
@admitted_as("tts")
async def create_speech(
    body: SpeechBody, tts: TtsService = Depends(get_tts), direct: DirectSpeech = Depends(get_direct)
) -> Response:
    if body.model not in MODELS:
        raise UnprocessableInput(f"Unknown model '{body.model}'. Use one of: {', '.join(MODELS)}.")
    voice = body.voice
    if voice in OPENAI_VOICES and tts.available and voice not in tts.loaded.voices.voices:
        voice = None
    speech = tts.validate(body.input, voice, body.speed, body.lang_code, body.response_format)
    media_type = STREAM_MEDIA_TYPES[body.response_format]
    if body.stream:
        return StreamingResponse(await direct.admit_stream(speech), media_type=media_type)
    return Response(await direct.speak(speech), media_type=media_type)


@router.get("/models")
async def list_models() -> dict:
    return {
        "object": "list",
        "data": [{"id": m, "object": "model", "created": 0, "owned_by": "kokoro"} for m in MODELS],
    }


@router.get("/audio/voices")
async def list_voices(tts: TtsService = Depends(get_tts)) -> dict:
    loaded = tts.require()
    return {"voices": loaded.voices.names(), "default_voice": tts.default_voice()}
