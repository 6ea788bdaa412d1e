"""The video tools answered in the request itself: a video's facts, and one frame as an image (admitted like a
job: a busy server answers 429 with Retry-After)."""

import asyncio
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.admission_gate import admitted_as
from app.deps import ServicesDep
from app.routes.models import ErrorBody
from app.routes.responses import BINARY
from app.services.ffmpeg import ImageFormat, MediaInfo
from app.services.inputs import ready_input
from app.services.storage import MEDIA_TYPES
from app.tools.video import PREFIX, check_inside
from app.wiring import Services

router = APIRouter(prefix=PREFIX, tags=["video-tools"])


class VideoInfo(BaseModel):
    file_id: str
    width: int
    height: int
    fps: float
    duration: float = Field(description="Seconds.")
    video_codec: str
    audio_codec: str | None = Field(description="None when the video has no sound.")
    bitrate: int | None = Field(description="The whole file's bits per second; None when the container does not say.")
    rotation: int = Field(description="Degrees clockwise a player turns the picture: 0, 90, 180 or 270.")
    has_audio: bool
    pix_fmt: str
    size: int = Field(description="Bytes.")


def _probed(services: Services, file_id: str, field: str) -> tuple[str, Path, MediaInfo]:
    """A ready video's id, path and facts; 4xx naming `field` otherwise."""
    stored = ready_input(services.jobs, services.files, file_id, field, ("video",))
    path = services.files.path(stored)
    return stored.id, path, services.ffmpeg.probe(path)


@router.get("/info/{file_id}", response_model=VideoInfo)
async def video_info(file_id: str, services: ServicesDep) -> VideoInfo:
    """Width, height, frame rate, duration, codecs, bitrate, rotation and whether it has sound."""
    found, path, media = await asyncio.to_thread(_probed, services, file_id, "file_id")
    return VideoInfo(
        file_id=found,
        width=media.width,
        height=media.height,
        fps=media.fps,
        duration=round(media.duration, 3),
        video_codec=media.video_codec,
        audio_codec=media.audio_codec or None,
        bitrate=media.bitrate or None,
        rotation=media.rotation,
        has_audio=media.has_audio,
        pix_fmt=media.pix_fmt,
        size=path.stat().st_size,
    )


def _frame_source(services: Services, video_id: str, timestamp: float) -> tuple[str, Path]:
    found, path, media = _probed(services, video_id, "video_id")
    check_inside("timestamp", timestamp, media)
    return found, path


FRAME_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "The image", "content": {"image/*": BINARY}},
    504: {"model": ErrorBody, "description": "The extraction ran past its time limit (JOB_TIMEOUT_S)"},
}


@router.get("/extract-frame/{video_id}", response_class=Response, responses=FRAME_RESPONSES)
@admitted_as("video")
async def extract_frame(
    video_id: str,
    services: ServicesDep,
    timestamp: Annotated[float, Query(ge=0, description="Seconds from the start.")] = 0.0,
    format: Annotated[ImageFormat, Query(description="The image's format.")] = "png",
) -> Response:
    """The frame at `timestamp` as an image, answered directly; admitted like a video job."""
    services.admission.check_room("video")
    found, source = await asyncio.to_thread(_frame_source, services, video_id, timestamp)
    image = await services.frames.frame(found, source, timestamp, format)
    filename = f"{found}-{timestamp:g}s.{format}"
    headers = {"Content-Disposition": f'inline; filename="{filename}"'}
    return Response(image, media_type=MEDIA_TYPES[format], headers=headers)
