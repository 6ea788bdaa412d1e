"""Speech to text as the API process sees it: the Whisper process (started on first use, unloaded after
STT_IDLE_UNLOAD_S unused), its state, and transcriptions. Knows nothing about HTTP; closed by the composition
root."""

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel
from typing_extensions import TypedDict  # pydantic validates typing_extensions' TypedDict on 3.11

from app.config import Settings
from app.errors import EngineUnavailable
from app.limits import CpuBudget
from app.services.child_process import ChildProcess, unavailable_reason
from app.services.idle_unload import IdleUnload
from app.services.stt.engine_process import Heard, Opened, SttCatalog, SttPayload
from app.services.stt.languages import whisper_language
from app.services.stt.model import english_only, model_problem
from app.services.stt.transcript import HeardWord, Segment, Transcript

log = logging.getLogger("app.stt")

ENGINE_NAME = "speech recognizer"
TARGET = "app.services.stt.engine_process"

Progress = Callable[[float], None]
"""Called with 0-100 as the transcription goes through the audio."""


class DecodeHints(BaseModel):
    """What a client may tell Whisper beyond the language: a prompt (names, spelling, style) and the first
    temperature tried (None: Whisper's own fallback from 0)."""

    prompt: str | None = None
    temperature: float | None = None


class SttInfo(TypedDict):
    """`SttService.describe()`: the model, whether its process is loaded, or why transcription is unavailable."""

    available: bool
    model: str
    loaded: bool
    english_only: bool
    pid: int | None
    reason: str | None


def in_order(words: list[HeardWord], duration: float) -> list[HeardWord]:
    """Word times as captions need them: starts never going back, each end at or after its start, inside the audio."""
    ordered: list[HeardWord] = []
    floor = 0.0
    for word in words:
        start = min(max(word.start, floor), duration)
        end = min(max(word.end, start), duration)
        ordered.append(word.model_copy(update={"start": start, "end": end}))
        floor = start
    return ordered


class SttService:
    """Transcriptions in the speech recognizer's process; unavailable, with the reason, when the model cannot load."""

    def __init__(
        self, model: str, process: ChildProcess | None, reason: str | None = None, idle_unload_s: float = 0
    ) -> None:
        self.model = model
        self.process = process
        self._reason = reason
        self._idle = IdleUnload(process, idle_unload_s) if process is not None and idle_unload_s > 0 else None

    @classmethod
    def from_settings(cls, settings: Settings, budget: CpuBudget) -> "SttService":
        """The service on WHISPER_MODEL; its process is built here but starts on the first transcription."""
        problem = model_problem(settings.whisper_model)
        if problem is not None:
            log.warning("Transcription unavailable: %s", problem)
            return cls(settings.whisper_model, None, problem)
        payload = SttPayload(settings, budget.threads)
        process = ChildProcess(TARGET, payload, budget, settings.max_concurrent_stt, ENGINE_NAME)
        return cls(settings.whisper_model, process, None, settings.stt_idle_unload_s)

    @property
    def reason(self) -> str | None:
        """Why transcription cannot work (known at start, or since the process failed to load); None when it can."""
        if self._reason is not None or self.process is None:
            return self._reason or f"the {ENGINE_NAME} is not set up"
        return unavailable_reason(self.process.catalog)

    @property
    def english_only(self) -> bool:
        """The loaded model's own answer; before it loads, what its name says."""
        catalog: SttCatalog | None = self.process.catalog if self.process is not None else None
        if catalog is not None and catalog.reason is None:
            return not catalog.multilingual
        return english_only(self.model)

    def check_available(self) -> None:
        """`EngineUnavailable` (503) with the reason when transcription cannot work."""
        reason = self.reason
        if reason is not None:
            raise EngineUnavailable(f"Transcription is unavailable: {reason}")

    def language(self, value: str | None, field: str = "language") -> str | None:
        """A request's language as Whisper takes it (None: detect it); 400 naming `field` when unknown."""
        return whisper_language(value, field, self.english_only)

    def describe(self) -> SttInfo:
        reason = self.reason
        pid = self.process.pid if self.process is not None else None
        return {
            "available": reason is None,
            "model": self.model,
            "loaded": pid is not None,
            "english_only": self.english_only,
            "pid": pid,
            "reason": reason,
        }

    def transcribe(
        self,
        audio: Path,
        language: str | None,
        task: str,
        threads: int,
        progress: Progress | None = None,
        hints: DecodeHints | None = None,
    ) -> Transcript:
        """What is said in `audio` (any audio, or a video's sound), with segments and word times; from a heavy thread.

        `language`: None detects it; `task`: transcribe, or translate into English."""
        self.check_available()
        with self._idle.in_use() if self._idle is not None else contextlib.nullcontext():
            return self._transcribe(audio, language, task, threads, progress, hints or DecodeHints())

    def _transcribe(
        self,
        audio: Path,
        language: str | None,
        task: str,
        threads: int,
        progress: Progress | None,
        hints: DecodeHints,
    ) -> Transcript:
        assert self.process is not None  # check_available: a service without a process is unavailable
        opened: Opened = self.process.call(
            "begin", str(audio), language, task, threads, hints.prompt, hints.temperature
        )
        segments: list[Segment] = []
        words: list[HeardWord] = []
        while True:
            heard: Heard = self.process.call("more", opened.session)
            segments += heard.segments
            words += heard.words
            if progress is not None and opened.duration > 0:
                progress(100.0 * min(1.0, heard.position / opened.duration))
            if heard.done:
                break
        text = " ".join(segment.text for segment in segments)
        words = in_order(words, opened.duration)
        return Transcript(text=text, language=opened.language, duration=opened.duration, segments=segments, words=words)

    def close(self) -> None:
        if self._idle is not None:
            self._idle.close()
        if self.process is not None:
            self.process.close()
