"""add-captions (kind `video`): captions burned into a stored video, from SRT, WebVTT or JSON words, or from
what Whisper hears in the video's own speech; the picture is re-encoded, the sound copied untouched."""

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from app.errors import EngineUnavailable, InvalidInput, UnprocessableInput
from app.services.ffmpeg import MediaInfo, media_facts
from app.services.runner import JobOutput
from app.services.video.caption_fields import CaptionConfigFields
from app.services.video.captions import CaptionStyle, Word, parse_captions
from app.services.video.render import captions_filter
from app.tools.table import Inputs, Invocation, Tool, ToolForm, ToolParams, ToolRun

PREFIX = "/api/v1/media/video-tools"
VIDEO_CODEC = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
MP4_AUDIO = frozenset({"aac", "mp3", "opus", "flac", "alac", "ac3", "eac3"})
"""Audio codecs an mp4 holds as they are: copied untouched; any other is encoded to AAC."""
HEARING_SHARE = 40.0
"""Percent of the job's progress spent hearing the speech when no captions were given."""
EVEN_SIZE = "crop=trunc(iw/2)*2:trunc(ih/2)*2"
"""H.264 in 4:2:0 needs even sides: an odd one loses its last pixel row or column."""


class AddCaptionsParams(ToolParams):
    operation: Literal["video_add_captions"] = "video_add_captions"
    video_id: str
    style: CaptionStyle
    captions: list[Word] | None = None
    language: str | None = None

    def execute(self, run: ToolRun) -> JobOutput:
        source = run.input(self.video_id)
        media = run.probe(source)
        facts: dict[str, Any] = {"source_id": self.video_id}
        words = self.captions or self._heard(run, source, facts)
        width, height = upright_size(media)
        burn = captions_filter(words, self.style, width, height, run.work_dir)
        copied = media.audio_codec in MP4_AUDIO
        audio = ["-c:a", "copy"] if copied else ["-c:a", "aac", "-b:a", "192k"]
        args = ["-i", str(source), "-map", "0:v:0", "-map", "0:a:0", "-vf", f"{EVEN_SIZE},{burn},format=yuv420p"]
        invocation = Invocation([*args, *VIDEO_CODEC, *audio, "-movflags", "+faststart"], "mp4", media.duration)
        out = run.work_dir / "output.mp4"
        run.ffmpeg_run(invocation, out, 0.0 if self.captions else HEARING_SHARE, 99.0)
        facts.update(captions_source="given" if self.captions else "transcribed", audio="copied" if copied else "aac")
        return JobOutput(out, "mp4", {**media_facts(out, run.ffmpeg), **facts})

    def _heard(self, run: ToolRun, source: Path, facts: dict[str, Any]) -> list[Word]:
        """The video's speech as timed words, heard in an extra stt slot; 422 when no speech is heard."""
        if run.stt is None:
            raise EngineUnavailable("Transcription is unavailable: no speech recognizer was set up.")
        share = HEARING_SHARE / 100.0
        with run.context.extra_slot("stt"):
            heard = run.stt.transcribe(
                source, self.language, "transcribe", run.threads(), lambda pct: run.context.progress(pct * share)
            )
        if not heard.words:
            raise UnprocessableInput(
                f"No speech was heard in video '{self.video_id}', so there is nothing to caption; send 'captions'."
            )
        facts.update(language=heard.language, words=[w.model_dump(exclude={"probability"}) for w in heard.words])
        return [Word(w.word, w.start, w.end) for w in heard.words]


def upright_size(media: MediaInfo) -> tuple[int, int]:
    """The even frame size the filters see: ffmpeg turns a rotated video upright as it decodes it."""
    width, height = (media.height, media.width) if media.rotation in (90, 270) else (media.width, media.height)
    return width - width % 2, height - height % 2


class AddCaptionsForm(ToolForm, CaptionConfigFields):
    video_id: str = Field(description="A stored video with an audio stream.")
    captions: str | None = Field(
        None, description="SRT, WebVTT or JSON words [{word, start, end}]; default: heard in the video's speech."
    )
    language: str | None = Field(
        None, description="Without captions: ISO 639-1 code of the speech (en, pt...); detected when absent."
    )

    def params(self, inputs: Inputs) -> AddCaptionsParams:
        stored = inputs.ready(self.video_id, "video_id", ("video",))
        media = inputs.probe(stored)
        if not media.has_audio:
            raise InvalidInput(
                f"Field 'video_id': video '{stored.id}' has no audio stream; captions follow its speech."
            )
        if not media.has_video or media.width <= 0:
            raise InvalidInput(f"Field 'video_id': file '{stored.id}' has no picture to burn captions into.")
        params = AddCaptionsParams(video_id=stored.id, style=self.style())
        if self.captions and self.captions.strip():
            params.captions = [Word(w.word, w.start, w.end) for w in parse_captions(self.captions)]
            return params
        if inputs.stt is None:
            raise EngineUnavailable("Transcription is unavailable: no speech recognizer was set up.")
        inputs.stt.check_available()
        params.language = inputs.stt.language(self.language)
        return params


TOOLS = [
    Tool(
        f"{PREFIX}/add-captions",
        "video",
        AddCaptionsForm,
        AddCaptionsParams,
        "Burn captions into a video (given, or heard in its speech)",
        "video-tools",
    ),
]
