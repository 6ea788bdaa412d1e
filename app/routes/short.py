"""The short: scenes narrated and captioned over their backgrounds, music ducked under the voice, in one job;
its caption presets; and a preview frame before the render.

Everything a request can get wrong is checked here, scene by scene, before admission; the job only renders."""

import asyncio
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.admission_gate import admitted_as
from app.deps import ServicesDep
from app.errors import Busy, DomainError, InvalidInput, UnprocessableInput
from app.routes.alignment import checked_script
from app.routes.responses import JOB_RESPONSES
from app.routes.short_body import ORIENTATIONS, CaptionPreset, CaptionPresets, PreviewBody, ShortBody
from app.routes.short_preview import preview_png
from app.routes.submission import submit_job
from app.routes.video import check_size, speech_language
from app.services.inputs import ready_input
from app.services.url_policy import check_url
from app.services.video.background_url import fetch_background
from app.services.video.caption_fields import caption_fonts, caption_style
from app.services.video.captions import CaptionStyle, Word, parse_captions
from app.services.video.presets import DEFAULT_PRESET, DESCRIPTIONS, PRESETS, preset_style, preset_values
from app.services.video.render import EFFECTS
from app.services.video.short_job import ShortParams, ShortScene
from app.wiring import Services

router = APIRouter(prefix="/api/v1/media", tags=["video"])
_OVERRIDES = {
    "line_count": "caption_config_line_count",
    "line_max_length": "caption_config_line_max_length",
    "font_size": "caption_config_font_size",
    "font_name": "caption_config_font_name",
    "bold": "caption_config_font_bold",
    "italic": "caption_config_font_italic",
    "font_color": "caption_config_font_color",
    "position": "caption_config_subtitle_position",
    "shadow_color": "caption_config_shadow_color",
    "shadow_transparency": "caption_config_shadow_transparency",
    "shadow_blur": "caption_config_shadow_blur",
    "stroke_color": "caption_config_stroke_color",
    "stroke_size": "caption_config_stroke_size",
    "highlight_color": "caption_config_highlight_color",
}
"""CaptionStyle field -> the caption_config_* field that overrides it."""


@router.post("/video-tools/generate/short", status_code=202, response_class=Response, responses=JOB_RESPONSES)
@admitted_as("video")
async def generate_short(request: Request, body: ShortBody, services: ServicesDep) -> Response:
    """Render a short: every scene narrated, captioned with the preset, joined by the transition, music ducked
    under the speech. One job of kind video; `/info` lists the scenes' and words' times in the final video."""
    params = await short_params(body, services, fetch_urls=True)
    return await submit_job(request, services, "video", params, body)


@router.post(
    "/video-tools/preview",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "One frame, captions burned in."}},
)
async def preview_short(body: PreviewBody, services: ServicesDep) -> Response:
    """One frame of a scene (`scene_index`, at `at_s`) as the render will show it; synthesizes only that scene's
    first sentence."""
    params = await short_params(body, services)
    if body.scene_index >= len(params.scenes):
        raise InvalidInput(
            f"Field 'scene_index': {body.scene_index} is past the last scene ({len(params.scenes) - 1})."
        )
    png, at_s = await preview_png(services, params, body.scene_index, body.at_s)
    return Response(png, media_type="image/png", headers={"X-At-S": f"{at_s:.3f}"})


@router.get("/video-tools/caption-presets", response_model=CaptionPresets)
async def caption_presets() -> CaptionPresets:
    """The caption presets a short takes, with the style values each sets, and the font families."""
    presets = [CaptionPreset(name=n, description=DESCRIPTIONS[n], values=preset_values(n)) for n in PRESETS]
    return CaptionPresets(presets=presets, fonts=list(caption_fonts()), default=DEFAULT_PRESET)


async def short_params(body: ShortBody, services: Services, fetch_urls: bool = False) -> ShortParams:
    """The checked params of a short; 4xx naming the field (and the scene index) for anything wrong. With
    `fetch_urls`, each background_url is fetched once to see that it gives an image or a video (the job fetches
    it again: the params stay URLs, which any node can fetch; the preview fetches its one scene's itself)."""
    width, height = frame_size(body)
    style = short_style(body)
    scenes = [await checked_scene(index, body, services, fetch_urls) for index in range(len(body.scenes))]
    params = ShortParams(
        scenes=scenes,
        width=width,
        height=height,
        transition=body.transition,
        transition_s=body.transition_s,
        caption_preset=body.caption_preset.strip().lower(),
        style=style,
        music_volume=body.music_volume,
        ducking=body.ducking,
        allow_private_urls=services.settings.allow_private_urls,
        max_download_bytes=services.settings.max_upload_mb * 1024 * 1024,
    )
    if body.music_id and body.music_id.strip():
        params.music_id = ready_input(services.jobs, services.files, body.music_id, "music_id", ("audio",)).id
    return params


def frame_size(body: ShortBody) -> tuple[int, int]:
    """width x height when both are given, else the orientation's size."""
    if (body.width is None) != (body.height is None):
        raise InvalidInput("Give both 'width' and 'height' (or neither, to use 'orientation').")
    if body.width is not None and body.height is not None:
        check_size(body.width, body.height)
        return body.width, body.height
    return ORIENTATIONS[body.orientation]


def short_style(body: ShortBody) -> CaptionStyle | None:
    """The preset's style with the caption_font and caption_config_* overrides; None for the `none` preset."""
    name = body.caption_preset.strip().lower()
    if name not in PRESETS:
        raise UnprocessableInput(f"Unknown caption_preset '{body.caption_preset}'. Use one of: {', '.join(PRESETS)}.")
    base = preset_style(name, {})
    if base is None:
        return None
    given = {field: getattr(body, form) for field, form in _OVERRIDES.items() if getattr(body, form) is not None}
    if body.caption_font is not None:
        fonts = caption_fonts()
        if not any(font.lower() == body.caption_font.strip().lower() for font in fonts):
            raise UnprocessableInput(f"Unknown caption_font '{body.caption_font}'. Use one of: {', '.join(fonts)}.")
        given.setdefault("font_name", body.caption_font)
    fields: Any = {name: getattr(base, name) for name in _OVERRIDES} | given
    checked = caption_style(fields)
    return replace(base, **{name: getattr(checked, name) for name in _OVERRIDES})


@contextmanager
def in_scene(index: int) -> Iterator[None]:
    """A 4xx raised while checking scene `index` names it: 'scenes[2]: ...'."""
    try:
        yield
    except Busy:
        raise
    except DomainError as exc:
        if exc.message.startswith(f"scenes[{index}]"):
            raise
        raise type(exc)(f"scenes[{index}]: {exc.message}") from exc


async def checked_scene(index: int, body: ShortBody, services: Services, fetch_urls: bool = False) -> ShortScene:
    scene = body.scenes[index]
    where = f"scenes[{index}]"
    with in_scene(index):
        effect = scene.image_effect.strip().lower()
        if effect not in EFFECTS:
            raise UnprocessableInput(f"{where}.image_effect: unknown '{scene.image_effect}'; use {', '.join(EFFECTS)}.")
        checked = ShortScene(effect=effect, pause_after_s=scene.pause_after_s)
        await _background(index, body, services, checked, fetch_urls)
        await _narration(index, body, services, checked)
    return checked


async def _background(index: int, body: ShortBody, services: Services, checked: ShortScene, fetch: bool) -> None:
    scene = body.scenes[index]
    background_id = (scene.background_id or "").strip()
    url = (scene.background_url or "").strip()
    if bool(background_id) == bool(url):
        raise InvalidInput(f"scenes[{index}].background_id: give 'background_id' or 'background_url' (one of them).")
    if background_id:
        field = f"scenes[{index}].background_id"
        stored = ready_input(services.jobs, services.files, background_id, field, ("image", "video"))
        checked.background_id, checked.background_is_video = stored.id, stored.media_kind == "video"
        return
    field = f"scenes[{index}].background_url"
    checked.background_url = await asyncio.to_thread(check_url, url, services.settings.allow_private_urls, field=field)
    if fetch:
        checked.background_is_video = await asyncio.to_thread(
            _fetched_is_video, services, checked.background_url, field
        )


def _fetched_is_video(services: Services, url: str, field: str) -> bool:
    """Fetch a background_url into scratch (deleted after): whether it is a video; 4xx naming `field` when it is
    neither an image nor a video, or cannot be fetched."""
    settings = services.settings
    with tempfile.TemporaryDirectory(dir=services.files.storage.scratch_root()) as folder:
        dest = Path(folder) / "background"
        cap = settings.max_upload_mb * 1024 * 1024
        return fetch_background(url, dest, field, cap, settings.allow_private_urls, services.ffmpeg)[1]


async def _narration(index: int, body: ShortBody, services: Services, checked: ShortScene) -> None:
    scene = body.scenes[index]
    text = scene.text if scene.text and scene.text.strip() else None
    audio_id = (scene.audio_id or "").strip()
    captions = scene.captions if scene.captions and scene.captions.strip() else None
    if text is None and not audio_id:
        raise InvalidInput(f"scenes[{index}].text: give 'text' (narration to synthesize) or 'audio_id' (a narration).")
    if captions is not None and (not audio_id or text is not None):
        raise InvalidInput(f"scenes[{index}].captions: only with 'audio_id' and without 'text' (its script).")
    if not audio_id:
        checked.speech = await services.tts.prepare(text or "", scene.voice, scene.speed, scene.lang_code)
        return
    field = f"scenes[{index}].audio_id"
    checked.audio_id = ready_input(services.jobs, services.files, audio_id, field, ("audio",)).id
    if captions is not None:
        checked.captions = [Word(w.word, w.start, w.end) for w in parse_captions(captions)]
        return
    services.stt.check_available()
    checked.language = speech_language(services, scene.lang_code)
    checked.script = checked_script(text, services.settings.max_text_chars) if text else None
