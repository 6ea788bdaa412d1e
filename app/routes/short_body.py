"""The JSON bodies of the short routes (typed in the OpenAPI), and the presets list's answer."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.services.job_fields import JobFields
from app.services.video.presets import DEFAULT_PRESET, PRESETS

MAX_SCENES = 50
ORIENTATIONS = {"portrait": (1080, 1920), "landscape": (1920, 1080), "square": (1080, 1080)}


class ShortSceneBody(BaseModel):
    """One scene: narration (`text` to synthesize, or `audio_id`) over a background (`background_id` or
    `background_url`), then an optional pause."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, description="Narration to synthesize; with audio_id, its script.")
    voice: str | None = Field(None, description="Kokoro voice (default: DEFAULT_VOICE).")
    speed: float = Field(1.0, description="0.5 to 2.0")
    lang_code: str | None = Field(None, description="G2P language (default: the voice's); with audio_id, its language.")
    audio_id: str | None = Field(None, description="An uploaded narration; captioned from its speech by default.")
    captions: str | None = Field(None, description="With audio_id: SRT, WebVTT or JSON words for it.")
    background_id: str | None = Field(None, description="An uploaded image or video.")
    background_url: str | None = Field(None, description="An image or video fetched by the job.")
    image_effect: str = Field("ken_burns", description="ken_burns, pan or none (images only).")
    pause_after_s: float = Field(0.0, ge=0.0, le=30.0, description="Silence after the narration.")


class CaptionOverrides(BaseModel):
    """The caption_config_* fields: each one given overrides the preset's value."""

    caption_config_line_count: int | None = None
    caption_config_line_max_length: int | None = None
    caption_config_font_size: int | None = Field(None, description="For a 1080-wide frame; scaled.")
    caption_config_font_name: str | None = Field(None, description="Same as caption_font.")
    caption_config_font_bold: bool | None = None
    caption_config_font_italic: bool | None = None
    caption_config_font_color: str | None = Field(None, description="#RRGGBB")
    caption_config_subtitle_position: str | None = Field(None, description="top, center or bottom")
    caption_config_shadow_color: str | None = None
    caption_config_shadow_transparency: float | None = None
    caption_config_shadow_blur: float | None = None
    caption_config_stroke_color: str | None = None
    caption_config_stroke_size: float | None = None
    caption_config_highlight_color: str | None = Field(None, description="Spoken word colour; empty = off.")


class ShortBody(JobFields, CaptionOverrides):
    """A finished short in one request: scenes, frame, transitions, music and captions."""

    model_config = ConfigDict(extra="forbid")

    scenes: list[ShortSceneBody] = Field(min_length=1, max_length=MAX_SCENES)
    orientation: Literal["portrait", "landscape", "square"] = Field(
        "portrait", description="portrait 1080x1920, landscape 1920x1080, square 1080x1080."
    )
    width: int | None = Field(None, description="With height: a custom frame size (even, 16 to 4096).")
    height: int | None = None
    transition: Literal["cut", "crossfade", "fade-black"] = "cut"
    transition_s: float = Field(0.5, ge=0.04, le=3.0, description="Length of each crossfade or fade-black.")
    music_id: str | None = Field(None, description="An uploaded audio file, looped under the whole short.")
    music_volume: float = Field(0.2, ge=0.0, le=1.0)
    ducking: bool = Field(True, description="Lower the music under the narration's speech.")
    caption_preset: str = Field(DEFAULT_PRESET, description=", ".join(PRESETS))
    caption_font: str | None = Field(None, description="A family of GET /api/v1/media/fonts.")


class PreviewBody(ShortBody):
    """The short's body and which frame to show: scene `scene_index` at `at_s` seconds after its start."""

    scene_index: int = Field(0, ge=0, lt=MAX_SCENES)
    at_s: float | None = Field(None, ge=0.0, description="Default: the middle of the scene's first word.")


class CaptionPreset(BaseModel):
    name: str
    description: str
    values: dict[str, Any] = Field(description="The caption style fields it sets (empty: no captions).")


class CaptionPresets(BaseModel):
    presets: list[CaptionPreset]
    fonts: list[str]
    default: str
