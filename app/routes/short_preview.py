"""The preview of a short: one frame of one scene, its captions as the render will burn them, in a video slot of
its own, answered in the request. Nothing is synthesized: the words of the scene's first sentence are timed by
the model's duration predictor alone, in the engine's warm process, exactly as its synthesis would time them."""

import os
import tempfile
from pathlib import Path

from app.errors import InvalidInput
from app.services.tts.chunking import split_sentences
from app.services.video.background_url import fetch_background
from app.services.video.captions import Word, default_fonts_dir
from app.services.video.short_job import ShortParams, ShortScene
from app.services.video.short_render import SceneMedia, ShortLayout, render_frame
from app.services.video.timeline import SceneSpan, shifted
from app.wiring import Services


async def preview_png(services: Services, params: ShortParams, index: int, at_s: float | None) -> tuple[bytes, float]:
    """The PNG of scene `index` at `at_s` seconds after its narration starts (default: mid first word)."""
    heavy = services.heavy
    return await heavy.run(heavy.admit("video"), _preview, services, params, index, at_s)


def _preview(services: Services, params: ShortParams, index: int, at_s: float | None) -> tuple[bytes, float]:
    scene = params.scenes[index]
    with tempfile.TemporaryDirectory(dir=services.files.storage.scratch_root()) as folder:
        work = Path(folder)
        known, length, words = _first_sentence(services, scene)
        background, is_video = _background(services, params, index, work)
        transition = params.transition_s if params.transition != "cut" else 0.0
        lead = transition if index > 0 else 0.0
        tail = transition if index < len(params.scenes) - 1 else 0.0
        end = lead + length + scene.pause_after_s
        span = SceneSpan(lead, lead + length, end, 0.0, end + tail)
        layout = ShortLayout(params.width, params.height, [span], params.transition, transition)
        moment = at_s if at_s is not None else ((words[0].start + words[0].end) / 2 if words else 0.0)
        limit = known if length > known else span.clip_length - lead  # later sentences' words are not known
        if moment > limit:
            raise InvalidInput(f"Field 'at_s': {moment:g} s is past the previewed part of the scene ({limit:.3f} s).")
        captions = ([shifted(words, lead, lead + length)], params.style) if params.style is not None else None
        out = work / "frame.png"
        media = SceneMedia(background, is_video, scene.effect, Path(os.devnull))
        threads = services.heavy.threads()
        render_frame(
            media, layout, captions, lead + moment, out, threads, ffmpeg=services.ffmpeg, fonts_dir=default_fonts_dir()
        )
        return out.read_bytes(), moment


def _first_sentence(services: Services, scene: ShortScene) -> tuple[float, float, list[Word]]:
    """What the preview knows of the scene's narration: how far its words are known, how long the whole
    narration is (estimated for a synthesized one: the first sentence's pace over the whole text), and the words.
    A synthesized scene's first sentence is timed without synthesis; an uploaded narration is not heard for a
    preview (its given captions, else none)."""
    if scene.speech is not None:
        text = scene.speech.text.strip()
        result = services.tts.first_sentence_times(scene.speech, services.heavy.threads())
        words = [Word(str(w["word"]), float(w["start"]), float(w["end"])) for w in result.words]
        pace = len(text) / max(1, len((split_sentences(text) or [text])[0]))
        return result.duration_s, result.duration_s * max(1.0, pace), words
    assert scene.audio_id is not None  # the route gives every scene text or audio
    audio = services.files.input_path(scene.audio_id)
    duration = services.ffmpeg.probe(audio).duration
    return duration, duration, list(scene.captions or [])


def _background(services: Services, params: ShortParams, index: int, work: Path) -> tuple[Path, bool]:
    scene = params.scenes[index]
    if scene.background_id is not None:
        return services.files.input_path(scene.background_id), scene.background_is_video
    assert scene.background_url is not None
    field = f"scenes[{index}].background_url"
    cap, private = params.max_download_bytes, params.allow_private_urls
    return fetch_background(scene.background_url, work / "background", field, cap, private, services.ffmpeg)
