"""Word-timed captions: parsing SRT, WebVTT or JSON word lists, and writing styled ASS subtitles."""

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from app.errors import InvalidInput

_REFERENCE_WIDTH = 1080
_ALIGNMENT = {"bottom": 2, "center": 5, "top": 8}
_TIME_RE = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})$")
_MARKUP_RE = re.compile(r"<[^>]*>|\{\\[^}]*\}")
_COLOR_RE = re.compile(r"^#?([0-9a-fA-F]{6})$")
_FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
_WORD_JOINER = "\u2060"


@dataclass(frozen=True)
class Word:
    """One spoken word and its time span in seconds."""

    word: str
    start: float
    end: float


@dataclass(frozen=True)
class CaptionStyle:
    """How captions look; sizes are given for a 1080-pixel-wide frame and scaled to the real width."""

    line_count: int = 1
    line_max_length: int = 30
    font_size: int = 70
    font_name: str = "Lato"
    bold: bool = True
    italic: bool = False
    font_color: str = "#FFFFFF"
    position: str = "bottom"
    shadow_color: str = "#000000"
    shadow_transparency: float = 0.4
    shadow_blur: float = 0
    stroke_color: str = "#000000"
    stroke_size: float = 3
    highlight_color: str = ""
    box: bool = False
    box_color: str = "#000000"
    box_transparency: float = 0.35

    def __post_init__(self) -> None:
        _check(1 <= self.line_count <= 5, "line_count must be between 1 and 5")
        _check(self.line_max_length >= 1, "line_max_length must be at least 1")
        _check(self.font_size > 0, "font_size must be positive")
        _check(bool(self.font_name.strip()), "font_name must not be empty")
        _check(self.position in _ALIGNMENT, "position must be top, center or bottom")
        _check(0.0 <= self.shadow_transparency <= 1.0, "shadow_transparency must be between 0 and 1")
        _check(0.0 <= self.box_transparency <= 1.0, "box_transparency must be between 0 and 1")
        _check(self.shadow_blur >= 0 and self.stroke_size >= 0, "shadow_blur and stroke_size must not be negative")
        for name in ("font_color", "shadow_color", "stroke_color", "box_color"):
            ass_color(getattr(self, name))
        if self.highlight_color:
            ass_color(self.highlight_color)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise InvalidInput(message)


def ass_color(color: str, transparency: float = 0.0) -> str:
    """`#RRGGBB` as ASS `&HAABBGGRR`, alpha 00 opaque to FF transparent."""
    match = _COLOR_RE.match(color.strip())
    if match is None:
        raise InvalidInput(f"invalid colour {color!r}: expected #RRGGBB")
    rgb = match.group(1).upper()
    alpha = round(transparency * 255)
    return f"&H{alpha:02X}{rgb[4:6]}{rgb[2:4]}{rgb[0:2]}"


def available_fonts(fonts_dir: Path | str | None = None) -> list[str]:
    """Family names of the shipped caption fonts; of a folder's fonts, from names like `Family-Style.ttf`."""
    if fonts_dir is None:
        from app.services.video.fonts import font_families

        return font_families()
    folder = Path(fonts_dir)
    families = {path.stem.split("-")[0] for path in folder.iterdir() if path.suffix.lower() in _FONT_SUFFIXES}
    return sorted(families)


def default_fonts_dir() -> Path:
    """The folder of the caption fonts shipped by registry packages (Lato and the others in `fonts`)."""
    from app.services.video.fonts import caption_fonts_dir

    return caption_fonts_dir()


def parse_captions(text: str) -> list[Word]:
    """Words from SRT, WebVTT or a JSON list of {word, start, end}; cue times are spread over their words."""
    text = text.lstrip("\ufeff").strip()
    if not text:
        raise InvalidInput("captions are empty")
    if text[0] in "[{":
        words = _parse_json(text)
    elif text.startswith("WEBVTT") or "-->" in text:
        words = _parse_cues(text)
    else:
        raise InvalidInput("captions must be SRT, WebVTT or a JSON list of {word, start, end}")
    if not words:
        raise InvalidInput("captions contain no words")
    return sorted(words, key=lambda w: (w.start, w.end))


def _parse_json(text: str) -> list[Word]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"captions JSON is invalid: {exc.msg} at line {exc.lineno}") from exc
    if not isinstance(items, list):
        raise InvalidInput("captions JSON must be a list of {word, start, end}")
    return [_json_word(item, index) for index, item in enumerate(items)]


def _json_word(item: object, index: int) -> Word:
    if not isinstance(item, dict) or not isinstance(item.get("word"), str):
        raise InvalidInput(f"captions JSON item {index} must be an object with a string word, start and end")
    start, end = _seconds(item.get("start"), index), _seconds(item.get("end"), index)
    return _word(item["word"].strip(), start, end, f"item {index}")


def _seconds(value: object, index: int) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"captions JSON item {index} needs numeric start and end")
    return float(value)


def _word(text: str, start: float, end: float, where: str) -> Word:
    if start < 0 or end < start:
        raise InvalidInput(f"captions {where}: times must satisfy 0 <= start <= end")
    return Word(text, start, end)


def _parse_cues(text: str) -> list[Word]:
    words: list[Word] = []
    blocks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    for block in blocks:
        lines = block.strip("\n").split("\n")
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing is None:
            continue
        start, end = _cue_times(lines[timing])
        words += _spread(_cue_text(lines[timing + 1 :]), start, end)
    if not words:
        raise InvalidInput("captions contain no timed cues")
    return words


def _cue_times(line: str) -> tuple[float, float]:
    left, _, right = line.partition("-->")
    tokens = right.split()
    start = _timestamp(left.strip())
    end = _timestamp(tokens[0] if tokens else "")
    if end < start:
        raise InvalidInput(f"caption cue ends before it starts: {line.strip()!r}")
    return start, end


def _timestamp(value: str) -> float:
    match = _TIME_RE.match(value)
    if match is None:
        raise InvalidInput(f"invalid caption timestamp {value!r}")
    hours, minutes, seconds, fraction = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(fraction.ljust(3, "0")) / 1000


def _cue_text(lines: list[str]) -> list[str]:
    return _MARKUP_RE.sub("", " ".join(lines)).split()


def _spread(tokens: list[str], start: float, end: float) -> list[Word]:
    """Times for a cue's words, each getting a share of the cue proportional to its length."""
    total = sum(len(token) for token in tokens)
    words: list[Word] = []
    cursor = 0
    for token in tokens:
        t0 = start + (end - start) * cursor / total
        cursor += len(token)
        words.append(Word(token, round(t0, 3), round(start + (end - start) * cursor / total, 3)))
    return words


def build_ass(words: list[Word], style: CaptionStyle, width: int, height: int) -> str:
    """A complete ASS script: one Dialogue per caption screen, or per word when a highlight colour is set."""
    return build_scenes_ass([words], style, width, height)


def build_scenes_ass(scenes: list[list[Word]], style: CaptionStyle, width: int, height: int) -> str:
    """`build_ass` for words in scenes: a caption screen never holds words of two scenes."""
    events: list[str] = []
    for words in scenes:
        for screen in group_screens(words, style):
            events += _screen_events(screen, style)
    return _header(style, width, height) + "\n".join(events) + "\n"


def group_screens(words: list[Word], style: CaptionStyle) -> list[list[list[Word]]]:
    """Words grouped into screens of at most `line_count` lines of at most `line_max_length` characters."""
    screens: list[list[list[Word]]] = []
    lines: list[list[Word]] = []
    for word in (w for w in words if w.word.strip()):
        if lines and len(_line_text(lines[-1] + [word])) <= style.line_max_length:
            lines[-1].append(word)
            continue
        if len(lines) == style.line_count:
            screens.append(lines)
            lines = []
        lines.append([word])
    if lines:
        screens.append(lines)
    return screens


def _line_text(line: list[Word]) -> str:
    return " ".join(word.word.strip() for word in line)


def _screen_events(screen: list[list[Word]], style: CaptionStyle) -> list[str]:
    flat = [word for line in screen for word in line]
    prefix = f"{{\\blur{style.shadow_blur:g}}}" if style.shadow_blur > 0 else ""
    if not style.highlight_color:
        text = "\\N".join(" ".join(escape_ass(w.word.strip()) for w in line) for line in screen)
        return [_dialogue(flat[0].start, flat[-1].end, prefix + text)]
    events: list[str] = []
    for index, word in enumerate(flat):
        end = flat[index + 1].start if index + 1 < len(flat) else word.end
        events.append(_dialogue(word.start, max(end, word.start), prefix + _highlighted(screen, index, style)))
    return events


def _highlighted(screen: list[list[Word]], current: int, style: CaptionStyle) -> str:
    """The whole screen's text with word number `current` (counting across lines) in the highlight colour."""
    on = "{\\1c" + _tag_color(style.highlight_color) + "}"
    off = "{\\1c" + _tag_color(style.font_color) + "}"
    lines: list[str] = []
    position = 0
    for line in screen:
        parts: list[str] = []
        for word in line:
            text = escape_ass(word.word.strip())
            parts.append(f"{on}{text}{off}" if position == current else text)
            position += 1
        lines.append(" ".join(parts))
    return "\\N".join(lines)


def _tag_color(color: str) -> str:
    return "&H" + ass_color(color)[4:] + "&"


def escape_ass(text: str) -> str:
    """Text safe inside an ASS Dialogue: braces escaped, backslash sequences broken, newlines as spaces."""
    text = re.sub(r"[\r\n]+", " ", text).replace("\\", "\\" + _WORD_JOINER)
    return text.replace("{", "\\{").replace("}", "\\}")


def _dialogue(start: float, end: float, text: str) -> str:
    return f"Dialogue: 0,{_ass_time(start)},{_ass_time(end)},Default,,0,0,0,,{text}"


def _ass_time(seconds: float) -> str:
    centis = max(0, round(seconds * 100))
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6000)
    secs, centi = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{centi:02d}"


def _header(style: CaptionStyle, width: int, height: int) -> str:
    scale = width / _REFERENCE_WIDTH
    font_size = max(1, round(style.font_size * scale))
    outline = round(style.stroke_size * scale, 2)
    shadow = round(max(1.0, style.font_size * 0.05) * scale, 2)
    margin_h = round(width * 0.06)
    margin_v = round(height * 0.1)
    primary = ass_color(style.font_color)
    outline_colour = ass_color(style.stroke_color)
    if style.box:  # BorderStyle 3: an opaque box behind each line, in the outline colour, the outline its padding
        outline = round(max(style.stroke_size, style.font_size * 0.18) * scale, 2)
        outline_colour, shadow = ass_color(style.box_color, style.box_transparency), 0.0
    fields = [
        "Default",
        style.font_name.replace(",", " "),
        font_size,
        primary,
        primary,
        outline_colour,
        ass_color(style.shadow_color, style.shadow_transparency),
        -1 if style.bold else 0,
        -1 if style.italic else 0,
        0,
        0,
        100,
        100,
        0,
        0,
        3 if style.box else 1,
        f"{outline:g}",
        f"{shadow:g}",
        _ALIGNMENT[style.position],
        margin_h,
        margin_h,
        margin_v,
        1,
    ]
    return (
        "[Script Info]\n"
        "ScriptType: v4.00+\n"
        f"PlayResX: {width}\n"
        f"PlayResY: {height}\n"
        "WrapStyle: 0\n"
        "ScaledBorderAndShadow: yes\n"
        "YCbCr Matrix: None\n"
        "\n"
        "[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
        "MarginR, MarginV, Encoding\n"
        f"Style: {','.join(str(f) for f in fields)}\n"
        "\n"
        "[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )
