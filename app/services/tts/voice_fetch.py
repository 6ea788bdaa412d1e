"""Kokoro v1.0 voices fetched from the hub (`voices/NAME.pt` of KOKORO_REPO_ID) into MODEL_CACHE_DIR.

Used in the speech engine process (a voice named by a request) and by `scripts/fetch_voices.py` (`make voices`).
Both engines load the cached files at start, read without torch (`torch_file`). `HF_HUB_OFFLINE=1` turns
fetching off; `HF_ENDPOINT` points it at another hub (a mirror, or a local server in tests).
"""

import importlib.util
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.services.tts.torch_file import TorchFileError, read_tensor
from app.services.tts.voice_pack import load_pack_voices
from app.services.tts.voices import KNOWN_VOICES, FetchResult, as_pack, load_pt_voices

log = logging.getLogger("app.tts.voices")

FETCH_ATTEMPTS = 3
FIRST_BACKOFF_S = 0.5
HUB_TIMEOUT_S = 5.0
PERMANENT_STATUSES = (401, 403, 404)
"""The hub answered that the file is not there or not for us: trying again will not change that."""


class VoiceFetchError(Exception):
    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def fetch_unavailable_reason() -> str | None:
    """Why voices cannot be fetched in this process (read from the environment now); None when they can."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE"):
        return "HF_HUB_OFFLINE=1"
    if importlib.util.find_spec("huggingface_hub") is None:
        return "huggingface_hub is not installed"
    return None


def cached_voices_dir(cache_dir: Path, repo_id: str) -> Path:
    """Where fetched voices live: MODEL_CACHE_DIR/<owner>--<repo>/voices/NAME.pt."""
    return cache_dir / repo_id.replace("/", "--") / "voices"


def load_cached_voices(cache_dir: Path, repo_id: str) -> dict[str, np.ndarray]:
    """Every voice installed before into the cache: the npm pack's, then those fetched from the hub."""
    directory = cached_voices_dir(cache_dir, repo_id)
    return {**load_pack_voices(cache_dir), **(load_pt_voices(directory) if directory.is_dir() else {})}


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _is_permanent(exc: BaseException) -> bool:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None) in PERMANENT_STATUSES


class HubVoices:
    """Fetches voice packs with `hf_hub_download`, retrying a bounded number of times with a doubling backoff.

    Each attempt first asks the hub for the file's metadata once (no retries of huggingface_hub's own, which
    would wait 23 s on an unreachable hub), then downloads it; a hub that has no such file is not asked again."""

    def __init__(
        self,
        cache_dir: Path,
        repo_id: str,
        attempts: int = FETCH_ATTEMPTS,
        backoff_s: float = FIRST_BACKOFF_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cache_dir = cache_dir
        self.repo_id = repo_id
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.sleep = sleep
        self.unavailable_reason = fetch_unavailable_reason()

    def path(self, name: str) -> Path:
        return cached_voices_dir(self.cache_dir, self.repo_id) / f"{name}.pt"

    def fetch(self, name: str) -> FetchResult:
        """The voice's pack, from the cache or the hub; or why it could not be had."""
        try:
            return FetchResult(self._read(self.download(name)))
        except VoiceFetchError as exc:
            return FetchResult(None, str(exc), exc.permanent)

    def download(self, name: str) -> Path:
        """The cached file of a Kokoro v1.0 voice, downloaded first when missing; `VoiceFetchError` when it fails."""
        if name not in KNOWN_VOICES:
            raise VoiceFetchError(f"'{name}' is not a Kokoro v1.0 voice", permanent=True)
        if self.path(name).is_file():
            return self.path(name)
        if self.unavailable_reason is not None:
            raise VoiceFetchError(f"fetching is off ({self.unavailable_reason})", permanent=True)
        wait = self.backoff_s
        for attempt in range(1, self.attempts + 1):
            try:
                return self._download_once(name)
            except Exception as exc:  # any failure of the hub or the network: retried unless permanent
                if _is_permanent(exc) or attempt == self.attempts:
                    raise VoiceFetchError(
                        f"{_describe(exc)} (attempt {attempt} of {self.attempts})", permanent=_is_permanent(exc)
                    ) from exc
                log.warning("fetching voice %s failed (%s); retrying in %.1f s", name, _describe(exc), wait)
            self.sleep(wait)
            wait *= 2
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _download_once(self, name: str) -> Path:
        from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

        endpoint = os.environ.get("HF_ENDPOINT") or None
        filename = f"voices/{name}.pt"
        get_hf_file_metadata(hf_hub_url(self.repo_id, filename, endpoint=endpoint), timeout=HUB_TIMEOUT_S)
        local_dir = cached_voices_dir(self.cache_dir, self.repo_id).parent
        path = Path(
            hf_hub_download(self.repo_id, filename, local_dir=local_dir, endpoint=endpoint, etag_timeout=HUB_TIMEOUT_S)
        )
        log.info("voice %s downloaded to %s", name, path)
        return path  # fmt: skip

    def _read(self, path: Path) -> np.ndarray:
        """The pack in a cached file; a file that is not one is removed, so the next try downloads it again."""
        try:
            return as_pack(read_tensor(path))
        except (TorchFileError, ValueError) as exc:
            path.unlink(missing_ok=True)
            raise VoiceFetchError(f"the hub's {path.name} is not a voice pack ({exc})") from exc
