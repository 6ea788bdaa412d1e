"""The caption_config_* form fields every captioning route takes, and the caption style they make.

Kept apart from the route modules (no service dependencies), so the toolbox's forms can share them too.
"""

import re
from functools import lru_cache
from typing import TypedDict

from pydantic import BaseModel, Field

from app.errors import InvalidInput, UnprocessableInput
from app.services.video.captions import CaptionStyle, ass_color, available_fonts

_STYLE = CaptionStyle()
_FORM_NAMES = {"bold": "font_bold", "italic": "font_italic", "position": "subtitle_position"}
_COLOURS = ("font_color", "shadow_color", "stroke_color", "highlight_color")


@lru_cache(maxsize=1)
def caption_fonts() -> tuple[str, ...]:
    return tuple(available_fonts())


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
    _check_colours(fields)
    try:
        chosen: CaptionFields = {**fields, "font_name": match}
        return CaptionStyle(**chosen)
    except InvalidInput as exc:
        named = re.sub(
            r"\b(" + "|".join(CaptionFields.__annotations__) + r")\b", lambda m: form_field(m[1]), exc.message
        )
        raise InvalidInput(f"Invalid caption config: {named}.") from exc


def _check_colours(fields: CaptionFields) -> None:
    """400 naming the caption_config_* field of a colour that is not #RRGGBB (an empty highlight turns karaoke off)."""
    values: dict[str, object] = dict(fields)
    for name in _COLOURS:
        if values[name] or name != "highlight_color":
            try:
                ass_color(str(values[name]))
            except InvalidInput as exc:
                raise InvalidInput(f"Invalid caption config: {form_field(name)} has an {exc.message}.") from exc


def form_field(style_field: str) -> str:
    """The caption_config_* form field that sets a `CaptionStyle` field."""
    return "caption_config_" + _FORM_NAMES.get(style_field, style_field)


class CaptionConfigFields(BaseModel):
    """How burned-in captions look: the caption_config_* fields of a form."""

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
