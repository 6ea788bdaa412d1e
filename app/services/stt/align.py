"""Script alignment: every word of a known script gets a start and an end from the words Whisper heard.

Both sides are compared as normalised tokens (case, accents and punctuation dropped, numbers spelled out), so
"25%" in the script meets "twenty-five percent" heard, and the other way round. A script word whose tokens
were heard takes the heard times; the others are spread over the gap between their matched neighbours in
proportion to their length, so every word keeps its place, in order and inside the audio.
"""

import difflib
import re
import unicodedata
from dataclasses import dataclass

from num2words import num2words

from app.services.stt.transcript import HeardWord

SECONDS_PER_CHAR = 0.07
"""A word's natural length when only one neighbour bounds it: about 14 characters a second."""

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_ORDINAL_EN = re.compile(r"(\d+)(?:st|nd|rd|th)\b")
_TOKEN = re.compile(r"[^\W_]+")
_APOSTROPHES = re.compile(r"['\u2019\u2018\u02bc]")
_CJK = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
"""Kana and Han characters: written without spaces, so each one is a token of its own."""
_SYMBOLS_EN = {"%": " percent ", "&": " and ", "+": " plus ", "@": " at "}


@dataclass(frozen=True)
class AlignedWord:
    """A script word as written, with its time span in seconds; `matched` when Whisper heard it."""

    word: str
    start: float
    end: float
    matched: bool


@dataclass(frozen=True)
class Alignment:
    words: list[AlignedWord]
    matched: int
    """How many script words were matched directly to heard words."""


@dataclass(frozen=True)
class _Token:
    """One normalised token, the word it came from, and (for heard tokens) its share of that word's time."""

    text: str
    owner: int
    start: float = 0.0
    end: float = 0.0


def script_words(text: str) -> list[str]:
    """The script's words as written; a token of punctuation alone joins its neighbour ("Wait —" stays one).
    Nothing speakable (blank, or punctuation only): no words."""
    words: list[str] = []
    pending = ""
    for raw in text.split():
        if not normalise(raw):
            if words:
                words[-1] += " " + raw
            else:
                pending += raw + " "
            continue
        words.append(pending + raw)
        pending = ""
    return words


def normalise(word: str, language: str = "en") -> list[str]:
    """Lower-case tokens without accents or punctuation, with numbers (and, in English, %, &, ordinals) spelled."""
    text = unicodedata.normalize("NFKC", word).casefold()
    english = language.startswith("en")
    if english:
        text = _ORDINAL_EN.sub(lambda m: _spell(m.group(1), language, "ordinal"), text)
        for symbol, spoken in _SYMBOLS_EN.items():
            text = text.replace(symbol, spoken)
    text = _NUMBER.sub(lambda m: _spell(m.group(0), language), text)
    text = _APOSTROPHES.sub("", text)
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return _TOKEN.findall(_CJK.sub(r" \1 ", text))


def _spell(number: str, language: str, to: str = "cardinal") -> str:
    """A number in words, read as `number_value` reads it."""
    value = number_value(number)
    for lang in (language, language.split("_")[0].split("-")[0], "en"):
        try:
            return f" {num2words(value, lang=lang, to=to)} "
        except (NotImplementedError, OverflowError, ValueError, KeyError, TypeError):
            continue
    return f" {number} "


def number_value(number: str) -> int | float:
    """Digits with separators as a value: with both "." and ",", the last one is the decimal mark; a lone
    separator before exactly three digits ("1,250", "1.250") groups thousands; otherwise it is decimal."""
    marks = [c for c in number if c in ".,"]
    if not marks:
        return int(number)
    if len(set(marks)) == 2:
        decimal = marks[-1]
    elif len(marks) == 1 and len(number) - number.index(marks[0]) - 1 != 3:
        decimal = marks[0]
    else:
        decimal = ""
    whole, _, fraction = number.rpartition(decimal) if decimal else (number, "", "")
    whole = re.sub(r"[.,]", "", whole)
    if not fraction.strip("0"):
        return int(whole)
    return float(f"{whole}.{fraction}")


def align_script(script: list[str], heard: list[HeardWord], duration: float, language: str = "en") -> Alignment:
    """Times for every word of `script` from the `heard` words of an audio lasting `duration` seconds."""
    end_of_audio = max(duration, max((w.end for w in heard), default=0.0))
    wanted = [_Token(text, index) for index, word in enumerate(script) for text in normalise(word, language)]
    said = _heard_tokens(heard, language)
    matcher = difflib.SequenceMatcher(a=[t.text for t in wanted], b=[t.text for t in said], autojunk=False)
    spans: dict[int, list[int]] = {}
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            spans.setdefault(wanted[block.a + offset].owner, []).append(block.b + offset)
    times: list[tuple[float, float] | None] = [None] * len(script)
    for owner, heard_indexes in spans.items():
        times[owner] = (said[heard_indexes[0]].start, said[heard_indexes[-1]].end)
    _fill_gaps(script, times, spans, said, end_of_audio)
    words = [
        AlignedWord(word, round(span[0], 3), round(span[1], 3), index in spans)
        for index, (word, span) in enumerate(zip(script, _monotonic(times, end_of_audio), strict=True))
    ]
    return Alignment(words, len(spans))


def _heard_tokens(heard: list[HeardWord], language: str) -> list[_Token]:
    """Each heard word's tokens, splitting its time in proportion to their lengths ("25" -> twenty, five)."""
    tokens: list[_Token] = []
    for index, word in enumerate(heard):
        texts = normalise(word.word, language)
        total = sum(len(text) for text in texts)
        cursor = 0
        for text in texts:
            start = word.start + (word.end - word.start) * cursor / total
            cursor += len(text)
            tokens.append(_Token(text, index, start, word.start + (word.end - word.start) * cursor / total))
    return tokens


def _fill_gaps(
    script: list[str],
    times: list[tuple[float, float] | None],
    spans: dict[int, list[int]],
    said: list[_Token],
    end_of_audio: float,
) -> None:
    """Give each run of unmatched words a span between its matched neighbours, then share it out by length."""
    index = 0
    while index < len(script):
        if times[index] is not None:
            index += 1
            continue
        stop = index
        while stop < len(script) and times[stop] is None:
            stop += 1
        before = times[index - 1] if index > 0 else None
        after = times[stop] if stop < len(script) else None
        first = spans[index - 1][-1] + 1 if index > 0 else 0
        last = spans[stop][0] if stop < len(script) else len(said)
        start, end = _gap(script[index:stop], before, after, said[first:last], end_of_audio)
        _share(script, times, index, stop, start, end)
        index = stop


def _gap(
    run: list[str],
    before: tuple[float, float] | None,
    after: tuple[float, float] | None,
    between: list[_Token],
    end_of_audio: float,
) -> tuple[float, float]:
    """The span a run of unmatched words may take: the words heard `between` its matched neighbours, if any;
    else the whole silence between the neighbours, or a natural length beside a lone neighbour."""
    low = before[1] if before is not None else 0.0
    high = after[0] if after is not None else end_of_audio
    if between:
        return max(low, between[0].start), min(high, between[-1].end)
    natural = SECONDS_PER_CHAR * sum(_letters(word) for word in run)
    if before is None and after is not None:
        return max(0.0, high - natural), high
    if after is None and before is not None:
        return low, min(end_of_audio, low + natural)
    return low, high


def _share(
    script: list[str], times: list[tuple[float, float] | None], first: int, stop: int, start: float, end: float
) -> None:
    """Spread words first..stop-1 over [start, end], each in proportion to its length."""
    lengths = [_letters(word) for word in script[first:stop]]
    total = sum(lengths)
    cursor = 0
    for offset, length in enumerate(lengths):
        t0 = start + (end - start) * cursor / total
        cursor += length
        times[first + offset] = (t0, start + (end - start) * cursor / total)


def _letters(word: str) -> int:
    """A word's length for sharing time: its letters and digits, at least 1."""
    return max(1, sum(char.isalnum() for char in word))


def _monotonic(times: list[tuple[float, float] | None], end_of_audio: float) -> list[tuple[float, float]]:
    """Spans clamped inside the audio, each starting no earlier than the previous one ended."""
    result: list[tuple[float, float]] = []
    floor = 0.0
    for span in times:
        assert span is not None
        start = min(max(span[0], floor), end_of_audio)
        end = min(max(span[1], start), end_of_audio)
        result.append((start, end))
        floor = end
    return result
