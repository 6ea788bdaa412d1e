"""A transcript as a file: JSON, SRT, WebVTT or plain text.

Caption cues follow the speech: a cue ends at a sentence end, before a pause, or when its words would not fit
on two lines of about 42 characters (the usual subtitle line); a line breaks between words.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from app.services.stt.transcript import HeardWord, Transcript

TranscriptFormat = Literal["json", "srt", "vtt", "txt"]
LINE_CHARS = 42
CUE_LINES = 2
PAUSE_S = 1.0
"""Silence between two words that closes a cue, so a caption never stays on screen over a pause."""
SENTENCE_ENDS = (".", "!", "?", "…", "。", "！", "？")
_CLOSERS = "\"'”’)]}»"


@dataclass
class Cue:
    """One caption on screen: its time span and one or two lines."""

    start: float
    end: float
    lines: list[list[str]] = field(default_factory=lambda: [[]])

    def fits(self, word: str) -> bool:
        """Whether `word` fits on the last line, or on a new line below it."""
        line = self.lines[-1]
        return not line or len(" ".join([*line, word])) <= LINE_CHARS or len(self.lines) < CUE_LINES

    def add(self, word: HeardWord) -> None:
        line = self.lines[-1]
        if line and len(" ".join([*line, word.word])) > LINE_CHARS:
            self.lines.append([])
        self.lines[-1].append(word.word)
        self.end = max(self.end, word.end)

    @property
    def text(self) -> str:
        return "\n".join(" ".join(line) for line in self.lines if line)


def ends_sentence(word: str) -> bool:
    return word.rstrip(_CLOSERS).endswith(SENTENCE_ENDS)


def cues(transcript: Transcript) -> list[Cue]:
    """The transcript's words grouped into captions (see the module's docstring)."""
    result: list[Cue] = []
    current: Cue | None = None
    for word in timed_words(transcript):
        if current is not None and (not current.fits(word.word) or word.start - current.end >= PAUSE_S):
            result.append(current)
            current = None
        if current is None:
            current = Cue(word.start, word.end)
        current.add(word)
        if ends_sentence(word.word):
            result.append(current)
            current = None
    if current is not None:
        result.append(current)
    return result


def timed_words(transcript: Transcript) -> list[HeardWord]:
    """Whisper's words; for a transcript without word times, each segment's words spread over the segment."""
    if transcript.words or not transcript.segments:
        return list(transcript.words)
    words: list[HeardWord] = []
    for segment in transcript.segments:
        tokens = segment.text.split()
        step = (segment.end - segment.start) / max(1, len(tokens))
        for i, token in enumerate(tokens):
            start = segment.start + i * step
            words.append(HeardWord(word=token, start=round(start, 3), end=round(start + step, 3), probability=1.0))
    return words


def timestamp(seconds: float, separator: str) -> str:
    """`HH:MM:SS,mmm` (SRT) or `HH:MM:SS.mmm` (WebVTT)."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _timed_cues(transcript: Transcript, separator: str) -> Iterable[tuple[int, str, str]]:
    for number, cue in enumerate(cues(transcript), start=1):
        yield number, f"{timestamp(cue.start, separator)} --> {timestamp(cue.end, separator)}", cue.text


def to_srt(transcript: Transcript) -> str:
    return "".join(f"{number}\n{times}\n{text}\n\n" for number, times, text in _timed_cues(transcript, ","))


def to_vtt(transcript: Transcript) -> str:
    return "WEBVTT\n\n" + "".join(f"{times}\n{text}\n\n" for _, times, text in _timed_cues(transcript, "."))


def to_txt(transcript: Transcript) -> str:
    """The text, one segment a line."""
    return "".join(f"{segment.text}\n" for segment in transcript.segments)


def to_json(transcript: Transcript) -> str:
    return transcript.model_dump_json(indent=2) + "\n"


def render(transcript: Transcript, fmt: TranscriptFormat) -> str:
    """The transcript as the text of a file in `fmt`."""
    writers = {"json": to_json, "srt": to_srt, "vtt": to_vtt, "txt": to_txt}
    return writers[fmt](transcript)
