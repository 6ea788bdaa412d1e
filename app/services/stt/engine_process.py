"""Whisper (faster-whisper, CTranslate2 int8 on the CPU) in a child process, at the heavy work's nice and cores.

faster-whisper's Python (decoding, the VAD, the segment loop) holds the GIL and the model takes a few hundred
MB: both stay out of the API process. `load` runs in the child when the first transcription starts it and
loads the model once. A CTranslate2 model's threads are fixed when it is built, so the child keeps one
instance per thread count in use (two at most), as the ONNX engine keeps one session per thread count.

A transcription is a session: `begin` decodes the audio, runs the VAD and detects the language; each `more`
returns what was heard in about a second, so the job can report progress between calls.
"""

import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.config import Settings
from app.errors import EngineUnavailable
from app.services.child_main import describe_failure
from app.services.stt.model import downloads_allowed, prepare_model
from app.services.stt.transcript import Decoding, HeardWord, Segment

if TYPE_CHECKING:
    from faster_whisper import WhisperModel
    from faster_whisper.transcribe import Segment as WhisperSegment

log = logging.getLogger("app.stt")

DECODE_OPTIONS: dict[str, Any] = {"vad_filter": True, "word_timestamps": True}
"""faster-whisper's options for every transcription (the rest are its defaults: beam 5, temperature fallback)."""
MORE_BUDGET_S = 1.0
"""How long one `more` call gathers segments before it answers."""
INSTANCES = 2
"""Model instances kept for different thread counts (the full share and one other), bounding the memory."""
TEMPERATURE_STEP = 0.2
"""faster-whisper's fallback: decoding again this much hotter while the text looks wrong, up to 1.0."""


@dataclass
class SttPayload:
    """What the parent sends: the settings, and the threads of one job when it runs alone."""

    settings: Settings
    threads: int


@dataclass
class SttCatalog:
    """What the child sends once loaded: the model it loaded, or why it could not."""

    reason: str | None = None
    model: str = ""
    multilingual: bool = True


@dataclass
class Opened:
    """A transcription under way: its session, the language spoken (given or detected) and the audio's length."""

    session: int
    language: str
    duration: float


@dataclass
class Heard:
    """One `more`: the segments and words heard since the last, how far into the audio, and whether it is done."""

    segments: list[Segment] = field(default_factory=list)
    words: list[HeardWord] = field(default_factory=list)
    position: float = 0.0
    done: bool = False


def _rounded(seconds: float) -> float:
    return round(float(seconds), 3)


def _add(heard: Heard, segment: "WhisperSegment") -> None:
    heard.position = float(segment.end)
    text = segment.text.strip()
    if text:
        heard.segments.append(
            Segment(start=_rounded(segment.start), end=_rounded(segment.end), text=text, decoding=_decoding(segment))
        )
    for word in segment.words or []:
        if word.word.strip():
            heard.words.append(
                HeardWord(
                    word=word.word.strip(),
                    start=_rounded(word.start),
                    end=_rounded(word.end),
                    probability=round(float(word.probability), 4),
                )
            )


def _decoding(segment: "WhisperSegment") -> Decoding:
    return Decoding(
        seek=int(segment.seek),
        tokens=[int(token) for token in segment.tokens],
        temperature=float(segment.temperature or 0.0),
        avg_logprob=float(segment.avg_logprob),
        compression_ratio=float(segment.compression_ratio),
        no_speech_prob=float(segment.no_speech_prob),
    )


def temperatures(first: float | None) -> dict[str, Any]:
    """faster-whisper's `temperature` option: its own fallback from 0 when None, else the fallback from `first`."""
    if first is None:
        return {}
    steps = int((1.0 - first) / TEMPERATURE_STEP + 1e-9)  # 0.0 -> 0.0, 0.2, ... 1.0; 0.3 -> 0.3 ... 0.9
    return {"temperature": [round(first + TEMPERATURE_STEP * step, 3) for step in range(steps + 1)]}


class Recognizer:
    """The loaded model (one instance per thread count) and the transcriptions under way."""

    def __init__(self, source: str, workers: int, threads: int) -> None:
        self.source = source
        self.workers = workers
        self._models: OrderedDict[int, WhisperModel] = OrderedDict()
        self._lock = threading.Lock()
        self._sessions: dict[int, Iterator[WhisperSegment]] = {}
        self._ids = itertools.count()
        self.multilingual = bool(self.model(threads).model.is_multilingual)

    def model(self, threads: int) -> "WhisperModel":
        """The instance for `threads` CPU threads, built on first need (same weights file, page-cached).

        At most `INSTANCES` are kept, the least recently used dropped (a call still using it keeps it alive)."""
        from faster_whisper import WhisperModel

        with self._lock:
            if threads in self._models:
                self._models.move_to_end(threads)
            else:
                while len(self._models) >= INSTANCES:
                    self._models.popitem(last=False)
                self._models[threads] = WhisperModel(
                    self.source,
                    device="cpu",
                    compute_type="int8",
                    cpu_threads=threads,
                    num_workers=self.workers,
                    local_files_only=not downloads_allowed(),
                )
            return self._models[threads]

    def begin(
        self,
        audio: str,
        language: str | None,
        task: str,
        threads: int,
        prompt: str | None = None,
        temperature: float | None = None,
    ) -> Opened:
        """Start a transcription; `prompt` is Whisper's initial prompt, `temperature` the first one tried."""
        options = {**DECODE_OPTIONS, "initial_prompt": prompt, **temperatures(temperature)}
        segments, info = self.model(threads).transcribe(audio, language=language, task=task, **options)
        session = next(self._ids)
        self._sessions[session] = iter(segments)
        return Opened(session, info.language, _rounded(info.duration))

    def more(self, session: int) -> Heard:
        """What was heard in about `MORE_BUDGET_S`; the session ends when the audio does (or fails)."""
        segments = self._sessions[session]
        heard = Heard()
        deadline = time.monotonic() + MORE_BUDGET_S
        try:
            while time.monotonic() < deadline:
                segment = next(segments, None)
                if segment is None:
                    heard.done = True
                    break
                _add(heard, segment)
        except BaseException:
            self._sessions.pop(session, None)
            raise
        if heard.done:
            self._sessions.pop(session, None)
        return heard


def _failure(settings: Settings, exc: Exception) -> str:
    """Why the model did not load, in words a server admin can act on."""
    from huggingface_hub.errors import LocalEntryNotFoundError

    name = settings.whisper_model
    if not isinstance(exc, LocalEntryNotFoundError):
        return f"WHISPER_MODEL={name} could not be loaded: {describe_failure(exc)}"
    if downloads_allowed():
        why = "the Hugging Face hub could not be reached"
        fix = "start the server once while it is online"
    else:
        why = "downloads are off (HF_HUB_OFFLINE=1)"
        fix = "start the server once online without HF_HUB_OFFLINE=1"
    return (
        f"WHISPER_MODEL={name} is not downloaded and {why}: {fix} so it fetches the model, "
        "or use base or tiny.en, which ship with the install."
    )


def load(payload: SttPayload) -> tuple[SttCatalog, dict[str, Callable[..., Any]]]:
    """In the child: the model prepared (base joined or repaired) and loaded once; the catalog and operations."""
    from app.logging_setup import configure_logging

    settings = payload.settings
    configure_logging(settings.log_format, settings.log_level)
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # three INFO lines a job, none of them news
    try:
        source = prepare_model(settings.whisper_model, settings.model_cache_dir)
        recognizer = Recognizer(source, settings.max_concurrent_stt, payload.threads)
    except Exception as exc:
        reason = exc.message if isinstance(exc, EngineUnavailable) else _failure(settings, exc)
        log.warning("Transcription unavailable: %s", reason)
        return SttCatalog(reason=reason), {}
    log.info("Whisper model %s loaded (%d threads)", source, payload.threads)
    catalog = SttCatalog(model=source, multilingual=recognizer.multilingual)
    return catalog, {"begin": recognizer.begin, "more": recognizer.more}
