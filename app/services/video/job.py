"""The video job: a captioned narration video or a merge of clips, one ffmpeg render each, into the work dir.

Params come from app/routes/video.py, already validated; input files are looked up again by id here,
so a job never trusts a path from its record.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from app.errors import EngineUnavailable
from app.services.ffmpeg import Ffmpeg, media_facts
from app.services.files import Files
from app.services.jobs import Job
from app.services.runner import Handler, JobContext, JobOutput
from app.services.stt.align_job import align_to_audio
from app.services.stt.service import SttService
from app.services.tts.service import SpeechRequest, TtsService
from app.services.video.captions import CaptionStyle, Word, default_fonts_dir
from app.services.video.render import merge_videos, render_captioned_video
from app.services.video.short_job import ShortJobs, ShortParams

NARRATION_SHARE = 30.0
"""Percent of a job's progress spent synthesizing its narration or hearing it; rendering takes the rest up to 99."""
CaptionsSource = Literal["given", "transcribed", "aligned", "synthesized"]


class CaptionedParams(BaseModel):
    """A captioned narration video: narration from `speech` (synthesized) or `audio_id`, captioned from the given
    `captions`, else from the `script` aligned to it, else from what Whisper hears in it (in `language`)."""

    operation: Literal["captioned"] = "captioned"
    background_id: str
    background_is_video: bool
    width: int
    height: int
    effect: str
    style: CaptionStyle
    audio_id: str | None = None
    captions: list[Word] | None = None
    speech: SpeechRequest | None = None
    script: str | None = None
    language: str | None = None

    @property
    def captions_source(self) -> CaptionsSource:
        if self.speech is not None:
            return "synthesized"
        if self.captions:
            return "given"
        return "aligned" if self.script else "transcribed"


class MergeParams(BaseModel):
    """Clips joined in order, with optional music mixed under them."""

    operation: Literal["merge"] = "merge"
    video_ids: list[str]
    music_volume: float
    music_id: str | None = None


VideoParams = Annotated[CaptionedParams | MergeParams | ShortParams, Field(discriminator="operation")]
VIDEO_PARAMS: TypeAdapter[CaptionedParams | MergeParams | ShortParams] = TypeAdapter(VideoParams)


def make_video_handler(
    tts: TtsService, ffmpeg: Ffmpeg, files: Files, fonts_dir: Path | None = None, stt: SttService | None = None
) -> Handler:
    """One handler for kind "video" (captioned, merge, short), by the params' operation; `stt` hears narrations."""
    return VideoJobs(tts, ffmpeg, files, fonts_dir or default_fonts_dir(), stt).run


class VideoJobs:
    """The captioned video, the merge and the short, run in a heavy thread with the services they need."""

    def __init__(self, tts: TtsService, ffmpeg: Ffmpeg, files: Files, fonts: Path, stt: SttService | None) -> None:
        self.tts = tts
        self.ffmpeg = ffmpeg
        self.files = files
        self.fonts = fonts
        self.stt = stt
        self.shorts = ShortJobs(tts, ffmpeg, files, fonts, stt)

    def run(self, job: Job, context: JobContext) -> JobOutput:
        params = VIDEO_PARAMS.validate_python(job.params)
        if isinstance(params, CaptionedParams):
            return self.captioned(params, context)
        if isinstance(params, ShortParams):
            return self.shorts.run(params, context)
        return self.merge(params, context)

    def narrate(
        self, params: CaptionedParams, context: JobContext, facts: dict[str, Any]
    ) -> tuple[Path, list[Word] | None]:
        speech = params.speech
        facts["captions_source"] = params.captions_source
        if speech is None:
            assert params.audio_id is not None
            audio = self.files.input_path(params.audio_id)
            facts.update(audio_id=params.audio_id, narration_duration=round(self.ffmpeg.probe(audio).duration, 3))
            if params.captions:
                return audio, params.captions
            return audio, self.hear(params, audio, context, facts)
        audio = context.work_dir / "narration.wav"
        with context.extra_slot("tts"):
            result = self.tts.synthesize_to_wav(
                speech, audio, context.threads, lambda pct: context.progress(pct * NARRATION_SHARE / 90.0)
            )
        words = [Word(str(w["word"]), float(w["start"]), float(w["end"])) for w in result.words]
        facts.update(voice=speech.voice, lang_code=speech.lang_code, speed=speech.speed, words=result.words)
        facts["narration_duration"] = round(result.duration_s, 3)
        return audio, words

    def hear(self, params: CaptionedParams, audio: Path, context: JobContext, facts: dict[str, Any]) -> list[Word]:
        """Captions for an uploaded narration: its script aligned to it, or what Whisper hears, in an stt slot."""
        stt = self.stt
        if stt is None:
            raise EngineUnavailable("Transcription is unavailable: no speech recognizer was set up.")
        with context.extra_slot("stt"):
            if params.script:
                times = align_to_audio(stt, audio, params.script, params.language, context, NARRATION_SHARE)
                facts.update(language=times.heard.language, matched=times.alignment.matched, words=times.words())
                return [Word(w.word, w.start, w.end) for w in times.alignment.words]
            share = NARRATION_SHARE / 100.0
            heard = stt.transcribe(
                audio, params.language, "transcribe", context.threads(), lambda pct: context.progress(pct * share)
            )
        facts.update(language=heard.language, words=[w.model_dump(exclude={"probability"}) for w in heard.words])
        return [Word(w.word, w.start, w.end) for w in heard.words]

    def captioned(self, params: CaptionedParams, context: JobContext) -> JobOutput:
        background = self.files.input_path(params.background_id)
        facts: dict[str, Any] = {"operation": "captioned", "background_id": params.background_id}
        facts["effect"] = params.effect
        audio, words = self.narrate(params, context, facts)
        out = context.work_dir / "video.mp4"
        render_captioned_video(
            background,
            params.background_is_video,
            audio,
            words,
            out,
            params.width,
            params.height,
            params.effect,
            params.style,
            threads=context.threads(),
            progress=_span(context, 0.0 if params.captions_source == "given" else NARRATION_SHARE, 99.0),
            ffmpeg=self.ffmpeg,
            fonts_dir=self.fonts,
        )
        facts["captioned"] = bool(words)
        return JobOutput(out, "mp4", {**media_facts(out, self.ffmpeg), **facts})

    def merge(self, params: MergeParams, context: JobContext) -> JobOutput:
        inputs = [self.files.input_path(file_id) for file_id in params.video_ids]
        music = self.files.input_path(params.music_id) if params.music_id else None
        out = context.work_dir / "video.mp4"
        mode = merge_videos(
            inputs,
            out,
            music,
            params.music_volume,
            threads=context.threads(),
            progress=_span(context, 0.0, 99.0),
            ffmpeg=self.ffmpeg,
        )
        facts: dict[str, Any] = {"operation": "merge", "video_ids": params.video_ids, "mode": mode}
        if params.music_id:
            facts.update(background_music_id=params.music_id, background_music_volume=params.music_volume)
        return JobOutput(out, "mp4", {**media_facts(out, self.ffmpeg), **facts})


def _span(context: JobContext, start: float, stop: float) -> Callable[[float], None]:
    """Map ffmpeg's 0..1 progress onto [start, stop] percent of the job."""
    return lambda fraction: context.progress(start + (stop - start) * fraction)
