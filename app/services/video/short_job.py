"""The short job: narrate every scene (synthesized in the job's own tts slot, or an uploaded narration heard
in an stt slot), place the scenes on one timeline, duck the music under the speech, render in one pass.

Params come from app/routes/short.py, already validated; input files are looked up again by id here."""

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from app.errors import EngineUnavailable
from app.services.ffmpeg import Ffmpeg, media_facts
from app.services.files import Files
from app.services.runner import JobContext, JobOutput
from app.services.stt.align_job import align_to_audio
from app.services.stt.service import SttService
from app.services.tts.service import SpeechRequest, TtsService
from app.services.video.background_url import fetch_background
from app.services.video.captions import CaptionStyle, Word
from app.services.video.loudness import integrated_loudness
from app.services.video.short_render import Music, SceneMedia, ShortLayout, render_short
from app.services.video.timeline import duck_expression, plan_scenes, shifted, speech_spans

NARRATION_SHARE = 30.0
"""Percent of the job's progress spent narrating the scenes; the render takes the rest up to 99."""
DUCK_MIN_DB = 18.0
"""Under speech the music goes down at least this much from music_volume..."""
VOICE_MARGIN_DB = 15.0
"""...and further if needed, to this far below the quietest narration's loudness."""
DUCK_MAX_DB = 45.0
MEASURE_S = 120.0
"""Loudness is measured on at most this much of a file."""
CaptionsSource = Literal["given", "transcribed", "aligned", "synthesized"]


class ShortScene(BaseModel):
    """One checked scene: narration (`speech` to synthesize, or `audio_id` with given `captions`, a `script`
    to align, or neither: heard by Whisper in `language`) over a background given by id or URL."""

    effect: str
    pause_after_s: float = 0.0
    background_id: str | None = None
    background_is_video: bool = False
    background_url: str | None = None
    speech: SpeechRequest | None = None
    audio_id: str | None = None
    captions: list[Word] | None = None
    script: str | None = None
    language: str | None = None

    @property
    def captions_source(self) -> CaptionsSource:
        if self.speech is not None:
            return "synthesized"
        if self.captions is not None:
            return "given"
        return "aligned" if self.script else "transcribed"


class ShortParams(BaseModel):
    """A short: its scenes, frame, transitions, music and caption style (None: no captions)."""

    operation: Literal["short"] = "short"
    scenes: list[ShortScene]
    width: int
    height: int
    transition: str
    transition_s: float
    caption_preset: str
    style: CaptionStyle | None
    music_id: str | None = None
    music_volume: float = 0.2
    ducking: bool = True
    allow_private_urls: bool = False
    max_download_bytes: int = 0


@dataclass(frozen=True)
class Narration:
    audio: Path
    duration: float
    words: list[Word]


class ShortJobs:
    """Runs `ShortParams` with the services a short needs, in a heavy thread."""

    def __init__(self, tts: TtsService, ffmpeg: Ffmpeg, files: Files, fonts: Path, stt: SttService | None) -> None:
        self.tts = tts
        self.ffmpeg = ffmpeg
        self.files = files
        self.fonts = fonts
        self.stt = stt

    def run(self, params: ShortParams, context: JobContext) -> JobOutput:
        count = len(params.scenes)
        narrations = [
            self.narrate(
                index, scene, context, _span(context, NARRATION_SHARE * index / count, NARRATION_SHARE / count)
            )
            for index, scene in enumerate(params.scenes)
        ]
        media = [self.scene_media(i, params, narrations[i], context) for i in range(count)]
        transition_s = params.transition_s if params.transition != "cut" else 0.0
        spans = plan_scenes([n.duration for n in narrations], [s.pause_after_s for s in params.scenes], transition_s)
        words = [shifted(n.words, span.start, span.narration_end) for n, span in zip(narrations, spans, strict=True)]
        layout = ShortLayout(params.width, params.height, spans, params.transition, transition_s)
        music, music_facts = self.music(params, narrations, [w for scene in words for w in scene])
        out = context.work_dir / "video.mp4"
        render_short(
            media,
            layout,
            (words, params.style) if params.style is not None else None,
            music,
            out,
            threads=context.threads(),
            progress=lambda f: context.progress(NARRATION_SHARE + (99.0 - NARRATION_SHARE) * f),
            ffmpeg=self.ffmpeg,
            fonts_dir=self.fonts,
        )
        facts = media_facts(out, self.ffmpeg)
        facts.update(operation="short", caption_preset=params.caption_preset, transition=params.transition)
        facts.update(transition_s=transition_s, scene_count=count, **music_facts)
        facts["scenes"] = [
            {
                "index": index,
                "start": round(span.start, 3),
                "narration_end": round(span.narration_end, 3),
                "end": round(span.end, 3),
                "captions_source": scene.captions_source,
                "background_id": scene.background_id,
                "background_url": scene.background_url,
            }
            for index, (scene, span) in enumerate(zip(params.scenes, spans, strict=True))
        ]
        facts["words"] = [
            {"word": w.word, "start": w.start, "end": w.end, "scene": index}
            for index, scene_words in enumerate(words)
            for w in scene_words
        ]
        facts["captioned"] = params.style is not None and bool(facts["words"])
        return JobOutput(out, "mp4", facts)

    def narrate(
        self, index: int, scene: ShortScene, context: JobContext, progress: Callable[[float], None]
    ) -> Narration:
        """The scene's narration audio, its length and its words in scene time."""
        if scene.speech is not None:
            audio = context.work_dir / f"narration-{index}.wav"
            with context.extra_slot("tts"):
                result = self.tts.synthesize_to_wav(scene.speech, audio, context.threads, lambda p: progress(p / 90))
            words = [Word(str(w["word"]), float(w["start"]), float(w["end"])) for w in result.words]
            return Narration(audio, result.duration_s, words)
        assert scene.audio_id is not None  # the route gives every scene text or audio
        audio = self.files.input_path(scene.audio_id)
        duration = self.ffmpeg.probe(audio).duration
        if scene.captions is not None:
            return Narration(audio, duration, scene.captions)
        return Narration(audio, duration, self.hear(scene, audio, context, progress))

    def hear(
        self, scene: ShortScene, audio: Path, context: JobContext, progress: Callable[[float], None]
    ) -> list[Word]:
        """An uploaded narration's words: its script aligned to it, or what Whisper hears, in an stt slot."""
        stt = self.stt
        if stt is None:
            raise EngineUnavailable("Transcription is unavailable: no speech recognizer was set up.")
        with context.extra_slot("stt"):
            if scene.script:
                times = align_to_audio(stt, audio, scene.script, scene.language, context, 0.0)
                return [Word(w.word, w.start, w.end) for w in times.alignment.words]
            heard = stt.transcribe(audio, scene.language, "transcribe", context.threads(), lambda p: progress(p / 100))
        return [Word(w.word, w.start, w.end) for w in heard.words]

    def scene_media(self, index: int, params: ShortParams, narration: Narration, context: JobContext) -> SceneMedia:
        scene = params.scenes[index]
        if scene.background_id is not None:
            background, is_video = self.files.input_path(scene.background_id), scene.background_is_video
        else:
            background, is_video = self.fetch_background(index, params, context)
        return SceneMedia(background, is_video, scene.effect, narration.audio)

    def fetch_background(self, index: int, params: ShortParams, context: JobContext) -> tuple[Path, bool]:
        """Download a scene's background_url into the work dir: an image or a video, else a failed job naming it."""
        url = params.scenes[index].background_url
        assert url is not None  # the route gives every scene a background id or URL
        dest = context.work_dir / f"background-{index}"
        field = f"scenes[{index}].background_url"
        return fetch_background(url, dest, field, params.max_download_bytes, params.allow_private_urls, self.ffmpeg)

    def music(
        self, params: ShortParams, narrations: list[Narration], words: list[Word]
    ) -> tuple[Music | None, dict[str, Any]]:
        """The music and its gain: music_volume, ducked under the speech spans when `ducking`."""
        if params.music_id is None:
            return None, {}
        path = self.files.input_path(params.music_id)
        level = params.music_volume
        facts: dict[str, Any] = {"music_id": params.music_id, "music_volume": level, "ducking": params.ducking}
        if not params.ducking or level <= 0:
            return Music(path, f"{level:.6f}"), facts
        duck_db = self.duck_db(path, level, narrations)
        spans = speech_spans(words)
        facts.update(duck_db=round(duck_db, 1), speech_spans=[[round(a, 3), round(b, 3)] for a, b in spans])
        return Music(path, duck_expression(spans, level, level * 10 ** (-duck_db / 20))), facts

    def duck_db(self, music: Path, level: float, narrations: list[Narration]) -> float:
        """How far the music goes down under speech: DUCK_MIN_DB, or more so that it stays VOICE_MARGIN_DB
        below the quietest narration (both measured as integrated loudness)."""
        voices = [v for n in narrations if (v := integrated_loudness(self.ffmpeg, n.audio, MEASURE_S)) is not None]
        music_lufs = integrated_loudness(self.ffmpeg, music, MEASURE_S)
        if not voices or music_lufs is None:
            return DUCK_MIN_DB
        playing = music_lufs + 20 * math.log10(level)
        return min(DUCK_MAX_DB, max(DUCK_MIN_DB, playing - (min(voices) - VOICE_MARGIN_DB)))


def _span(context: JobContext, start: float, share: float) -> Callable[[float], None]:
    """Map 0..100 percent of one step onto [start, start + share] percent of the job."""
    return lambda pct: context.progress(start + share * min(100.0, pct) / 100.0)
