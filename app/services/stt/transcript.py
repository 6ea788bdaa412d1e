"""What a transcription gives: the text, its language, segments and words with times (seconds)."""

from pydantic import BaseModel, Field


class HeardWord(BaseModel):
    """One word as Whisper heard it; `word` keeps Whisper's leading space stripped."""

    word: str
    start: float
    end: float
    probability: float


class Decoding(BaseModel):
    """How Whisper decoded one segment (what OpenAI's verbose_json shows of it)."""

    seek: int = 0
    tokens: list[int] = Field(default_factory=list)
    temperature: float = 0.0
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0
    no_speech_prob: float = 0.0


class Segment(BaseModel):
    start: float
    end: float
    text: str
    decoding: Decoding | None = Field(None, exclude=True)
    """Kept out of `/info` and the JSON file; read by the OpenAI-compatible answer."""


class Transcript(BaseModel):
    """A whole transcription, as `/info` shows it."""

    text: str
    language: str
    duration: float
    segments: list[Segment]
    words: list[HeardWord]
