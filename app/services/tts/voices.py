"""Voice packs (510 x 1 x 256 style vectors) from every installed source, and blends of them."""

import logging
import re
from pathlib import Path
from typing import TypedDict

import numpy as np

from app.errors import UnprocessableInput
from app.services.tts.g2p import LANGUAGES

log = logging.getLogger("app.tts.voices")

_BLEND_PART = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*(?:\(\s*([0-9]*\.?[0-9]+)\s*\))?\s*$")


class VoiceInfo(TypedDict):
    name: str
    lang_code: str | None
    language: str | None


def voice_language(name: str) -> str | None:
    return name[0] if name and name[0] in LANGUAGES else None


def _as_pack(array: np.ndarray) -> np.ndarray:
    pack = np.asarray(array, dtype=np.float32)
    if pack.ndim == 2:
        pack = pack[:, None, :]
    if pack.ndim != 3 or pack.shape[-1] != 256:
        raise ValueError(f"a voice pack must be N x 1 x 256, got {pack.shape}")
    return pack


def load_npz_voices(path: Path) -> dict[str, np.ndarray]:
    """Voices from a `.npz` archive (kokoro-onnx's `voices*.bin` is one too)."""
    with np.load(path) as archive:
        return {name: _as_pack(archive[name]) for name in archive.files}


def load_pt_voices(directory: Path) -> dict[str, np.ndarray]:
    """Voices stored as torch tensors (`voices/<name>.pt`); needs torch, skipped without it."""
    files = sorted(directory.glob("*.pt"))
    if not files:
        return {}
    try:
        import torch
    except ImportError:
        log.warning("torch is not installed: the .pt voices in %s are skipped", directory)
        return {}
    return {f.stem: _as_pack(torch.load(f, weights_only=True, map_location="cpu").numpy()) for f in files}


class VoiceLibrary:
    """Installed voices by name; `resolve` turns a name or a blend like `af_bella(2)+af_sky` into a pack."""

    def __init__(self, voices: dict[str, np.ndarray]) -> None:
        self.voices = dict(sorted(voices.items()))
        self._blends: dict[str, np.ndarray] = {}

    def names(self) -> list[str]:
        return list(self.voices)

    def default(self, preferred: str) -> str | None:
        """The preferred voice when installed, else the first installed one."""
        return preferred if preferred in self.voices else next(iter(self.voices), None)

    def describe(self, lang_code: str | None = None) -> list[VoiceInfo]:
        return [
            {"name": name, "lang_code": voice_language(name), "language": LANGUAGES.get(name[0])}
            for name in self.voices
            if lang_code is None or voice_language(name) == lang_code
        ]

    def parse(self, spec: str) -> list[tuple[str, float]]:
        """Split a voice spec into (name, weight) parts; unknown names raise a 422 listing valid voices."""
        parts = []
        for raw in re.split(r"[+,]", spec):
            match = _BLEND_PART.match(raw)
            if not match:
                raise UnprocessableInput(f"Voice '{spec}' is not a voice name or a blend like 'a(2)+b(1)'.")
            name, weight = match.group(1), float(match.group(2) or 1.0)
            if name not in self.voices:
                raise UnprocessableInput(
                    f"Unknown voice '{name}'. Valid voices: {', '.join(self.voices) or 'none installed'}."
                )
            if weight <= 0:
                raise UnprocessableInput(f"Voice weight for '{name}' must be above 0.")
            parts.append((name, weight))
        return parts

    def resolve(self, spec: str) -> np.ndarray:
        parts = self.parse(spec)
        if len(parts) == 1:
            return self.voices[parts[0][0]]
        key = "+".join(f"{n}({w})" for n, w in parts)
        if key not in self._blends:
            total = sum(w for _, w in parts)
            blend = sum(self.voices[n] * (w / total) for n, w in parts)
            assert isinstance(blend, np.ndarray)  # two or more parts: never sum's start value 0
            self._blends[key] = blend.astype(np.float32)
        return self._blends[key]

    def language_of(self, spec: str) -> str | None:
        return voice_language(self.parse(spec)[0][0])
