"""Video jobs: a captioned narration video over an image or video, merging clips, and the caption fonts.

Everything a request can get wrong is checked here, before admission; the job only renders.
"""

import math
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import Field

from app.admission_gate import admitted_as
from app.deps import ServicesDep
from app.errors import InvalidInput, UnprocessableInput
from app.jobs.kinds import MAX_MERGE_INPUTS
from app.routes.alignment import checked_script
from app.routes.models import Fonts
from app.routes.responses import JOB_RESPONSES
from app.routes.submission import submit_job
from app.services.inputs import ready_input
from app.services.job_fields import JobFields
from app.services.tts.g2p import normalize_lang_code
from app.services.video.caption_fields import CaptionConfigFields, caption_fonts
from app.services.video.captions import Word, parse_captions
from app.services.video.job import CaptionedParams, MergeParams
from app.services.video.render import EFFECTS
from app.wiring import Services

router = APIRouter(prefix="/api/v1/media", tags=["video"])

MAX_SIDE = 4096
WHISPER_BY_LANG_CODE = {
    "a": "en",
    "b": "en",
    "e": "es",
    "f": "fr",
    "h": "hi",
    "i": "it",
    "p": "pt",
    "j": "ja",
    "z": "zh",
}
"""Kokoro's language codes as the ISO 639-1 codes Whisper takes."""


def check_size(width: int, height: int) -> None:
    for field, value in (("width", width), ("height", height)):
        if not 16 <= value <= MAX_SIDE or value % 2:
            raise InvalidInput(f"Field '{field}' must be an even number from 16 to {MAX_SIDE}; got {value}.")


class CaptionedVideoForm(JobFields, CaptionConfigFields):
    background_id: str = Field(description="An uploaded image or video (looped to the narration).")
    text: str | None = Field(
        None, description="Narration to synthesize with Kokoro; with audio_id, its script (captions in its spelling)."
    )
    audio_id: str | None = Field(
        None, description="An uploaded audio file (or TTS output) as narration; captioned from its speech by default."
    )
    width: int = 1080
    height: int = 1920
    kokoro_voice: str | None = Field(None, description="Default: DEFAULT_VOICE.")
    kokoro_speed: float = Field(1.0, description="0.5 to 2.0")
    lang_code: str | None = Field(
        None, description="G2P language (default: the voice's own); with audio_id, the language to hear."
    )
    image_effect: str = Field("ken_burns", description="ken_burns, pan or none (images only)")
    captions: str | None = Field(
        None, description="SRT, WebVTT or JSON words; only with audio_id (default: transcribed from its speech)."
    )
    name: str | None = None
    webhook_url: str | None = Field(None, description="POSTed JSON when the job ends.")
    wait: bool = Field(False, description="Hold the request until the job ends; answer with the file.")


def check_narration(text: str | None, audio_id: str | None, captions: str | None) -> None:
    """`text` alone is narration to synthesize; with `audio_id`, the script of that narration."""
    if text is None and audio_id is None:
        raise InvalidInput(
            "Give 'text' (narration to synthesize) or 'audio_id' (uploaded narration, captioned from its speech, "
            "from 'captions', or from 'text' as its script)."
        )
    if captions is not None and audio_id is None:
        raise InvalidInput("Field 'captions' is only used with 'audio_id'; text narration is captioned from its words.")
    if captions is not None and text is not None:
        raise InvalidInput(
            "With 'audio_id', give 'captions' (timed captions) or 'text' (the script to align to the speech), not both."
        )


def speech_language(services: Services, lang_code: str | None) -> str | None:
    """The Whisper language of an uploaded narration from `lang_code` (a Kokoro code such as `p`, or `pt-br`);
    None (detect it) when absent."""
    if lang_code is None or not lang_code.strip():
        return None
    code = normalize_lang_code(lang_code)
    if code not in WHISPER_BY_LANG_CODE:
        raise UnprocessableInput(f"Unknown lang_code '{lang_code}'. Use one of: {', '.join(WHISPER_BY_LANG_CODE)}.")
    return services.stt.language(WHISPER_BY_LANG_CODE[code], "lang_code")


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
    check_narration(text, audio_id, captions)
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
            services.stt.check_available()
            params.language = speech_language(services, form.lang_code)
            params.script = checked_script(text, services.settings.max_text_chars) if text else None
    else:
        params.speech = await services.tts.prepare(text or "", form.kokoro_voice, form.kokoro_speed, form.lang_code)
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
