"""Sentence splitting and packing of units into chunks the model accepts (at most 510 phonemes)."""

import re
from dataclasses import dataclass, field
from typing import TypedDict

from app.services.tts.g2p import Unit
from app.services.tts.normalize import ends_with_title

MAX_PHONEMES = 510
TARGET_PHONEMES = 300
FRAME_SAMPLES = 600
SAMPLE_RATE = 24_000
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[。！？])|\n+")
_BREAKS = ("!.?…。！？", ":;", ",—、，")


class WordTime(TypedDict):
    """A spoken word and when it starts and ends in the audio, in seconds."""

    word: str
    start: float
    end: float


def split_sentences(text: str) -> list[str]:
    """Sentences of the text; a title such as "Sr." or "Dr." ends none ("O Sr. Silva chegou." stays whole)."""
    sentences: list[str] = []
    for piece in (s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()):
        if sentences and ends_with_title(sentences[-1]):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return sentences


@dataclass
class Chunk:
    units: list[Unit] = field(default_factory=list)

    @property
    def phonemes(self) -> str:
        parts = []
        for i, unit in enumerate(self.units):
            parts.append(unit.phonemes)
            if unit.space_after and i < len(self.units) - 1:
                parts.append(" ")
        return "".join(parts)

    def word_times(self, durations: list[int], offset_s: float) -> list[WordTime]:
        """Start and end of each word from per-token frame durations (pads included)."""
        words: list[WordTime] = []
        frames = durations[0] if durations else 0
        index = 1
        for i, unit in enumerate(self.units):
            n = len(unit.phonemes)
            start = frames
            frames += sum(durations[index : index + n])
            index += n
            if unit.is_word and n:
                words.append(
                    {
                        "word": unit.text,
                        "start": round(offset_s + start * FRAME_SAMPLES / SAMPLE_RATE, 3),
                        "end": round(offset_s + frames * FRAME_SAMPLES / SAMPLE_RATE, 3),
                    }
                )
            if unit.space_after and i < len(self.units) - 1:
                frames += durations[index] if index < len(durations) else 0
                index += 1
        return words


def _length(units: list[Unit]) -> int:
    return len(Chunk(units).phonemes)


def _split_long_unit(unit: Unit) -> list[Unit]:
    pieces = [unit.phonemes[i : i + MAX_PHONEMES] for i in range(0, len(unit.phonemes), MAX_PHONEMES)]
    return [
        Unit(unit.text if i == 0 else "", piece, unit.space_after and i == len(pieces) - 1)
        for i, piece in enumerate(pieces)
    ]


def _split_sentence(units: list[Unit]) -> list[list[Unit]]:
    """Cut one over-long sentence at the strongest break (sentence, clause, comma, word) that fits."""
    pieces: list[list[Unit]] = []
    rest = [
        piece for unit in units for piece in (_split_long_unit(unit) if len(unit.phonemes) > MAX_PHONEMES else [unit])
    ]
    while _length(rest) > MAX_PHONEMES:
        fit = 1
        while fit < len(rest) and _length(rest[: fit + 1]) <= MAX_PHONEMES:
            fit += 1
        cut = fit
        for marks in _BREAKS:
            found = next(
                (i + 1 for i in range(fit - 1, 0, -1) if rest[i].text and rest[i].text[-1] in marks),
                None,
            )
            if found and found >= fit // 3:
                cut = found
                break
        pieces.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        pieces.append(rest)
    return pieces


def pack_chunks(sentences: list[list[Unit]]) -> list[Chunk]:
    """Whole sentences packed up to ~300 phonemes a chunk; longer sentences split to fit 510."""
    chunks: list[Chunk] = []
    current: list[Unit] = []
    for sentence in sentences:
        sentence = [u for u in sentence if u.phonemes or u.is_word]
        if not sentence:
            continue
        for piece in _split_sentence(sentence):
            if current and _length(current) + 1 + _length(piece) > TARGET_PHONEMES:
                chunks.append(Chunk(current))
                current = []
            if current:
                current[-1].space_after = True
            current = current + piece
    if current:
        chunks.append(Chunk(current))
    return [c for c in chunks if c.phonemes.strip()]
