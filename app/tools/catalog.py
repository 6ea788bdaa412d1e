"""Every tool of the toolbox, in the order the API docs list them."""

from app.tools import audio, captions, compose, utils, video
from app.tools.table import Tool


def all_tools() -> list[Tool]:
    return [*audio.TOOLS, *compose.TOOLS, *video.TOOLS, *utils.TOOLS, *captions.TOOLS]
