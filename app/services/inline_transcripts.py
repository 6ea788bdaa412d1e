"""Transcriptions answered in the request itself (OpenAI-compatible), on the same heavy-work path as jobs."""

from pathlib import Path

from pydantic import BaseModel

from app.services.heavy import HeavyWork
from app.services.stt.job import Task
from app.services.stt.openai_reply import OpenAiReply, render_reply
from app.services.stt.service import DecodeHints, SttService
from app.services.uploads import DetectedMedia


class InlineTranscription(BaseModel):
    """A checked OpenAI-compatible request: what to hear, how, and the answer's shape."""

    language: str | None = None
    task: Task = "transcribe"
    hints: DecodeHints = DecodeHints()
    reply: OpenAiReply = OpenAiReply()


class InlineTranscripts:
    """One machine: Whisper through an `stt` slot (admission, CPU share, time limit), answered when done."""

    def __init__(self, stt: SttService, heavy: HeavyWork) -> None:
        self.stt = stt
        self.heavy = heavy

    async def answer(self, audio: Path, media: DetectedMedia, request: InlineTranscription) -> str:
        """The answer's body; `Busy` at once when there is no room, `TimedOut` past JOB_TIMEOUT_S for stt."""
        return await self.heavy.run(self.heavy.admit("stt"), self._answer_blocking, audio, request)

    def _answer_blocking(self, audio: Path, request: InlineTranscription) -> str:
        threads = self.heavy.threads()
        transcript = self.stt.transcribe(audio, request.language, request.task, threads, None, request.hints)
        return render_reply(transcript, request.task, request.reply)
