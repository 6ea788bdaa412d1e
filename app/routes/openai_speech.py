"""OpenAI-compatible speech: `POST /v1/audio/speech`, `GET /v1/models` (speech and transcription models),
`GET /v1/audio/voices`."""

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from app.admission_gate import admitted_as
from app.deps import InlineSpeechDep, TtsDep
from app.errors import UnprocessableInput
from app.routes.models import ErrorBody, OpenAiModels, OpenAiVoices
from app.routes.openai_transcription import TRANSCRIPTION_MODELS
from app.routes.responses import BINARY
from app.services.inline_speech import STREAM_MEDIA_TYPES

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


@router.post(
    "/audio/speech",
    response_class=Response,
    responses={
        200: {"description": "The audio", "content": {"audio/*": BINARY}},
        504: {"model": ErrorBody, "description": "The speech ran past its time limit (JOB_TIMEOUT_S)"},
    },
)
@admitted_as("tts")
async def create_speech(body: SpeechBody, tts: TtsDep, inline_speech: InlineSpeechDep) -> Response:
    if body.model not in MODELS:
        raise UnprocessableInput(f"Unknown model '{body.model}'. Use one of: {', '.join(MODELS)}.")
    voice = body.voice
    if voice in OPENAI_VOICES and tts.loaded is not None and voice not in tts.loaded.voices.voices:
        voice = None
    speech = await tts.prepare(body.input, voice, body.speed, body.lang_code, body.response_format)
    media_type = STREAM_MEDIA_TYPES[body.response_format]
    # named with the format's extension, so n8n and browsers store it as audio; not a stored file's id (it is
    # not kept here), so nobody takes it for one
    headers = {"Content-Disposition": f'attachment; filename="speech.{body.response_format}"'}
    if body.stream:
        return StreamingResponse(await inline_speech.admit_stream(speech), media_type=media_type, headers=headers)
    return Response(await inline_speech.speak(speech), media_type=media_type, headers=headers)


@router.get("/models", response_model=OpenAiModels)
async def list_models() -> OpenAiModels:
    owners = [*((m, "kokoro") for m in MODELS), *((m, "whisper") for m in TRANSCRIPTION_MODELS)]
    data = [{"id": model, "object": "model", "created": 0, "owned_by": owner} for model, owner in owners]
    return OpenAiModels.model_validate({"object": "list", "data": data})


@router.get("/audio/voices", response_model=OpenAiVoices)
async def list_voices(tts: TtsDep) -> OpenAiVoices:
    loaded = tts.require()
    return OpenAiVoices(voices=loaded.voices.names(), default_voice=tts.default_voice())
