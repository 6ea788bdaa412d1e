"""The interface both Kokoro engines implement: phonemes + style + speed -> audio + durations."""

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from app.services.tts.voices import VoiceLibrary


class TtsEngine(Protocol):
    name: str
    vocab: dict[str, int]
    side_by_side: bool  # chunks on 1 thread each, several at once, give more audio per CPU-second than one at a time

    def synthesize(self, phonemes: str, style: np.ndarray, speed: float, threads: int) -> tuple[np.ndarray, list[int]]:
        """Float audio at 24 kHz and one frame count per token (the two pads included)."""
        ...

    def durations(self, phonemes: str, style: np.ndarray, speed: float, threads: int) -> list[int]:
        """The frame counts `synthesize` would give, without making the audio (the duration predictor only)."""
        ...


@dataclass
class LoadedEngine:
    """An engine with its voices and where its weights came from."""

    engine: TtsEngine
    voices: VoiceLibrary
    weights: str


def style_for(pack: np.ndarray, n_tokens: int) -> np.ndarray:
    """The style vector for n tokens is row n-1 of the pack."""
    return np.asarray(pack[max(0, min(n_tokens, len(pack)) - 1)], dtype=np.float32).reshape(1, -1)


def token_ids(phonemes: str, vocab: dict[str, int]) -> list[int]:
    return [vocab[ch] for ch in phonemes if ch in vocab]
