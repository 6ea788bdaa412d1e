"""Text to speech through either engine: validation, G2P, chunking, synthesis, word timestamps."""

import asyncio
import logging
import re
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
from typing_extensions import TypedDict  # pydantic validates typing_extensions' TypedDict on 3.11

from app.config import Settings
from app.errors import DomainError, EngineUnavailable, InvalidInput, PayloadTooLarge, UnprocessableInput
from app.services.ffmpeg import ENCODER_ARGS as ENCODER_ARGS
from app.services.tts.chunking import (
    FIRST_CHUNK_PHONEMES,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    Chunk,
    WordTime,
    first_words,
    pack_chunks,
    side_by_side_chunks,
    split_sentences,
)
from app.services.tts.engine import LoadedEngine, style_for, token_ids
from app.services.tts.g2p import LANGUAGES, G2p, normalize_lang_code
from app.services.tts.parallel import Work, in_order
from app.services.tts.voices import KNOWN_VOICES

log = logging.getLogger("app.tts")

EMPTY_TEXT = "Field 'text' must not be empty."
NOTHING_TO_SPEAK = "The text has nothing that can be spoken."
AUDIO_FORMATS = ("wav", "mp3", "opus", "flac", "aac", "pcm")
MIN_SPEED, MAX_SPEED = 0.5, 2.0
CJK_LANGUAGES = ("j", "z")
DEFAULT_VOICE_RETRY_S = 600.0
"""After the default voice could not be fetched, requests naming no voice use an installed one this long before
the hub is asked again: an offline machine without HF_HUB_OFFLINE=1 pays one failed fetch, not one a request."""
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")


@dataclass(frozen=True)
class SpeechRequest:
    """A validated TTS request."""

    text: str
    voice: str
    speed: float
    lang_code: str
    format: str = "wav"


@dataclass
class SpeechResult:
    duration_s: float
    words: list[WordTime]


class EngineInfo(TypedDict):
    """`TtsService.describe()`: which engine, weights and voices; or why text to speech is unavailable."""

    available: bool
    engine: str | None
    weights: str | None
    voices: list[str]
    default_voice: str | None
    reason: str | None


class TtsHealth(EngineInfo):
    """`/health`'s TTS part: `EngineInfo` and the languages whose G2P is loaded (each is loaded on its first use)."""

    languages_loaded: list[str]


class TtsService:
    """Loaded once; shared by every job. Knows nothing about HTTP."""

    def __init__(
        self,
        loaded: LoadedEngine | None,
        g2p: G2p | None,
        unavailable_reason: str | None,
        default_lang_code: str,
        max_text_chars: int,
        preferred_voice: str | None,
    ) -> None:
        self.loaded = loaded
        self.preferred_voice = preferred_voice or ""
        self.g2p = g2p
        self.unavailable_reason = unavailable_reason
        self.default_lang_code = default_lang_code
        self.max_text_chars = max_text_chars
        self._default_fetch_after = 0.0  # monotonic time before which the default voice is not fetched again

    @classmethod
    def serving(cls, settings: Settings, loaded: LoadedEngine, g2p: G2p) -> "TtsService":
        """The service on a loaded engine and its G2P, with the settings' defaults and text limit."""
        return cls(loaded, g2p, None, settings.default_lang_code, settings.max_text_chars, settings.default_voice)

    @classmethod
    def unavailable(cls, settings: Settings, reason: str) -> "TtsService":
        """A service that answers every synthesis with `EngineUnavailable` and `reason`."""
        return cls(None, None, reason, settings.default_lang_code, settings.max_text_chars, None)

    @property
    def available(self) -> bool:
        return self.loaded is not None and self.g2p is not None

    def require(self) -> LoadedEngine:
        return self.ready()[0]

    def ready(self) -> tuple[LoadedEngine, G2p]:
        """The engine and the G2P; `EngineUnavailable` (with the reason) when either is missing."""
        if self.loaded is None or self.g2p is None:
            raise EngineUnavailable(f"Text to speech is unavailable: {self.unavailable_reason}")
        return self.loaded, self.g2p

    def describe(self) -> EngineInfo:
        """Which engine, which weights, which voices; or why text to speech is unavailable."""
        loaded = self.loaded
        if loaded is None or self.g2p is None:
            return {
                "available": False,
                "engine": None,
                "weights": None,
                "voices": [],
                "default_voice": None,
                "reason": self.unavailable_reason,
            }
        return {
            "available": True,
            "engine": loaded.engine.name,
            "weights": loaded.weights,
            "voices": loaded.voices.names(),
            "default_voice": self.default_voice(),
            "reason": None,
        }

    def health(self) -> TtsHealth:
        """`describe()` and the languages whose G2P is loaded."""
        loaded = [item["code"] for item in self.g2p.languages() if item.get("loaded")] if self.g2p else []
        return {**self.describe(), "languages_loaded": loaded}

    def default_voice(self) -> str | None:
        return self.loaded.voices.default(self.preferred_voice) if self.loaded else None

    async def prepare(
        self, text: str, voice: str | None, speed: float, lang_code: str | None, fmt: str = "wav"
    ) -> SpeechRequest:
        """`validate`, after fetching the Kokoro v1.0 voices the request needs that are not installed yet.

        The fetch runs here, before admission, in a worker thread (the event loop never waits on the hub), and in
        the engine process, which owns MODEL_CACHE_DIR and loads the fetched voices again when it restarts. Before
        admission keeps admission honest: a slot and the durations behind `Retry-After` measure synthesis only,
        never a download, and a voice that cannot be fetched is answered at once (422 or 503) with no job left
        behind. A request refused at the door (429) fetches nothing. Cheap checks run first, so a request that
        is wrong anyway never reaches the hub."""
        self.require()
        self._check_fields(text, speed, fmt)
        names, asked = self._voices_to_fetch(voice)
        if names:
            await asyncio.to_thread(self.fetch_voices, names, asked)
        return self.validate(text, voice, speed, lang_code, fmt)

    def _voices_to_fetch(self, voice: str | None) -> tuple[list[str], bool]:
        """The voices to fetch and whether the request named them; the default voice (DEFAULT_VOICE, when the
        request names none) is fetched too when it can be, else an installed voice stands in for it."""
        voices = self.require().voices
        spec = (voice or "").strip()
        if spec:
            return voices.missing(spec), True
        preferred = self.preferred_voice
        if (
            preferred in voices.voices
            or preferred not in KNOWN_VOICES
            or voices.fetch_unavailable_reason is not None
            or time.monotonic() < self._default_fetch_after
        ):
            return [], False
        return [preferred], False

    def fetch_voices(self, names: list[str], asked: bool) -> None:
        """Install the voices (blocking); a voice the request named raises when it cannot be fetched, while the
        default voice falls back to an installed one and is not asked for again for DEFAULT_VOICE_RETRY_S."""
        voices = self.require().voices
        for name in names:
            try:
                voices.install(name)
            except DomainError as exc:
                if asked:
                    raise
                self._default_fetch_after = time.monotonic() + DEFAULT_VOICE_RETRY_S
                log.warning("default voice %s not fetched, using %s: %s", name, self.default_voice(), exc.message)

    def _check_fields(self, text: str, speed: float, fmt: str) -> None:
        """The checks that need no voice: text, speed and format."""
        if text is None or not text.strip():
            raise InvalidInput(EMPTY_TEXT)
        if len(text) > self.max_text_chars:
            raise PayloadTooLarge(
                f"Field 'text' has {len(text)} characters; the limit is {self.max_text_chars} (MAX_TEXT_CHARS)."
            )
        if not np.isfinite(speed) or not MIN_SPEED <= speed <= MAX_SPEED:
            raise UnprocessableInput(f"Field 'speed' must be between {MIN_SPEED} and {MAX_SPEED}; got {speed}.")
        if fmt not in AUDIO_FORMATS:
            raise UnprocessableInput(f"Unknown format '{fmt}'. Use one of: {', '.join(AUDIO_FORMATS)}.")

    def validate(
        self, text: str, voice: str | None, speed: float, lang_code: str | None, fmt: str = "wav"
    ) -> SpeechRequest:
        """Check everything a request can get wrong before it is admitted; raises 4xx errors. A voice that is
        not installed is refused here: `prepare` fetches it first."""
        loaded = self.require()
        self._check_fields(text, speed, fmt)
        voice = (voice or "").strip() or self.default_voice()
        if voice is None:  # no voice given and none installed
            raise EngineUnavailable("Text to speech is unavailable: the engine has no voice installed.")
        missing = loaded.voices.missing(voice)
        if missing:
            raise loaded.voices.not_installed_error(missing[0])
        return SpeechRequest(text, voice, float(speed), self._language(text, voice, lang_code), fmt)

    def _language(self, text: str, voice: str, lang_code: str | None) -> str:
        """lang_code when given; else the voice's language, except that a Japanese or Chinese voice
        on text with no CJK characters reads it as DEFAULT_LANG_CODE (the packaged voices are Japanese)."""
        loaded, g2p = self.ready()
        if lang_code and lang_code.strip():
            code = normalize_lang_code(lang_code)
            if code not in LANGUAGES:
                raise UnprocessableInput(f"Unknown lang_code '{lang_code}'. Use one of: {', '.join(LANGUAGES)}.")
            if not g2p.available(code):
                raise UnprocessableInput(g2p.unavailable.get(code, f"Language '{code}' is unavailable."))
            return code
        voice_code = loaded.voices.language_of(voice)
        if (
            voice_code is None
            or not g2p.available(voice_code)
            or (voice_code in CJK_LANGUAGES and not _CJK.search(text))
        ):
            code = self.default_lang_code
        else:
            code = voice_code
        if not g2p.available(code):
            reason = g2p.unavailable.get(code, f"language '{code}' is not installed")
            raise UnprocessableInput(f"Give a lang_code whose G2P is available: {reason}")
        return code

    def chunks(self, request: SpeechRequest, width: int = 1) -> list[Chunk]:
        """The text's chunks, cut for `width` synthesized side by side (`side_by_side_chunks`)."""
        _, g2p = self.ready()
        sentences = [g2p.phonemize(s, request.lang_code) for s in split_sentences(request.text)]
        chunks = side_by_side_chunks(sentences, width)
        if not chunks:
            raise InvalidInput(NOTHING_TO_SPEAK)
        return chunks

    def _quick_start(self, request: SpeechRequest) -> Iterator[Work[Chunk]]:
        """A streamed answer's chunks, one at a time on the whole share: the first words alone, then chunks that
        grow (`pack_chunks`), phonemized only once the first words are being synthesized."""
        _, g2p = self.ready()
        sentences = split_sentences(request.text)
        head, rest = first_words(g2p.phonemize(sentences[0], request.lang_code) if sentences else [])
        if head:
            yield Work(Chunk(head), alone=True)
        phonemized = [rest, *(g2p.phonemize(s, request.lang_code) for s in sentences[1:])]
        chunks = pack_chunks(phonemized, growing_from=2 * FIRST_CHUNK_PHONEMES)
        if not head and not chunks:
            raise InvalidInput(NOTHING_TO_SPEAK)
        yield from _works(chunks, serial=True)

    def stream(
        self, request: SpeechRequest, threads: Callable[[], int], quick_start: bool = False
    ) -> Generator[tuple[np.ndarray, list[WordTime], int, int], None, None]:
        """Audio chunk by chunk, in order: (samples, words, index, count). With a share of T > 1 threads, T chunks
        are synthesized at once (`parallel.in_order`). `quick_start` (a streamed answer): the first words are
        synthesized first, while the rest is phonemized, and each chunk is ready before the one before it has
        played (`_quick_start`); count is 0 then (not known yet)."""
        loaded = self.require()
        pack = loaded.voices.resolve(request.voice)
        works: Iterable[Work[Chunk]]
        if quick_start:
            works, count = self._quick_start(request), 0
        else:
            width = max(1, threads()) if loaded.engine.side_by_side else 1  # one for an engine that cannot
            chunks = self.chunks(request, width)
            works, count = _works(chunks, serial=not loaded.engine.side_by_side), len(chunks)

        def synthesize(chunk: Chunk, n: int) -> tuple[np.ndarray, list[int]]:
            style = style_for(pack, len(token_ids(chunk.phonemes, loaded.engine.vocab)))
            return loaded.engine.synthesize(chunk.phonemes, style, request.speed, n)

        offset = 0
        for index, (chunk, (audio, durations)) in enumerate(in_order(works, synthesize, threads)):
            audio = np.clip(audio, -1.0, 1.0)
            words = chunk.word_times(durations, offset / SAMPLE_RATE)
            offset += len(audio)
            yield audio, words, index, count

    def first_sentence_times(self, request: SpeechRequest, threads: int) -> SpeechResult:
        """The words of the text's first sentence (its first chunk when it is longer than one) and its length, as
        synthesizing it would give them, from the model's durations alone: no audio is made."""
        loaded, g2p = self.ready()
        sentences = split_sentences(request.text)
        chunks = pack_chunks([g2p.phonemize(sentences[0], request.lang_code)] if sentences else [])
        if not chunks:
            raise InvalidInput(NOTHING_TO_SPEAK)
        chunk = chunks[0]
        style = style_for(loaded.voices.resolve(request.voice), len(token_ids(chunk.phonemes, loaded.engine.vocab)))
        durations = loaded.engine.durations(chunk.phonemes, style, request.speed, threads)
        return SpeechResult(sum(durations) * FRAME_SAMPLES / SAMPLE_RATE, chunk.word_times(durations, 0.0))

    def synthesize_to_wav(
        self,
        request: SpeechRequest,
        out: Path,
        threads: Callable[[], int],
        progress: Callable[[float], None] = lambda _: None,
    ) -> SpeechResult:
        """Write 16-bit mono 24 kHz WAV chunk by chunk; the whole audio is never held in memory."""
        words: list[WordTime] = []
        samples = 0
        with soundfile.SoundFile(out, "w", samplerate=SAMPLE_RATE, channels=1, subtype="PCM_16") as wav:
            for audio, chunk_words, index, count in self.stream(request, threads):
                wav.write(audio)
                samples += len(audio)
                words.extend(chunk_words)
                progress(90.0 * (index + 1) / count)
        return SpeechResult(duration_s=samples / SAMPLE_RATE, words=words)


def _works(chunks: list[Chunk], serial: bool) -> list[Work[Chunk]]:
    """The chunks to synthesize; each may take the whole share when they run one at a time, else the last."""
    return [Work(chunk, alone=serial or i == len(chunks) - 1) for i, chunk in enumerate(chunks)]
