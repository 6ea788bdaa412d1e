"""Video jobs: a captioned narration video over an image or video, merging clips, and the caption fonts.

Everything a request can get wrong is checked here, before admission; the job only renders.
"""

import math
from functools import lru_cache
from typing import Annotated, TypedDict

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import Field

from app.admission_gate import admitted_as
from app.deps import ServicesDep
from app.errors import InvalidInput, UnprocessableInput
from app.routes.fields import JobFields
from app.routes.inputs import ready_input
from app.routes.models import Fonts
from app.routes.responses import JOB_RESPONSES
from app.routes.submission import submit_job
from app.services.video.captions import CaptionStyle, Word, available_fonts, default_fonts_dir, parse_captions
from app.services.video.job import CaptionedParams, MergeParams
from app.services.video.render import EFFECTS

router = APIRouter(prefix="/api/v1/media", tags=["video"])

MAX_SIDE = 4096
MAX_MERGE_INPUTS = 50
_STYLE = CaptionStyle()


@lru_cache(maxsize=1)
def caption_fonts() -> tuple[str, ...]:
    return tuple(available_fonts(default_fonts_dir()))


class CaptionFields(TypedDict):
    """`CaptionStyle`'s fields as the caption_config_* form fields give them."""

    line_count: int
    line_max_length: int
    font_size: int
    font_name: str
    bold: bool
    italic: bool
    font_color: str
    position: str
    shadow_color: str
    shadow_transparency: float
    shadow_blur: float
    stroke_color: str
    stroke_size: float
    highlight_color: str


def caption_style(fields: CaptionFields) -> CaptionStyle:
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
        chosen: CaptionFields = {**fields, "font_name": match}
        return CaptionStyle(**chosen)
    except InvalidInput as exc:
        raise InvalidInput(f"Invalid caption config: {exc.message}.") from exc


def check_size(width: int, height: int) -> None:
    for field, value in (("width", width), ("height", height)):
        if not 16 <= value <= MAX_SIDE or value % 2:
            raise InvalidInput(f"Field '{field}' must be an even number from 16 to {MAX_SIDE}; got {value}.")


class CaptionedVideoForm(JobFields):
    background_id: str = Field(description="An uploaded image or video (looped to the narration).")
    text: str | None = Field(None, description="Narration to synthesize with Kokoro; or give audio_id.")
    audio_id: str | None = Field(None, description="An uploaded audio file (or TTS output) as narration.")
    width: int = 1080
    height: int = 1920
    kokoro_voice: str | None = Field(None, description="Default: DEFAULT_VOICE.")
    kokoro_speed: float = Field(1.0, description="0.5 to 2.0")
    lang_code: str | None = Field(None, description="G2P language; default: the voice's own.")
    image_effect: str = Field("ken_burns", description="ken_burns, pan or none (images only)")
    caption_config_line_count: int = Field(_STYLE.line_count, description="1 to 5")
    caption_config_line_max_length: int = _STYLE.line_max_length
    caption_config_font_size: int = Field(_STYLE.font_size, description="For a 1080-wide frame; scaled.")
    caption_config_font_name: str = Field(_STYLE.font_name, description="See GET /api/v1/media/fonts.")
    caption_config_font_bold: bool = _STYLE.bold
    caption_config_font_italic: bool = _STYLE.italic
    caption_config_font_color: str = Field(_STYLE.font_color, description="#RRGGBB")
    caption_config_subtitle_position: str = Field(_STYLE.position, description="top, center or bottom")
    caption_config_shadow_color: str = _STYLE.shadow_color
    caption_config_shadow_transparency: float = Field(_STYLE.shadow_transparency, description="0 to 1")
    caption_config_shadow_blur: float = _STYLE.shadow_blur
    caption_config_stroke_color: str = _STYLE.stroke_color
    caption_config_stroke_size: float = _STYLE.stroke_size
    caption_config_highlight_color: str = Field("", description="Current word colour; empty = off")
    captions: str | None = Field(None, description="SRT, WebVTT or JSON words; only with audio_id.")
    name: str | None = None
    webhook_url: str | None = Field(None, description="POSTed JSON when the job ends.")
    wait: bool = Field(False, description="Hold the request until the job ends; answer with the file.")

    def style(self) -> CaptionStyle:
        return caption_style(
            {
                "line_count": self.caption_config_line_count,
                "line_max_length": self.caption_config_line_max_length,
                "font_size": self.caption_config_font_size,
                "font_name": self.caption_config_font_name,
                "bold": self.caption_config_font_bold,
                "italic": self.caption_config_font_italic,
                "font_color": self.caption_config_font_color,
                "position": self.caption_config_subtitle_position.strip().lower(),
                "shadow_color": self.caption_config_shadow_color,
                "shadow_transparency": self.caption_config_shadow_transparency,
                "shadow_blur": self.caption_config_shadow_blur,
                "stroke_color": self.caption_config_stroke_color,
                "stroke_size": self.caption_config_stroke_size,
                "highlight_color": self.caption_config_highlight_color.strip(),
            }
        )


def _present(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


@router.post(
    "/video-tools/generate/tts-captioned-video", status_code=202, response_class=Response, responses=JOB_RESPONSES
)
@admitted_as("video")
async def captioned_video(
    request: Request, form: Annotated[CaptionedVideoForm, Form()], services: ServicesDep
) -> Response:
    text = form.text if form.text and form.text.strip() else None
    audio_id = _present(form.audio_id)
    captions = form.captions if form.captions and form.captions.strip() else None
    if (text is None) == (audio_id is None):
        raise InvalidInput("Give exactly one of 'text' (narration to synthesize) or 'audio_id' (uploaded narration).")
    if captions is not None and audio_id is None:
        raise InvalidInput("Field 'captions' is only used with 'audio_id'; text narration is captioned from its words.")
    check_size(form.width, form.height)
    effect = form.image_effect.strip().lower()
    if effect not in EFFECTS:
        raise UnprocessableInput(f"Unknown image_effect '{form.image_effect}'. Use one of: {', '.join(EFFECTS)}.")
    style = form.style()
    jobs, files = services.jobs, services.files
    background = ready_input(jobs, files, form.background_id, "background_id", ("image", "video"))
    params = CaptionedParams(
        background_id=background.id,
        background_is_video=background.media_kind == "video",
        width=form.width,
        height=form.height,
        effect=effect,
        style=style,
    )
    if audio_id is not None:
        params.audio_id = ready_input(jobs, files, audio_id, "audio_id", ("audio",)).id
        if captions is not None:
            params.captions = [Word(w.word, w.start, w.end) for w in parse_captions(captions)]
    else:
        params.speech = services.tts.validate(text or "", form.kokoro_voice, form.kokoro_speed, form.lang_code)
    return await submit_job(request, services, "video", params, form)


class MergeForm(JobFields):
    video_ids: str = Field(description="Comma-separated ids of ready videos, in order.")
    background_music_id: str | None = Field(None, description="An uploaded audio file mixed under the clips.")
    background_music_volume: float = Field(0.2, description="0.0 to 1.0")
    name: str | None = None
    webhook_url: str | None = Field(None, description="POSTed JSON when the job ends.")
    wait: bool = Field(False, description="Hold the request until the job ends; answer with the file.")


@router.post("/video-tools/merge", status_code=202, response_class=Response, responses=JOB_RESPONSES)
@admitted_as("video")
async def merge_videos(request: Request, form: Annotated[MergeForm, Form()], services: ServicesDep) -> Response:
    ids = [part.strip() for part in form.video_ids.split(",") if part.strip()]
    if not ids:
        raise InvalidInput("Field 'video_ids' needs at least one video id (comma-separated).")
    if len(ids) > MAX_MERGE_INPUTS:
        raise InvalidInput(f"Field 'video_ids' has {len(ids)} ids; at most {MAX_MERGE_INPUTS} can be merged.")
    volume = form.background_music_volume
    if not math.isfinite(volume) or not 0.0 <= volume <= 1.0:
        raise UnprocessableInput(f"Field 'background_music_volume' must be between 0.0 and 1.0; got {volume}.")
    jobs, files = services.jobs, services.files
    videos = [ready_input(jobs, files, file_id, "video_ids", ("video",)).id for file_id in ids]
    params = MergeParams(video_ids=videos, music_volume=volume)
    music_id = _present(form.background_music_id)
    if music_id:
        params.music_id = ready_input(jobs, files, music_id, "background_music_id", ("audio",)).id
    return await submit_job(request, services, "video", params, form)


@router.get("/fonts", response_model=Fonts)
async def list_fonts() -> Fonts:
    """Font families usable as caption_config_font_name."""
    return Fonts(fonts=list(caption_fonts()))
