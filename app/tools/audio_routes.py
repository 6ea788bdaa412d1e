"""The audio tool answered in the request itself: an audio file's facts (no job: one probe)."""

import asyncio

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.deps import ServicesDep
from app.errors import InvalidInput
from app.services.inputs import ready_input
from app.tools.audio import PREFIX
from app.wiring import Services

router = APIRouter(prefix=PREFIX, tags=["audio-tools"])


class AudioInfo(BaseModel):
    file_id: str
    duration: float = Field(description="Seconds.")
    codec: str
    sample_rate: int = Field(description="Hz.")
    channels: int
    bitrate: int | None = Field(description="The whole file's bits per second; None when the container does not say.")
    size: int = Field(description="Bytes.")


def _audio_info(services: Services, file_id: str) -> AudioInfo:
    """A ready audio file's facts (or a video's sound); 4xx naming `file_id` otherwise."""
    stored = ready_input(services.jobs, services.files, file_id, "file_id", ("audio", "video"))
    path = services.files.path(stored)
    media = services.ffmpeg.probe(path)
    if not media.has_audio:
        raise InvalidInput(f"Field 'file_id': file '{stored.id}' has no audio stream.")
    return AudioInfo(
        file_id=stored.id,
        duration=round(media.duration, 3),
        codec=media.audio_codec,
        sample_rate=media.sample_rate,
        channels=media.channels,
        bitrate=media.bitrate or None,
        size=path.stat().st_size,
    )


@router.get("/info/{file_id}", response_model=AudioInfo)
async def audio_info(file_id: str, services: ServicesDep) -> AudioInfo:
    """Duration, codec, sample rate, channel count and bitrate of a stored audio file (or a video's sound)."""
    return await asyncio.to_thread(_audio_info, services, file_id)
