"""Voice packs (510 x 1 x 256 style vectors) from every installed source, blends of them, and the Kokoro v1.0
voices that can be fetched when they are not installed."""

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypedDict

import numpy as np

from app.errors import EngineUnavailable, UnprocessableInput
from app.services.tts.g2p import LANGUAGES
from app.services.tts.torch_file import TorchFileError, read_tensor

log = logging.getLogger("app.tts.voices")

_BLEND_PART = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*(?:\(\s*([0-9]*\.?[0-9]+)\s*\))?\s*$")
VOICES_ROUTE = "GET /api/v1/media/audio-tools/tts/kokoro/voices"

KOKORO_V1_VOICES: dict[str, tuple[str, ...]] = {
    "a": (
        "af_alloy", "af_aoede", "af_bella", "af_heart", "af_jessica", "af_kore", "af_nicole", "af_nova", "af_river",
        "af_sarah", "af_sky", "am_adam", "am_echo", "am_eric", "am_fenrir", "am_liam", "am_michael", "am_onyx",
        "am_puck", "am_santa",
    ),
    "b": ("bf_alice", "bf_emma", "bf_isabella", "bf_lily", "bm_daniel", "bm_fable", "bm_george", "bm_lewis"),
    "e": ("ef_dora", "em_alex", "em_santa"),
    "f": ("ff_siwis",),
    "h": ("hf_alpha", "hf_beta", "hm_omega", "hm_psi"),
    "i": ("if_sara", "im_nicola"),
    "j": ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"),
    "p": ("pf_dora", "pm_alex", "pm_santa"),
    "z": ("zf_xiaobei", "zf_xiaoni", "zf_xiaoxiao", "zf_xiaoyi", "zm_yunjian", "zm_yunxi", "zm_yunxia", "zm_yunyang"),
}  # fmt: skip
"""The 54 voices of Kokoro v1.0 (`voices/NAME.pt` of hexgrad/Kokoro-82M) by language code."""
KNOWN_VOICES: dict[str, str] = {name: code for code, names in KOKORO_V1_VOICES.items() for name in names}
GET_MORE = (
    "To get more: `make voices` fetches all 54 Kokoro v1.0 voices into MODEL_CACHE_DIR while the machine is "
    "online; or run the server online (without HF_HUB_OFFLINE=1) and name the voice once: it is fetched on first use."
)


class VoiceInfo(TypedDict):
    name: str
    lang_code: str | None
    language: str | None
    installed: bool


@dataclass(frozen=True)
class FetchResult:
    """A fetched voice pack, or why it could not be fetched (`permanent`: the hub has no such voice)."""

    pack: np.ndarray | None
    error: str | None = None
    permanent: bool = False


class VoiceSource(Protocol):
    """Where voices that are not installed come from; `unavailable_reason` is None when fetching works."""

    @property
    def unavailable_reason(self) -> str | None: ...

    def fetch(self, name: str) -> FetchResult: ...


def voice_language(name: str) -> str | None:
    return name[0] if name and name[0] in LANGUAGES else None


def as_pack(array: np.ndarray) -> np.ndarray:
    """A float32 N x 1 x 256 voice pack; `ValueError` for any other shape."""
    pack = np.asarray(array, dtype=np.float32)
    if pack.ndim == 2:
        pack = pack[:, None, :]
    if pack.ndim != 3 or pack.shape[-1] != 256 or pack.shape[1] != 1:
        raise ValueError(f"a voice pack must be N x 1 x 256, got {pack.shape}")
    return pack


def load_npz_voices(path: Path) -> dict[str, np.ndarray]:
    """Voices from a `.npz` archive (kokoro-onnx's `voices*.bin` is one too)."""
    with np.load(path) as archive:
        return {name: as_pack(archive[name]) for name in archive.files}


def load_pt_voices(directory: Path) -> dict[str, np.ndarray]:
    """Voices stored as torch tensors (`voices/<name>.pt`), read without torch; unreadable files are skipped."""
    voices = {}
    for path in sorted(directory.glob("*.pt")):
        try:
            voices[path.stem] = as_pack(read_tensor(path))
        except (TorchFileError, ValueError, OSError) as exc:
            log.warning("skipping the voice file %s: %s", path, exc)
    return voices


class VoiceLibrary:
    """Installed voices by name, and the Kokoro v1.0 voices its `source` can fetch; `resolve` turns a name or a
    blend like `af_bella(2)+af_sky` into a pack."""

    def __init__(self, voices: dict[str, np.ndarray], source: VoiceSource | None = None) -> None:
        self.voices = dict(sorted(voices.items()))
        self.source = source
        self._blends: dict[str, np.ndarray] = {}
        self._install_lock = threading.Lock()

    @property
    def fetch_unavailable_reason(self) -> str | None:
        """Why voices that are not installed cannot be fetched here; None when they can."""
        return "no voice source" if self.source is None else self.source.unavailable_reason

    def names(self) -> list[str]:
        return sorted(self.voices)

    def default(self, preferred: str) -> str | None:
        """The preferred voice when installed, else the first installed one."""
        return preferred if preferred in self.voices else next(iter(self.names()), None)

    def describe(self, lang_code: str | None = None) -> list[VoiceInfo]:
        """Installed voices and the Kokoro v1.0 voices not installed, by name, of one language or all."""
        names = sorted(self.voices.keys() | KNOWN_VOICES.keys())
        return [
            {"name": n, "lang_code": voice_language(n), "language": LANGUAGES.get(n[0]), "installed": n in self.voices}
            for n in names
            if lang_code is None or voice_language(n) == lang_code
        ]

    def _installed_list(self) -> str:
        return ", ".join(self.names()) or "none"

    def parse(self, spec: str) -> list[tuple[str, float]]:
        """Split a voice spec into (name, weight) parts; a name neither installed nor of Kokoro v1.0 is a 422."""
        parts = []
        for raw in re.split(r"[+,]", spec):
            match = _BLEND_PART.match(raw)
            if not match:
                raise UnprocessableInput(f"Voice '{spec}' is not a voice name or a blend like 'a(2)+b(1)'.")
            name, weight = match.group(1), float(match.group(2) or 1.0)
            if name not in self.voices and name not in KNOWN_VOICES:
                raise UnprocessableInput(
                    f"Unknown voice '{name}': it is neither installed nor a Kokoro v1.0 voice. Installed voices: "
                    f"{self._installed_list()}. {VOICES_ROUTE} lists every voice."
                )
            if weight <= 0:
                raise UnprocessableInput(f"Voice weight for '{name}' must be above 0.")
            parts.append((name, weight))
        return parts

    def not_installed_error(self, name: str) -> UnprocessableInput:
        reason = self.fetch_unavailable_reason
        why = f", and voices cannot be fetched here ({reason})" if reason else ""
        return UnprocessableInput(
            f"Voice '{name}' is not installed{why}. Installed voices: {self._installed_list()}. {GET_MORE}"
        )

    def missing(self, spec: str) -> list[str]:
        """The voices of `spec` to fetch before it can be spoken; a 422 when one is missing and none can be fetched."""
        names = [name for name, _ in self.parse(spec) if name not in self.voices]
        if names and self.fetch_unavailable_reason is not None:
            raise self.not_installed_error(names[0])
        return list(dict.fromkeys(names))

    def install(self, name: str) -> None:
        """Fetch one voice from the source (blocking: call it from a worker thread); a 422 or 503 when it fails."""
        with self._install_lock:  # one fetch at a time; a second request for the same voice finds it installed
            if name in self.voices:
                return
            if self.source is None or self.source.unavailable_reason is not None:
                raise self.not_installed_error(name)
            result = self.source.fetch(name)
            if result.pack is None:
                message = (
                    f"Voice '{name}' is not installed and could not be fetched from the hub: {result.error}. "
                    f"Installed voices: {self._installed_list()}."
                )
                if result.permanent:
                    raise UnprocessableInput(message)
                raise EngineUnavailable(f"{message} Retry later, or name an installed voice. {GET_MORE}")
            self.voices[name] = as_pack(result.pack)
            log.info("voice %s fetched and installed", name)

    def resolve(self, spec: str) -> np.ndarray:
        parts = self.parse(spec)
        for name, _ in parts:
            if name not in self.voices:
                raise self.not_installed_error(name)
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
