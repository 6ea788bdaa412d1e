"""Caption presets: named sets of `CaptionStyle` fields, the starting point a short's caption_config_* override."""

from dataclasses import asdict, replace
from typing import Any

from app.services.video.captions import CaptionStyle

NO_CAPTIONS = "none"
DEFAULT_PRESET = "bold-word"
PRESETS: dict[str, dict[str, Any]] = {
    "bold-word": {
        "line_count": 1,
        "line_max_length": 1,
        "font_size": 120,
        "font_name": "Lato",
        "bold": True,
        "position": "center",
        "stroke_size": 7,
        "shadow_transparency": 0.3,
    },
    "karaoke": {
        "line_count": 2,
        "line_max_length": 22,
        "font_size": 80,
        "font_name": "Roboto",
        "bold": True,
        "position": "center",
        "stroke_size": 5,
        "highlight_color": "#FFD400",
    },
    "subtitle": {
        "line_count": 2,
        "line_max_length": 34,
        "font_size": 56,
        "font_name": "Source Sans Pro",
        "bold": False,
        "position": "bottom",
        "stroke_size": 3,
    },
    "boxed": {
        "line_count": 2,
        "line_max_length": 24,
        "font_size": 70,
        "font_name": "Red Hat Display",
        "bold": True,
        "position": "bottom",
        "stroke_size": 0,
        "box": True,
        "box_color": "#101010",
        "box_transparency": 0.25,
    },
    NO_CAPTIONS: {},
}
"""What each preset sets; every other field keeps `CaptionStyle`'s default. `none` burns no captions."""
DESCRIPTIONS = {
    "bold-word": "One big word at a time, centred.",
    "karaoke": "The line on screen, the spoken word highlighted.",
    "subtitle": "Up to two lines at the bottom, no highlight.",
    "boxed": "Words on a dark box at the bottom.",
    NO_CAPTIONS: "No captions.",
}


def preset_style(name: str, overrides: dict[str, Any]) -> CaptionStyle | None:
    """The preset's style with `overrides` (CaptionStyle fields) applied; None for `none`. KeyError: unknown."""
    values = PRESETS[name]
    if name == NO_CAPTIONS:
        return None
    return replace(CaptionStyle(**values), **overrides)


def preset_values(name: str) -> dict[str, Any]:
    """Every style field a preset renders with (empty for `none`)."""
    return {} if name == NO_CAPTIONS else asdict(CaptionStyle(**PRESETS[name]))
