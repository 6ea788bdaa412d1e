"""What a transcription gives: the text, its language, segments and words with times (seconds)."""

from pydantic import BaseModel


class HeardWord(BaseModel):
    """One word as Whisper heard it; `word` keeps Whisper's leading space stripped."""

    word: str
    start: float
    end: float
    probability: float


class Segment(BaseModel):
    start: float
    end: float
    text: str


class Transcript(BaseModel):
    """A whole transcription, as `/info` shows it."""

    text: str
    language: str
    duration: float
    segments: list[Segment]
    words: list[HeardWord]
