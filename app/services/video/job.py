"""The video job: a captioned narration video or a merge of clips, one ffmpeg render each, into the work dir.

Params come from app/routes/video.py, already validated; input files are looked up again by id here,
so a job never trusts a path from its record.
"""

from collections.abc import Callable
from pathlib import Path

from app.errors import InvalidInput
from app.services.ffmpeg import probe
from app.services.jobs import READY, Job, JobStore
from app.services.runner import Handler, JobContext, JobOutput
from app.services.storage import FileStorage
from app.services.tts.service import SpeechRequest, TtsService
from app.services.video.captions import CaptionStyle, Word, default_fonts_dir
from app.services.video.render import merge_videos, render_captioned_video

NARRATION_SHARE = 30.0
"""Percent of a text-narrated job's progress spent synthesizing; rendering takes the rest up to 99."""


def make_video_handler(
    tts: TtsService,
    ffmpeg: str,
    store: JobStore,
    storage: FileStorage,
    fonts_dir: Path | None = None,
) -> Handler:
    """One handler for kind "video", dispatching on params["operation"]: "captioned" or "merge"."""
    fonts = fonts_dir or default_fonts_dir()

    def input_path(file_id: str) -> Path:
        record = store.get(file_id)
        if record is None or record.status != READY or not record.filename:
            raise InvalidInput(f"Input file '{file_id}' is no longer available.")
        return storage.path(record.filename)

    def captioned(job: Job, context: JobContext) -> JobOutput:
        params = job.params
        background = input_path(params["background_id"])
        info: dict = {"operation": "captioned", "background_id": params["background_id"], "effect": params["effect"]}
        render_from = 0.0
        if params.get("speech"):
            speech = SpeechRequest(**params["speech"])
            audio = context.work_dir / "narration.wav"
            with context.extra_slot("tts"):
                result = tts.synthesize_to_wav(
                    speech, audio, context.threads, lambda pct: context.progress(pct * NARRATION_SHARE / 90.0)
                )
            words: list[Word] | None = [Word(w["word"], w["start"], w["end"]) for w in result.words]
            narration = result.duration_s
            info.update(voice=speech.voice, lang_code=speech.lang_code, speed=speech.speed, words=result.words)
            render_from = NARRATION_SHARE
        else:
            audio = input_path(params["audio_id"])
            words = [Word(w["word"], w["start"], w["end"]) for w in params.get("captions") or []] or None
            narration = probe(audio, ffmpeg).duration
            info["audio_id"] = params["audio_id"]
        out = context.work_dir / "video.mp4"
        render_captioned_video(
            background,
            params["background_is_video"],
            audio,
            words,
            out,
            params["width"],
            params["height"],
            params["effect"],
            CaptionStyle(**params["style"]),
            threads=context.threads(),
            progress=_span(context, render_from, 99.0),
            binary=ffmpeg,
            fonts_dir=fonts,
        )
        info.update(narration_duration=round(narration, 3), captioned=bool(words))
        return JobOutput(out, "mp4", {**_facts(out, ffmpeg), **info})

    def merge(job: Job, context: JobContext) -> JobOutput:
        params = job.params
        inputs = [input_path(file_id) for file_id in params["video_ids"]]
        music_id = params.get("music_id")
        music = input_path(music_id) if music_id else None
        out = context.work_dir / "video.mp4"
        mode = merge_videos(
            inputs,
            out,
            music,
            params["music_volume"],
            threads=context.threads(),
            progress=_span(context, 0.0, 99.0),
            binary=ffmpeg,
        )
        info = {"operation": "merge", "video_ids": params["video_ids"], "mode": mode}
        if music_id:
            info.update(background_music_id=music_id, background_music_volume=params["music_volume"])
        return JobOutput(out, "mp4", {**_facts(out, ffmpeg), **info})

    operations: dict[str, Callable[[Job, JobContext], JobOutput]] = {"captioned": captioned, "merge": merge}

    def run(job: Job, context: JobContext) -> JobOutput:
        operation = operations.get(job.params.get("operation", ""))
        if operation is None:
            raise InvalidInput(f"Unknown video operation {job.params.get('operation')!r}.")
        return operation(job, context)

    return run


def _span(context: JobContext, start: float, stop: float) -> Callable[[float], None]:
    """Map ffmpeg's 0..1 progress onto [start, stop] percent of the job."""
    return lambda fraction: context.progress(start + (stop - start) * fraction)


def _facts(path: Path, ffmpeg: str) -> dict:
    media = probe(path, ffmpeg)
    return {
        "media_type": "video",
        "duration": round(media.duration, 3),
        "width": media.width,
        "height": media.height,
        "size": path.stat().st_size,
        "fps": media.fps,
        "video_codec": media.video_codec,
        "audio_codec": media.audio_codec,
    }
