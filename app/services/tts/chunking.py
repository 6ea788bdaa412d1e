"""Sentence splitting and packing of units into chunks the model accepts (at most 510 phonemes)."""

import heapq
import itertools
import math
import re
from dataclasses import dataclass, field, replace
from typing import TypedDict

from app.services.tts.g2p import Unit
from app.services.tts.normalize import ends_with_title

MAX_PHONEMES = 510
TARGET_PHONEMES = 100
"""A chunk's length, about a sentence: an inference's activations grow with it (about 180 MB at 100 phonemes, 470 MB
at 300), and shorter chunks are faster per second of audio (0.27 s against 0.31 s at 200 phonemes, side by side
on 2 cores; `scripts/bench_sessions.py`)."""
FIRST_CHUNK_PHONEMES = 32
"""A streamed answer's first chunk: its first words, cut at the strongest break that keeps it this short (about
2.5 s of speech, ready in about 0.7 s on 2 threads), so that the first audio comes well within a second."""
FRAME_SAMPLES = 600
SAMPLE_RATE = 24_000
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[。！？])|\n+")
_BREAKS = ("!.?…。！？", ":;", ",—、，")
_CUT_COST = (0.0, 0.15, 0.25)
"""What cutting side-by-side chunks costs, as a share of a chunk's length, after a sentence, a clause or a comma
(`_strength`): a cut moves that far from an even split to end at a stronger break."""
MIN_SIDE_BY_SIDE = 60
"""The shortest chunk a text is cut into for speed."""
SIDE_BY_SIDE_MAX = 300
"""The longest chunk cut for side by side, where a cut with fewer chunks ends first (an inference's activations
are about 470 MB at 300 phonemes)."""
_START_COST = 10
"""What starting a chunk costs, in phonemes' worth of synthesis (the style, the pads, the round trip)."""


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


def _spoken(units: list[Unit]) -> list[Unit]:
    """The units that are spoken or written as words (a quote mark with no phonemes is dropped)."""
    return [u for u in units if u.phonemes or u.is_word]


def _length(units: list[Unit]) -> int:
    return len(Chunk(units).phonemes)


def _split_long_unit(unit: Unit) -> list[Unit]:
    pieces = [unit.phonemes[i : i + MAX_PHONEMES] for i in range(0, len(unit.phonemes), MAX_PHONEMES)]
    return [
        Unit(unit.text if i == 0 else "", piece, unit.space_after and i == len(pieces) - 1)
        for i, piece in enumerate(pieces)
    ]


def _split_sentence(units: list[Unit], limit: int = MAX_PHONEMES) -> list[list[Unit]]:
    """Cut one sentence longer than `limit` at the strongest break (sentence, clause, comma, word) that fits."""
    pieces: list[list[Unit]] = []
    rest = [
        piece for unit in units for piece in (_split_long_unit(unit) if len(unit.phonemes) > MAX_PHONEMES else [unit])
    ]
    while _length(rest) > limit:
        fit = 1
        while fit < len(rest) and _length(rest[: fit + 1]) <= limit:
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


def pack_chunks(
    sentences: list[list[Unit]], target: int = TARGET_PHONEMES, growing_from: int | None = None
) -> list[Chunk]:
    """Whole sentences packed up to `target` phonemes a chunk; longer sentences split to fit 510. `growing_from`:
    the first chunk is at most that long and each next one twice the one before, up to `target`, sentences cut at
    their strongest break to fit (a streamed answer: each chunk is ready before the one before it has played)."""
    chunks: list[Chunk] = []
    current: list[Unit] = []
    limit = growing_from or target
    for sentence in sentences:
        sentence = _spoken(sentence)
        if not sentence:
            continue
        for piece in _split_sentence(sentence, limit if growing_from else MAX_PHONEMES):
            if current and _length(current) + 1 + _length(piece) > limit:
                chunks.append(Chunk(current))
                current = []
                limit = min(target, 2 * limit)
            if current:
                current[-1].space_after = True
            current = current + piece
    if current:
        chunks.append(Chunk(current))
    return [c for c in chunks if c.phonemes.strip()]


def _strength(unit: Unit, ends_sentence: bool) -> int:
    """How strong a break follows the unit: 0 a sentence's end, 1 a clause, 2 a comma, 3 a word."""
    if ends_sentence:
        return 0
    last = unit.text[-1:] if unit.text else ""
    return next((i for i, marks in enumerate(_BREAKS) if last and last in marks), 3)


def _flatten(sentences: list[list[Unit]]) -> tuple[list[Unit], list[int], list[int]]:
    """The text's units, where each starts in the joined phonemes (one more: the end), and the strength of the
    break after each; a sentence longer than a chunk may be is cut as `pack_chunks` cuts it, and each of its
    pieces ends as a sentence does."""
    units: list[Unit] = []
    strengths: list[int] = []
    for sentence in sentences:
        kept = _spoken(sentence)
        for piece in _split_sentence(kept) if kept else []:
            for i, unit in enumerate(piece):
                ends = i == len(piece) - 1
                units.append(replace(unit, space_after=unit.space_after or ends))
                strengths.append(_strength(unit, ends))
    starts = [0]
    for unit in units:
        starts.append(starts[-1] + len(unit.phonemes) + (1 if unit.space_after else 0))
    return units, starts, strengths


def _counts(total: int, width: int, target: int) -> list[int]:
    """Chunk counts worth trying: multiples of `width` around `total / target`, none making chunks shorter than
    `MIN_SIDE_BY_SIDE` (a short text is not cut for speed), or the plain count when none is left."""
    count = math.ceil(total / target)
    rounded = math.ceil(count / width) * width
    counts = [c for c in (rounded - width, rounded, rounded + width) if c > 0 and total / c >= MIN_SIDE_BY_SIDE]
    return counts or [count]


def _cut(units: list[Unit], starts: list[int], strengths: list[int], count: int) -> list[Chunk]:
    """`count` chunks of about equal length (fewer where no break is near an even split), each cut after a
    sentence, a clause or a comma, a cut moving off the even split to end at a stronger break."""
    total = starts[-1]
    cuts = [0]
    for k in range(1, count):
        size = (total - starts[cuts[-1]]) / (count - k + 1)  # what is left, shared evenly
        ideal = starts[cuts[-1]] + size
        candidates = [
            i for i in range(cuts[-1] + 1, len(units)) if strengths[i - 1] < 3 and abs(starts[i] - ideal) <= size / 2
        ]
        if candidates:
            cuts.append(min(candidates, key=lambda i: abs(starts[i] - ideal) / size + _CUT_COST[strengths[i - 1]]))
    cuts.append(len(units))
    return [Chunk(units[a:b]) for a, b in itertools.pairwise(cuts)]


def _finish(lengths: list[int], width: int) -> float:
    """When the last chunk ends, each started in order on the first of `width` threads to be free, its time its
    length plus what starting one costs."""
    free = [0.0] * width
    for length in lengths:
        start = heapq.heappop(free)
        heapq.heappush(free, start + length + _START_COST)
    return max(free)


def side_by_side_chunks(sentences: list[list[Unit]], width: int, target: int = TARGET_PHONEMES) -> list[Chunk]:
    """Chunks for `width` synthesized side by side, cut after a sentence, a clause or a comma, never inside a
    phrase: of the even cuts into about `total / target` chunks (a multiple of `width`, so that none runs alone
    at the end), the one that ends first, none longer than `SIDE_BY_SIDE_MAX`; `pack_chunks` for one."""
    if width <= 1:
        return pack_chunks(sentences, target)
    units, starts, strengths = _flatten(sentences)
    if not starts[-1]:
        return []
    options = [_cut(units, starts, strengths, count) for count in _counts(starts[-1], width, target)]
    fitting = [o for o in options if max(len(c.phonemes) for c in o) <= SIDE_BY_SIDE_MAX] or options
    best = min(fitting, key=lambda chunks: _finish([len(c.phonemes) for c in chunks], width))
    return [piece for chunk in best for piece in _within_limit(chunk, target)]


def _within_limit(chunk: Chunk, target: int) -> list[Chunk]:
    """The chunk, or `pack_chunks`' cut of it where no break near an even split kept it within the model's limit."""
    if not chunk.phonemes.strip():
        return []
    return [chunk] if len(chunk.phonemes) <= MAX_PHONEMES else pack_chunks([chunk.units], target)


def first_words(sentence: list[Unit], limit: int = FIRST_CHUNK_PHONEMES) -> tuple[list[Unit], list[Unit]]:
    """The sentence's first words, cut at the strongest break that keeps them within `limit` phonemes (the last
    third of that room preferred), and the rest."""
    pieces = _split_sentence(_spoken(sentence), limit)
    if not pieces:
        return [], []
    return pieces[0], [unit for piece in pieces[1:] for unit in piece]
