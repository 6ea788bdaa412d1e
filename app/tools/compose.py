"""Video composition tools (kind `video`): a new sound, a new length, an overlay (plain or colour-keyed) and
a looping video from a still or a clip, each one ffmpeg process writing an mp4."""

import re
from pathlib import Path
from typing import Literal

from pydantic import Field

from app.errors import InvalidInput, UnprocessableInput
from app.services.ffmpeg import MediaInfo
from app.services.files import StoredFile
from app.services.video.render import EFFECTS, FPS, background_chain
from app.tools.table import Inputs, Invocation, Tool, ToolForm, ToolParams, ToolRun

PREFIX = "/api/v1/media/video-tools"
MAX_DURATION_S = 3 * 3600.0
MAX_STRETCH = 10.0
"""match-duration's stretch changes the speed at most this many times, either way."""
MAX_SIDE = 4096
DEFAULT_MAX_SIDE = 1920
"""A looping video without width and height keeps its source's size, scaled down to fit this."""

VIDEO_CODEC = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
AUDIO_CODEC = ["-c:a", "aac", "-b:a", "192k"]
MP4 = ["-movflags", "+faststart"]
COPYABLE_VIDEO = ("h264", "hevc")
COPYABLE_AUDIO = ("aac", "mp3")
"""Codecs an mp4 takes as they are: such streams are copied when a tool does not filter them."""


def _optional_id(value: str | None) -> str | None:
    """An id field left out or sent blank (as form builders do) is absent."""
    return value.strip() if value and value.strip() else None


def _exactly_one(first: tuple[str, object], second: tuple[str, object]) -> None:
    if (first[1] is None) == (second[1] is None):
        raise InvalidInput(f"Give exactly one of '{first[0]}' or '{second[0]}'.")


def _timed(inputs: Inputs, stored: StoredFile, field: str, stream: Literal["video", "audio"]) -> MediaInfo:
    """The probe of an input that must have a `stream` and a duration; 400 naming the field otherwise."""
    info = inputs.probe(stored)
    present = info.has_video if stream == "video" else info.has_audio
    if not present or info.duration <= 0:
        raise InvalidInput(f"Field '{field}': file '{stored.id}' has no {stream} stream with a duration.")
    return info


def _video_codec(info: MediaInfo) -> list[str]:
    """Copy an unfiltered video stream an mp4 can hold; else encode it."""
    return ["-c:v", "copy"] if info.video_codec in COPYABLE_VIDEO else VIDEO_CODEC


def _audio_codec(info: MediaInfo) -> list[str]:
    """Copy an unfiltered audio stream an mp4 can hold; else encode it."""
    return ["-c:a", "copy"] if info.audio_codec in COPYABLE_AUDIO else AUDIO_CODEC


def _seconds(value: float) -> str:
    return f"{value:.3f}"


# add-audio


class AddAudioParams(ToolParams):
    operation: Literal["video_add_audio"] = "video_add_audio"
    video_id: str
    audio_id: str
    mode: Literal["replace", "mix"]
    audio_volume: float
    video_volume: float
    fit: Literal["video", "audio", "shortest"]

    def invocation(self, run: ToolRun) -> Invocation:
        video, audio = run.input(self.video_id), run.input(self.audio_id)
        video_info, audio_info = run.probe(video), run.probe(audio)
        lengths = {"video": video_info.duration, "audio": audio_info.duration}
        duration = min(lengths.values()) if self.fit == "shortest" else lengths[self.fit]
        loop = ["-stream_loop", "-1"] if duration > video_info.duration else []
        args = [*loop, "-i", str(video), "-i", str(audio), "-filter_complex", self._sound(video_info, audio_info)]
        args += ["-map", "0:v:0", "-map", "[aout]", *_video_codec(video_info), *AUDIO_CODEC]
        facts = {"video_id": self.video_id, "audio_id": self.audio_id, "mode": self.mode, "fit": self.fit}
        return Invocation([*args, "-t", _seconds(duration), *MP4], "mp4", duration, facts)

    def _sound(self, video: MediaInfo, audio: MediaInfo) -> str:
        """The new sound, padded with silence: the output's `-t` sets its length."""
        added = f"volume={self.audio_volume:.4f},apad"
        if self.mode == "replace":
            return f"[1:a]{added}[aout]"
        own = f"[0:a]{_stereo(video.channels)},volume={self.video_volume:.4f},apad[own]"
        new = f"[1:a]{_stereo(audio.channels)},{added}[new]"
        return f"{own};{new};[own][new]amix=inputs=2:duration=longest:normalize=0[aout]"


def _stereo(channels: int) -> str:
    """48 kHz stereo for mixing; a mono source goes to both sides at full level (a plain conversion is -3 dB)."""
    layout = "pan=stereo|c0=c0|c1=c0" if channels == 1 else "aformat=channel_layouts=stereo"
    return f"{layout},aresample=48000"


class AddAudioForm(ToolForm):
    video_id: str = Field(description="A stored video.")
    audio_id: str = Field(description="A stored audio file: the new sound.")
    mode: Literal["replace", "mix"] = Field("replace", description="replace the video's sound, or mix with it.")
    audio_volume: float = Field(1.0, ge=0.0, le=2.0, description="Gain of the added audio, 0 to 2.")
    video_volume: float = Field(1.0, ge=0.0, le=2.0, description="Gain of the video's own sound (mix), 0 to 2.")
    fit: Literal["video", "audio", "shortest"] = Field(
        "video",
        description="Output length: the video's (audio padded with silence or cut), the audio's (the video "
        "loops or is cut), or the shorter of the two.",
    )

    def params(self, inputs: Inputs) -> AddAudioParams:
        video = inputs.ready(self.video_id, "video_id", ("video",))
        audio = inputs.ready(self.audio_id, "audio_id", ("audio",))
        video_info = _timed(inputs, video, "video_id", "video")
        _timed(inputs, audio, "audio_id", "audio")
        if self.mode == "mix" and not video_info.has_audio:
            raise InvalidInput(f"Field 'video_id': video '{video.id}' has no sound to mix with (mode=mix).")
        return AddAudioParams(
            video_id=video.id,
            audio_id=audio.id,
            mode=self.mode,
            audio_volume=self.audio_volume,
            video_volume=self.video_volume,
            fit=self.fit,
        )


# match-duration


class MatchDurationParams(ToolParams):
    operation: Literal["video_match_duration"] = "video_match_duration"
    video_id: str
    duration: float | None = None
    audio_id: str | None = None
    mode: Literal["loop", "cut", "stretch"]

    def invocation(self, run: ToolRun) -> Invocation:
        video = run.input(self.video_id)
        info = run.probe(video)
        target = self.duration if self.duration is not None else run.probe(run.input(str(self.audio_id))).duration
        if self.mode == "stretch":
            args = _stretched(video, info, target)
        elif self.mode == "cut" and target > info.duration:
            args = _frozen_end(video, info)
        else:
            loop = ["-stream_loop", "-1"] if target > info.duration else []
            args = [*loop, "-i", str(video), "-map", "0:v:0", "-map", "0:a:0?", *_video_codec(info)]
            args += _audio_codec(info)
        facts = {"video_id": self.video_id, "mode": self.mode, "source_duration": round(info.duration, 3)}
        return Invocation([*args, "-t", _seconds(target), *MP4], "mp4", target, facts)


def _stretched(video: Path, info: MediaInfo, target: float) -> list[str]:
    """The whole clip played slower or faster to last `target`, at its own frame rate."""
    factor = target / info.duration
    fps = f"{info.fps:g}" if info.fps > 0 else str(FPS)
    graph = f"[0:v]setpts={factor:.6f}*(PTS-STARTPTS),fps={fps}[v]"
    maps = ["-map", "[v]"]
    if info.has_audio:
        graph += f";[0:a]{_tempo(1 / factor)}[a]"
        maps += ["-map", "[a]"]
    return ["-i", str(video), "-filter_complex", graph, *maps, *VIDEO_CODEC, *AUDIO_CODEC]


def _tempo(speed: float) -> str:
    """atempo filters whose product is `speed`, each within 0.5-2 where atempo sounds best."""
    steps: list[float] = []
    while speed < 0.5 or speed > 2.0:
        step = 0.5 if speed < 0.5 else 2.0
        steps.append(step)
        speed /= step
    return ",".join(f"atempo={step:.6f}" for step in [*steps, speed])


def _frozen_end(video: Path, info: MediaInfo) -> list[str]:
    """A clip whose last frame holds and whose sound is padded with silence, for ever: the output's `-t` cuts it."""
    graph = "[0:v]tpad=stop_mode=clone:stop=-1[v]"
    maps = ["-map", "[v]"]
    if info.has_audio:
        graph += ";[0:a]apad[a]"
        maps += ["-map", "[a]"]
    return ["-i", str(video), "-filter_complex", graph, *maps, *VIDEO_CODEC, *AUDIO_CODEC]


class MatchDurationForm(ToolForm):
    video_id: str = Field(description="A stored video.")
    duration: float | None = Field(None, gt=0, le=MAX_DURATION_S, description="Seconds; or give audio_id.")
    audio_id: str | None = Field(None, description="A stored audio file whose length the video takes.")
    mode: Literal["loop", "cut", "stretch"] = Field(
        "loop",
        description="loop (repeat, then cut), cut (cut, or hold the last frame when longer), stretch (change "
        "the speed).",
    )

    def params(self, inputs: Inputs) -> MatchDurationParams:
        audio_id = _optional_id(self.audio_id)
        _exactly_one(("duration", self.duration), ("audio_id", audio_id))
        video = inputs.ready(self.video_id, "video_id", ("video",))
        length = _timed(inputs, video, "video_id", "video").duration
        if audio_id is not None:
            audio = inputs.ready(audio_id, "audio_id", ("audio",))
            audio_id, target, field = audio.id, _timed(inputs, audio, "audio_id", "audio").duration, "audio_id"
        else:
            target, field = float(self.duration or 0), "duration"
        if self.mode == "stretch" and not 1 / MAX_STRETCH <= target / length <= MAX_STRETCH:
            raise InvalidInput(
                f"Field '{field}': stretching {length:.3f} s to {target:.3f} s changes the speed more than "
                f"{MAX_STRETCH:g} times."
            )
        return MatchDurationParams(video_id=video.id, duration=self.duration, audio_id=audio_id, mode=self.mode)


# add-overlay and add-colorkey-overlay

POSITIONS: dict[str, tuple[str, str]] = {
    "top-left": ("{m}", "{m}"),
    "top": ("(W-w)/2", "{m}"),
    "top-right": ("W-w-{m}", "{m}"),
    "left": ("{m}", "(H-h)/2"),
    "center": ("(W-w)/2", "(H-h)/2"),
    "right": ("W-w-{m}", "(H-h)/2"),
    "bottom-left": ("{m}", "H-h-{m}"),
    "bottom": ("(W-w)/2", "H-h-{m}"),
    "bottom-right": ("W-w-{m}", "H-h-{m}"),
}
"""Where each named position puts the overlay: x and y with the margin `{m}`."""
Position = Literal["top-left", "top", "top-right", "left", "center", "right", "bottom-left", "bottom", "bottom-right"]

EXPRESSION_NAMES = frozenset(
    {"W", "H", "w", "h", "main_w", "main_h", "overlay_w", "overlay_h", "t", "n", "PI"}
    | {"min", "max", "abs", "if", "ifnot", "gt", "gte", "lt", "lte", "eq", "between", "clip"}
    | {"floor", "ceil", "round", "trunc", "sqrt", "mod", "sin", "cos"}
)
"""The variables and functions an overlay coordinate may use: nothing that stores, reads or escapes."""
_EXPRESSION_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?|\.\d+)|([A-Za-z_]\w*)|([-+*/(),]))\s*", re.ASCII)
MAX_EXPRESSION = 100


def safe_expression(value: str, field: str) -> str:
    """A coordinate expression such as `W-w-20` made only of numbers, `+ - * / ( ) ,` and EXPRESSION_NAMES,
    with balanced parentheses: nothing in it can reach the filtergraph's syntax. 400 naming the field."""
    text, position, depth = value.strip(), 0, 0
    if not text or len(text) > MAX_EXPRESSION:
        raise InvalidInput(f"Field '{field}' must be an expression of 1 to {MAX_EXPRESSION} characters.")
    while position < len(text):
        token = _EXPRESSION_TOKEN.match(text, position)
        if token is None:
            raise InvalidInput(f"Field '{field}': character {text[position]!r} is not allowed in an expression.")
        name, symbol = token.group(2), token.group(3)
        if name is not None and name not in EXPRESSION_NAMES:
            raise InvalidInput(f"Field '{field}': unknown name '{name}' (use W, H, w, h, t and arithmetic).")
        depth += {"(": 1, ")": -1}.get(symbol or "", 0)
        if depth < 0:
            raise InvalidInput(f"Field '{field}': unbalanced parentheses.")
        position = token.end()
    if depth:
        raise InvalidInput(f"Field '{field}': unbalanced parentheses.")
    return text


class PlacedOverlay(ToolParams):
    """An overlay placed over a video from `start` to `end`; what add-overlay and add-colorkey-overlay share."""

    video_id: str
    overlay_id: str
    overlay_is_video: bool
    x: str
    y: str
    overlay_width: int | None = None
    opacity: float = 1.0
    start: float = 0.0
    end: float | None = None

    def invocation(self, run: ToolRun) -> Invocation:
        video, overlay = run.input(self.video_id), run.input(self.overlay_id)
        info = run.probe(video)
        graph = f"[1:v]{self._overlay_chain()}[ov];[0:v][ov]{self._placement()},format=yuv420p[v]"
        args = ["-i", str(video), "-i", str(overlay), "-filter_complex", graph, "-map", "[v]", "-map", "0:a:0?"]
        facts = {"video_id": self.video_id, "overlay_id": self.overlay_id}
        return Invocation([*args, *VIDEO_CODEC, *_audio_codec(info), *MP4], "mp4", info.duration, facts)

    def key(self) -> list[str]:
        """Filters that make part of the overlay transparent before it is placed: none for a plain overlay."""
        return []

    def _overlay_chain(self) -> str:
        """The overlay stream, shifted to `start` (a clip plays from its beginning), keyed, sized and faded."""
        steps = [f"setpts=PTS-STARTPTS+{_seconds(self.start)}/TB"] if self.overlay_is_video and self.start else []
        steps += self.key()
        if self.overlay_width:
            steps.append(f"scale={self.overlay_width}:-1")
        if self.opacity < 1:
            steps.append(f"format=rgba,colorchannelmixer=aa={self.opacity:.4f}")
        return ",".join(steps) or "null"

    def _placement(self) -> str:
        """The overlay filter: a still stays to the end, a clip disappears when it ends; shown from start to end."""
        eof = "pass" if self.overlay_is_video else "repeat"
        placed = f"overlay=x='{self.x}':y='{self.y}':eof_action={eof}"
        if self.end is not None:
            return f"{placed}:enable='between(t,{_seconds(self.start)},{_seconds(self.end)})'"
        return f"{placed}:enable='gte(t,{_seconds(self.start)})'" if self.start else placed


class OverlayParams(PlacedOverlay):
    operation: Literal["video_add_overlay"] = "video_add_overlay"


class ColorkeyOverlayParams(PlacedOverlay):
    operation: Literal["video_add_colorkey_overlay"] = "video_add_colorkey_overlay"
    color: str
    similarity: float
    blend: float

    def key(self) -> list[str]:
        return [f"colorkey=color={self.color}:similarity={self.similarity:.4f}:blend={self.blend:.4f}"]


class PlacementForm(ToolForm):
    """What add-overlay and add-colorkey-overlay share: the two inputs and where and when the overlay shows."""

    video_id: str = Field(description="A stored video: the background.")
    overlay_id: str = Field(description="A stored image (with alpha) or video placed over it.")
    position: Position = Field("top-left", description="Where the overlay goes; x and y override it.")
    x: str | None = Field(None, description="ffmpeg expression for the left edge, e.g. W-w-20 (W, H, w, h, t).")
    y: str | None = Field(None, description="ffmpeg expression for the top edge, e.g. H-h-20.")
    margin: int = Field(0, ge=0, le=MAX_SIDE, description="Pixels between a named position and the frame's edge.")
    overlay_width: int | None = Field(None, ge=1, le=MAX_SIDE, description="Scale the overlay to this width.")
    opacity: float = Field(1.0, ge=0.0, le=1.0, description="0 (invisible) to 1 (opaque).")
    start: float = Field(0.0, ge=0.0, allow_inf_nan=False, description="Seconds: when the overlay appears.")
    end: float | None = Field(
        None, gt=0.0, allow_inf_nan=False, description="Seconds: when it disappears; default: the end."
    )

    def placement(self, inputs: Inputs) -> dict[str, object]:
        """The checked inputs and placement, as PlacedOverlay's fields."""
        video = inputs.ready(self.video_id, "video_id", ("video",))
        overlay = inputs.ready(self.overlay_id, "overlay_id", ("image", "video"))
        length = _timed(inputs, video, "video_id", "video").duration
        if self.start >= length:
            raise InvalidInput(f"Field 'start': {self.start:g} s is past the video's end ({length:.3f} s).")
        if self.end is not None and self.end <= self.start:
            raise InvalidInput(f"Field 'end' ({self.end:g} s) must be after 'start' ({self.start:g} s).")
        x, y = (side.format(m=self.margin) for side in POSITIONS[self.position])
        return {
            "video_id": video.id,
            "overlay_id": overlay.id,
            "overlay_is_video": overlay.media_kind == "video",
            "x": _coordinate(self.x, x, "x"),
            "y": _coordinate(self.y, y, "y"),
            "overlay_width": self.overlay_width,
            "opacity": self.opacity,
            "start": self.start,
            "end": self.end,
        }


def _coordinate(given: str | None, named: str, field: str) -> str:
    """The expression given for x or y, checked; else the named position's."""
    expression = _optional_id(given)
    return named if expression is None else safe_expression(expression, field)


class OverlayForm(PlacementForm):
    def params(self, inputs: Inputs) -> OverlayParams:
        return OverlayParams.model_validate(self.placement(inputs))


class ColorkeyOverlayForm(PlacementForm):
    overlay_id: str = Field(description="A stored green- or blue-screen video (or image) placed over the video.")
    color: str = Field("#00ff00", pattern=r"^(#|0x)?[0-9A-Fa-f]{6}$", description="The key colour, #RRGGBB.")
    similarity: float = Field(0.3, ge=0.01, le=1.0, description="How close to the key colour is removed, 0.01-1.")
    blend: float = Field(0.1, ge=0.0, le=1.0, description="How much the edges fade, 0-1.")

    def params(self, inputs: Inputs) -> ColorkeyOverlayParams:
        key = {"color": "0x" + self.color[-6:], "similarity": self.similarity, "blend": self.blend}
        return ColorkeyOverlayParams.model_validate({**self.placement(inputs), **key})


# create-looping-video


class LoopingVideoParams(ToolParams):
    operation: Literal["video_create_looping"] = "video_create_looping"
    source_id: str
    source_is_video: bool
    duration: float | None = None
    audio_id: str | None = None
    effect: str
    width: int
    height: int

    def invocation(self, run: ToolRun) -> Invocation:
        source = run.input(self.source_id)
        loop = ["-stream_loop", "-1"] if self.source_is_video else []
        args = [*loop, "-i", str(source)]
        if self.audio_id is not None:
            audio = run.input(self.audio_id)
            duration = run.probe(audio).duration
            args += ["-i", str(audio)]
        else:
            duration = float(self.duration or 0)
        chain = background_chain(self.source_is_video, self.effect, self.width, self.height, duration)
        sound = "1:a:0" if self.audio_id is not None else "0:a:0?"
        args += ["-filter_complex", f"[0:v]{chain}[v]", "-map", "[v]", "-map", sound, *VIDEO_CODEC, "-r", str(FPS)]
        facts = {"source_id": self.source_id, "effect": self.effect if not self.source_is_video else "none"}
        return Invocation([*args, *AUDIO_CODEC, "-t", _seconds(duration), *MP4], "mp4", duration, facts)


class LoopingVideoForm(ToolForm):
    image_id: str | None = Field(None, description="A stored image to hold; or give video_id.")
    video_id: str | None = Field(None, description="A stored video to repeat; or give image_id.")
    duration: float | None = Field(None, gt=0, le=MAX_DURATION_S, description="Seconds; or give audio_id.")
    audio_id: str | None = Field(None, description="A stored audio file: the video lasts as long and carries it.")
    image_effect: str = Field("none", description="ken_burns, pan or none (images only), as in the captioned video.")
    width: int | None = Field(None, description="Even, 16-4096; default: the source's, at most 1920 on a side.")
    height: int | None = Field(None, description="Even, 16-4096; default: the source's, at most 1920 on a side.")

    def params(self, inputs: Inputs) -> LoopingVideoParams:
        image_id, video_id, audio_id = map(_optional_id, (self.image_id, self.video_id, self.audio_id))
        _exactly_one(("image_id", image_id), ("video_id", video_id))
        _exactly_one(("duration", self.duration), ("audio_id", audio_id))
        effect = self.image_effect.strip().lower()
        if effect not in EFFECTS:
            raise UnprocessableInput(f"Field 'image_effect': use one of {', '.join(EFFECTS)}; got '{effect}'.")
        field = "image_id" if image_id else "video_id"
        source = inputs.ready(str(image_id or video_id), field, ("image",) if image_id else ("video",))
        source_info = inputs.probe(source)
        if not source_info.has_video:
            raise InvalidInput(f"Field '{field}': file '{source.id}' has no picture.")
        width, height = self._size(source_info)
        if audio_id is not None:
            audio = inputs.ready(audio_id, "audio_id", ("audio",))
            _timed(inputs, audio, "audio_id", "audio")
            audio_id = audio.id
        return LoopingVideoParams(
            source_id=source.id,
            source_is_video=video_id is not None,
            duration=self.duration,
            audio_id=audio_id,
            effect=effect,
            width=width,
            height=height,
        )

    def _size(self, source: MediaInfo) -> tuple[int, int]:
        """The asked size, checked; else the source's, scaled down to fit DEFAULT_MAX_SIDE and made even."""
        for field, value in (("width", self.width), ("height", self.height)):
            if value is not None and (not 16 <= value <= MAX_SIDE or value % 2):
                raise InvalidInput(f"Field '{field}' must be an even number from 16 to {MAX_SIDE}; got {value}.")
        scale = min(1.0, DEFAULT_MAX_SIDE / max(source.width, source.height, 1))
        width = self.width or max(16, int(source.width * scale) // 2 * 2)
        height = self.height or max(16, int(source.height * scale) // 2 * 2)
        return width, height


TOOLS = [
    Tool(f"{PREFIX}/add-audio", "video", AddAudioForm, AddAudioParams, "Replace or mix a video's sound", "video-tools"),
    Tool(
        f"{PREFIX}/match-duration",
        "video",
        MatchDurationForm,
        MatchDurationParams,
        "Make a video last a given time (loop, cut or stretch)",
        "video-tools",
    ),
    Tool(
        f"{PREFIX}/add-overlay",
        "video",
        OverlayForm,
        OverlayParams,
        "Place an image or video over a video",
        "video-tools",
    ),
    Tool(
        f"{PREFIX}/add-colorkey-overlay",
        "video",
        ColorkeyOverlayForm,
        ColorkeyOverlayParams,
        "Place a green- or blue-screen clip over a video",
        "video-tools",
    ),
    Tool(
        f"{PREFIX}/create-looping-video",
        "video",
        LoopingVideoForm,
        LoopingVideoParams,
        "A video of a given length from a still or a clip",
        "video-tools",
    ),
]
