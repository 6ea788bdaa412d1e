"""Text to speech through either engine: validation, G2P, chunking, synthesis, word timestamps."""

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from app.config import Settings
from app.errors import EngineUnavailable, InvalidInput, PayloadTooLarge, UnprocessableInput
from app.services.ffmpeg import RenderFailed, run_ffmpeg
from app.services.tts.chunking import SAMPLE_RATE, Chunk, pack_chunks, split_sentences
from app.services.tts.engine import LoadedEngine, style_for, token_ids
from app.services.tts.g2p import LANGUAGES, G2pRegistry, normalize_lang_code

log = logging.getLogger("app.tts")

AUDIO_FORMATS = ("wav", "mp3", "opus", "flac", "aac", "pcm")
MIN_SPEED, MAX_SPEED = 0.5, 2.0
CJK_LANGUAGES = ("j", "z")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")
ENCODER_ARGS = {
    "mp3": ["-c:a", "libmp3lame", "-b:a", "128k", "-f", "mp3"],
    "opus": ["-c:a", "libopus", "-b:a", "64k", "-f", "ogg"],
    "flac": ["-c:a", "flac", "-f", "flac"],
    "aac": ["-c:a", "aac", "-b:a", "128k", "-f", "adts"],
    "pcm": ["-c:a", "pcm_s16le", "-f", "s16le"],
}


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
    words: list[dict]
    chunks: int


def encode_audio(wav: Path, fmt: str, out: Path, ffmpeg: str, threads: int) -> None:
    """Convert a WAV to another format with one ffmpeg process."""
    try:
        run_ffmpeg(["-i", str(wav), "-ac", "1", *ENCODER_ARGS[fmt], str(out)], None, threads, None, ffmpeg)
    except RenderFailed as exc:
        raise RenderFailed(f"ffmpeg could not encode {fmt}: {exc.message}") from exc


class TtsService:
    """Loaded once; shared by every job. Knows nothing about HTTP."""

    def __init__(
        self,
        loaded: LoadedEngine | None,
        g2p: G2pRegistry | None,
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

    @classmethod
    def serving(cls, settings: Settings, loaded: LoadedEngine, g2p: G2pRegistry) -> "TtsService":
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
        if not self.available:
            raise EngineUnavailable(f"Text to speech is unavailable: {self.unavailable_reason}")
        return self.loaded

    def describe(self) -> dict:
        """Which engine, which weights, which voices; or why text to speech is unavailable."""
        if not self.available:
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
            "engine": self.loaded.engine.name,
            "weights": self.loaded.weights,
            "voices": self.loaded.voices.names(),
            "default_voice": self.default_voice(),
            "reason": None,
        }

    def default_voice(self) -> str | None:
        return self.loaded.voices.default(self.preferred_voice) if self.loaded else None

    def validate(
        self, text: str, voice: str | None, speed: float, lang_code: str | None, fmt: str = "wav"
    ) -> SpeechRequest:
        """Check everything a request can get wrong before it is admitted; raises 4xx errors."""
        loaded = self.require()
        if text is None or not text.strip():
            raise InvalidInput("Field 'text' is empty: give the text to speak.")
        if len(text) > self.max_text_chars:
            raise PayloadTooLarge(
                f"Field 'text' has {len(text)} characters; the limit is {self.max_text_chars} (MAX_TEXT_CHARS)."
            )
        if not np.isfinite(speed) or not MIN_SPEED <= speed <= MAX_SPEED:
            raise UnprocessableInput(f"Field 'speed' must be between {MIN_SPEED} and {MAX_SPEED}; got {speed}.")
        if fmt not in AUDIO_FORMATS:
            raise UnprocessableInput(f"Unknown format '{fmt}'. Use one of: {', '.join(AUDIO_FORMATS)}.")
        voice = (voice or "").strip() or self.default_voice()
        loaded.voices.parse(voice)
        return SpeechRequest(text, voice, float(speed), self._language(text, voice, lang_code), fmt)

    def _language(self, text: str, voice: str, lang_code: str | None) -> str:
        """lang_code when given; else the voice's language, except that a Japanese or Chinese voice
        on text with no CJK characters reads it as DEFAULT_LANG_CODE (the packaged voices are Japanese)."""
        if lang_code and lang_code.strip():
            code = normalize_lang_code(lang_code)
            if code not in LANGUAGES:
                raise UnprocessableInput(f"Unknown lang_code '{lang_code}'. Use one of: {', '.join(LANGUAGES)}.")
            if not self.g2p.available(code):
                raise UnprocessableInput(self.g2p.unavailable.get(code, f"Language '{code}' is unavailable."))
            return code
        code = self.loaded.voices.language_of(voice)
        if code is None or not self.g2p.available(code) or (code in CJK_LANGUAGES and not _CJK.search(text)):
            code = self.default_lang_code
        if not self.g2p.available(code):
            reason = self.g2p.unavailable.get(code, f"language '{code}' is not installed")
            raise UnprocessableInput(f"Give a lang_code whose G2P is available: {reason}")
        return code

    def chunks(self, request: SpeechRequest) -> list[Chunk]:
        sentences = [self.g2p.phonemize(s, request.lang_code) for s in split_sentences(request.text)]
        chunks = pack_chunks(sentences)
        if not chunks:
            raise InvalidInput("The text has nothing that can be spoken.")
        return chunks

    def stream(
        self, request: SpeechRequest, threads: Callable[[], int]
    ) -> Iterator[tuple[np.ndarray, list[dict], int, int]]:
        """Audio chunk by chunk as it is synthesized: (samples, words, index, count)."""
        loaded = self.require()
        pack = loaded.voices.resolve(request.voice)
        chunks = self.chunks(request)
        offset = 0
        for index, chunk in enumerate(chunks):
            phonemes = chunk.phonemes
            style = style_for(pack, len(token_ids(phonemes, loaded.engine.vocab)))
            audio, durations = loaded.engine.synthesize(phonemes, style, request.speed, threads())
            audio = np.clip(audio, -1.0, 1.0)
            words = chunk.word_times(durations, offset / SAMPLE_RATE)
            offset += len(audio)
            yield audio, words, index, len(chunks)

    def synthesize_to_wav(
        self,
        request: SpeechRequest,
        out: Path,
        threads: Callable[[], int],
        progress: Callable[[float], None] = lambda _: None,
    ) -> SpeechResult:
        """Write 16-bit mono 24 kHz WAV chunk by chunk; the whole audio is never held in memory."""
        words: list[dict] = []
        samples = 0
        count = 0
        with soundfile.SoundFile(out, "w", samplerate=SAMPLE_RATE, channels=1, subtype="PCM_16") as wav:
            for audio, chunk_words, index, count in self.stream(request, threads):
                wav.write(audio)
                samples += len(audio)
                words.extend(chunk_words)
                progress(90.0 * (index + 1) / count)
        return SpeechResult(duration_s=samples / SAMPLE_RATE, words=words, chunks=count)
