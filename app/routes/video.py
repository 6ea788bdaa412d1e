"""Video jobs: a captioned narration video over an image or video, merging clips, and the caption fonts.

Everything a request can get wrong is checked here, before admission; the job only renders.
"""

import math
from dataclasses import asdict
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.admission_gate import admitted_as
from app.deps import get_storage, get_store, get_tts
from app.errors import InvalidInput, NotFound, UnprocessableInput
from app.routes.storage import NotReady, find_job
from app.routes.submission import submit_job
from app.services.jobs import READY, Job, JobStore
from app.services.storage import FileStorage
from app.services.tts.service import TtsService
from app.services.video.captions import CaptionStyle, available_fonts, default_fonts_dir, parse_captions
from app.services.video.render import EFFECTS

router = APIRouter(prefix="/api/v1/media", tags=["video"])

MAX_SIDE = 4096
MAX_MERGE_INPUTS = 50
_STYLE = CaptionStyle()
_KINDS = ("image", "video", "audio")


@lru_cache(maxsize=1)
def caption_fonts() -> tuple[str, ...]:
    return tuple(available_fonts(default_fonts_dir()))


def media_kind(job: Job) -> str:
    """image, video or audio: what an upload was sniffed as, else what a job's output MIME type says."""
    declared = job.result.get("media_type")
    if declared in _KINDS:
        return declared
    return (job.media_type or "").split("/", 1)[0]


def ready_input(store: JobStore, storage: FileStorage, file_id: str, field: str, kinds: tuple[str, ...]) -> Job:
    """A stored, ready file of one of `kinds`: 404 naming the id, 409 when not ready, 400 for the wrong kind."""
    file_id = file_id.strip()
    try:
        job = find_job(store, file_id)
    except NotFound as exc:
        raise NotFound(f"Field '{field}': no file with id '{file_id[:64]}'.") from exc
    if job.status != READY or not job.filename:
        raise NotReady(f"Field '{field}': file '{file_id}' is not ready (status: {job.status}).")
    storage.path(job.filename)
    kind = media_kind(job)
    if kind not in kinds:
        wanted = " or ".join(kinds)
        raise InvalidInput(f"Field '{field}': file '{file_id}' is {kind or 'not media'}; expected {wanted}.")
    if job.filename.endswith(".pcm"):
        raise InvalidInput(f"Field '{field}': file '{file_id}' is raw PCM without a header; use wav or another format.")
    return job


def caption_style(fields: dict) -> CaptionStyle:
    """The style from the caption_config_* fields; 400 for a bad value, 422 for an unknown font."""
    fonts = caption_fonts()
    wanted = fields["font_name"].strip()
    match = next((font for font in fonts if font.lower() == wanted.lower()), None)
    if match is None:
        raise UnprocessableInput(
            f"Unknown caption_config_font_name '{wanted}'. Available fonts: {', '.join(fonts)} "
            "(GET /api/v1/media/fonts)."
        )
    try:
        return CaptionStyle(**{**fields, "font_name": match})
    except InvalidInput as exc:
        raise InvalidInput(f"Invalid caption config: {exc.message}.") from exc


def check_size(width: int, height: int) -> None:
    for field, value in (("width", width), ("height", height)):
        if not 16 <= value <= MAX_SIDE or value % 2:
            raise InvalidInput(f"Field '{field}' must be an even number from 16 to {MAX_SIDE}; got {value}.")


@router.post("/video-tools/generate/tts-captioned-video", status_code=202)
@admitted_as("video")
async def captioned_video(
    request: Request,
    background_id: Annotated[str, Form(description="An uploaded image or video (looped to the narration).")],
    text: Annotated[str | None, Form(description="Narration to synthesize with Kokoro; or give audio_id.")] = None,
    audio_id: Annotated[str | None, Form(description="An uploaded audio file (or TTS output) as narration.")] = None,
    width: Annotated[int, Form()] = 1080,
    height: Annotated[int, Form()] = 1920,
    kokoro_voice: Annotated[str | None, Form(description="Default: DEFAULT_VOICE.")] = None,
    kokoro_speed: Annotated[float, Form(description="0.5 to 2.0")] = 1.0,
    lang_code: Annotated[str | None, Form(description="G2P language; default: the voice's own.")] = None,
    name: Annotated[str | None, Form()] = None,
    image_effect: Annotated[str, Form(description="ken_burns, pan or none (images only)")] = "ken_burns",
    caption_config_line_count: Annotated[int, Form(description="1 to 5")] = _STYLE.line_count,
    caption_config_line_max_length: Annotated[int, Form()] = _STYLE.line_max_length,
    caption_config_font_size: Annotated[int, Form(description="For a 1080-wide frame; scaled.")] = _STYLE.font_size,
    caption_config_font_name: Annotated[str, Form(description="See GET /api/v1/media/fonts.")] = _STYLE.font_name,
    caption_config_font_bold: Annotated[bool, Form()] = _STYLE.bold,
    caption_config_font_italic: Annotated[bool, Form()] = _STYLE.italic,
    caption_config_font_color: Annotated[str, Form(description="#RRGGBB")] = _STYLE.font_color,
    caption_config_subtitle_position: Annotated[str, Form(description="top, center or bottom")] = _STYLE.position,
    caption_config_shadow_color: Annotated[str, Form()] = _STYLE.shadow_color,
    caption_config_shadow_transparency: Annotated[float, Form(description="0 to 1")] = _STYLE.shadow_transparency,
    caption_config_shadow_blur: Annotated[float, Form()] = _STYLE.shadow_blur,
    caption_config_stroke_color: Annotated[str, Form()] = _STYLE.stroke_color,
    caption_config_stroke_size: Annotated[float, Form()] = _STYLE.stroke_size,
    caption_config_highlight_color: Annotated[str, Form(description="Current word colour; empty = off")] = "",
    captions: Annotated[str | None, Form(description="SRT, WebVTT or JSON words; only with audio_id.")] = None,
    webhook_url: Annotated[str | None, Form(description="POSTed JSON when the job ends.")] = None,
    wait: Annotated[bool, Form(description="Hold the request until the job ends; answer with the file.")] = False,
    tts: TtsService = Depends(get_tts),
    store: JobStore = Depends(get_store),
    storage: FileStorage = Depends(get_storage),
) -> Response:
    text = text if text and text.strip() else None
    audio_id = audio_id.strip() if audio_id and audio_id.strip() else None
    captions = captions if captions and captions.strip() else None
    if (text is None) == (audio_id is None):
        raise InvalidInput("Give exactly one of 'text' (narration to synthesize) or 'audio_id' (uploaded narration).")
    if captions is not None and audio_id is None:
        raise InvalidInput("Field 'captions' is only used with 'audio_id'; text narration is captioned from its words.")
    check_size(width, height)
    effect = image_effect.strip().lower()
    if effect not in EFFECTS:
        raise UnprocessableInput(f"Unknown image_effect '{image_effect}'. Use one of: {', '.join(EFFECTS)}.")
    style = caption_style(
        {
            "line_count": caption_config_line_count,
            "line_max_length": caption_config_line_max_length,
            "font_size": caption_config_font_size,
            "font_name": caption_config_font_name,
            "bold": caption_config_font_bold,
            "italic": caption_config_font_italic,
            "font_color": caption_config_font_color,
            "position": caption_config_subtitle_position.strip().lower(),
            "shadow_color": caption_config_shadow_color,
            "shadow_transparency": caption_config_shadow_transparency,
            "shadow_blur": caption_config_shadow_blur,
            "stroke_color": caption_config_stroke_color,
            "stroke_size": caption_config_stroke_size,
            "highlight_color": caption_config_highlight_color.strip(),
        }
    )
    background = ready_input(store, storage, background_id, "background_id", ("image", "video"))
    params: dict = {
        "operation": "captioned",
        "background_id": background.id,
        "background_is_video": media_kind(background) == "video",
        "width": width,
        "height": height,
        "effect": effect,
        "style": asdict(style),
    }
    if audio_id is not None:
        params["audio_id"] = ready_input(store, storage, audio_id, "audio_id", ("audio",)).id
        if captions is not None:
            params["captions"] = [asdict(word) for word in parse_captions(captions)]
    else:
        speech = tts.validate(text, kokoro_voice, kokoro_speed, lang_code)
        params["speech"] = asdict(speech)
    return await submit_job(request, "video", params, name, webhook_url, wait)


@router.post("/video-tools/merge", status_code=202)
@admitted_as("video")
async def merge_videos(
    request: Request,
    video_ids: Annotated[str, Form(description="Comma-separated ids of ready videos, in order.")],
    background_music_id: Annotated[
        str | None, Form(description="An uploaded audio file mixed under the clips.")
    ] = None,
    background_music_volume: Annotated[float, Form(description="0.0 to 1.0")] = 0.2,
    name: Annotated[str | None, Form()] = None,
    webhook_url: Annotated[str | None, Form(description="POSTed JSON when the job ends.")] = None,
    wait: Annotated[bool, Form(description="Hold the request until the job ends; answer with the file.")] = False,
    store: JobStore = Depends(get_store),
    storage: FileStorage = Depends(get_storage),
) -> Response:
    ids = [part.strip() for part in video_ids.split(",") if part.strip()]
    if not ids:
        raise InvalidInput("Field 'video_ids' needs at least one video id (comma-separated).")
    if len(ids) > MAX_MERGE_INPUTS:
        raise InvalidInput(f"Field 'video_ids' has {len(ids)} ids; at most {MAX_MERGE_INPUTS} can be merged.")
    if not math.isfinite(background_music_volume) or not 0.0 <= background_music_volume <= 1.0:
        raise UnprocessableInput(
            f"Field 'background_music_volume' must be between 0.0 and 1.0; got {background_music_volume}."
        )
    videos = [ready_input(store, storage, file_id, "video_ids", ("video",)).id for file_id in ids]
    params: dict = {"operation": "merge", "video_ids": videos, "music_volume": background_music_volume}
    if background_music_id and background_music_id.strip():
        params["music_id"] = ready_input(store, storage, background_music_id, "background_music_id", ("audio",)).id
    return await submit_job(request, "video", params, name, webhook_url, wait)


@router.get("/fonts")
async def list_fonts() -> dict:
    """Font families usable as caption_config_font_name."""
    return {"fonts": list(caption_fonts())}
