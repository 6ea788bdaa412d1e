"""The 54 Kokoro v1.0 voices from the npm registry's `kokoro-js` tarball, installed once into MODEL_CACHE_DIR.

The tarball (`package/voices/NAME.bin`: raw little-endian float32, 510 x 256) is fetched over HTTPS with the
standard library (resumed after a cut, retried), checked against its sha512 integrity before anything in it is
read, and its voices are written to a temp directory renamed into place, with a marker file written last.
"""

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.client import HTTPResponse
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

log = logging.getLogger("app.tts.voices")

PACK_DIRNAME = "kokoro-voices"
MARKER = "installed.json"
ROWS, WIDTH = 510, 256
VOICE_BYTES = ROWS * WIDTH * 4
FETCH_ATTEMPTS = 3
FIRST_BACKOFF_S = 0.5
TIMEOUT_S = 20.0
CHUNK = 1 << 16
PERMANENT_STATUSES = (401, 403, 404, 410)
_MEMBER = re.compile(r"package/voices/([a-z]{2}_[a-z0-9]+)\.bin")


class VoicePackError(Exception):
    """The pack could not be installed; `permanent`: trying again will not change that."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def pack_dir(cache_dir: Path) -> Path:
    """Where the pack's voices live: MODEL_CACHE_DIR/kokoro-voices/voices/NAME.bin, beside its marker."""
    return cache_dir / PACK_DIRNAME


def pack_installed(cache_dir: Path) -> bool:
    return (pack_dir(cache_dir) / MARKER).is_file()


def read_bin_voice(path: Path) -> np.ndarray:
    """One voice of the pack as a float32 510 x 1 x 256 array; `ValueError` when the file is not one."""
    raw = np.fromfile(path, dtype="<f4")
    if raw.size != ROWS * WIDTH:
        raise ValueError(f"{path.name} holds {raw.size} values, not {ROWS} x {WIDTH}")
    return raw.astype(np.float32).reshape(ROWS, 1, WIDTH)


def load_pack_voices(cache_dir: Path) -> dict[str, np.ndarray]:
    """Every voice of the installed pack (none when it is not installed); unreadable files are skipped."""
    if not pack_installed(cache_dir):
        return {}
    voices = {}
    for path in sorted((pack_dir(cache_dir) / "voices").glob("*.bin")):
        try:
            voices[path.stem] = read_bin_voice(path)
        except (ValueError, OSError) as exc:
            log.warning("skipping the voice file %s: %s", path, exc)
    return voices


def integrity_matches(path: Path, integrity: str) -> bool:
    """Whether the file has the npm `integrity` (`sha512-<base64>`; sha384 and sha256 are accepted too)."""
    algorithm, _, expected = integrity.strip().partition("-")
    if algorithm not in ("sha512", "sha384", "sha256") or not expected:
        raise VoicePackError(f"'{integrity}' is not an integrity like sha512-<base64>", permanent=True)
    digest = hashlib.new(algorithm)
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return base64.b64encode(digest.digest()).decode() == expected


def describe(exc: BaseException, host: str) -> str:
    """A one-line reason, naming the host when it answered an error or could not be reached."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"{host} answered HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"cannot reach {host} ({exc.reason})"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


@dataclass(frozen=True)
class InstallResult:
    voices: list[str]
    already: bool  # the marker was there: nothing was fetched


class VoicePack:
    """Installs the pack from `url` into `cache_dir`, checked against `integrity`; one install at a time across
    processes (a lock file), a bounded number of attempts with a doubling backoff, resuming a partial download."""

    def __init__(
        self,
        cache_dir: Path,
        url: str,
        integrity: str,
        attempts: int = FETCH_ATTEMPTS,
        backoff_s: float = FIRST_BACKOFF_S,
        timeout_s: float = TIMEOUT_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cache_dir = cache_dir
        self.url = url.strip()
        self.integrity = integrity
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.sleep = sleep
        self.download_path = cache_dir / f"{PACK_DIRNAME}.tgz.part"

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc or self.url

    @property
    def installed(self) -> bool:
        return pack_installed(self.cache_dir)

    @property
    def off_reason(self) -> str | None:
        """Why the pack is never fetched here (KOKORO_VOICES_URL empty); None when it can be."""
        return "KOKORO_VOICES_URL is empty" if not self.url else None

    def install(self) -> InstallResult:
        """Install the pack unless its marker is there; `VoicePackError` with the reason when it cannot be."""
        if self.installed:
            return InstallResult(self.names(), already=True)
        if self.off_reason is not None:
            raise VoicePackError(f"fetching the voice pack is off ({self.off_reason})", permanent=True)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with self._lock():
            if pack_installed(self.cache_dir):  # another process installed it while this one waited
                return InstallResult(self.names(), already=True)
            self._download_checked()
            names = self._extract()
            self.download_path.unlink(missing_ok=True)
        log.info("Kokoro voice pack installed: %d voices in %s", len(names), pack_dir(self.cache_dir))
        return InstallResult(names, already=False)

    def names(self) -> list[str]:
        return sorted(path.stem for path in (pack_dir(self.cache_dir) / "voices").glob("*.bin"))

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        with (self.cache_dir / f"{PACK_DIRNAME}.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _download_checked(self) -> None:
        """The tarball downloaded and its integrity checked, retried; a bad tarball is removed, never used."""
        wait = self.backoff_s
        for attempt in range(1, self.attempts + 1):
            resumed = self.download_path.is_file() and self.download_path.stat().st_size > 0
            try:
                self._download_once()
                if integrity_matches(self.download_path, self.integrity):
                    return
                self.download_path.unlink(missing_ok=True)
                raise VoicePackError(
                    f"the tarball from {self.url} does not match its integrity {self.integrity[:19]}...",
                    permanent=not resumed,  # a resumed download may have joined two versions: once more, whole
                )
            except Exception as exc:  # any failure of the server or the network: retried unless permanent
                permanent = getattr(exc, "permanent", False) or getattr(exc, "code", None) in PERMANENT_STATUSES
                if permanent or attempt == self.attempts:
                    raise VoicePackError(
                        f"{describe(exc, self.host)} (attempt {attempt} of {self.attempts})", permanent=permanent
                    ) from exc
                log.warning("fetching the voice pack failed (%s); retrying in %.1f s", describe(exc, self.host), wait)
            self.sleep(wait)
            wait *= 2
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _download_once(self) -> None:
        """Fetch the tarball into the partial file, from where an earlier attempt stopped when the server can."""
        have = self.download_path.stat().st_size if self.download_path.is_file() else 0
        request = urllib.request.Request(self.url, headers={"Range": f"bytes={have}-"} if have else {})
        try:
            response: HTTPResponse = urllib.request.urlopen(request, timeout=self.timeout_s)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:  # asked past the end: start again from nothing
                self.download_path.unlink(missing_ok=True)
                raise VoicePackError("the server refused to resume the download") from exc
            raise
        with response:
            resuming = have > 0 and response.status == 206 and _range_start(response) == have
            expected = _total_length(response, have if resuming else 0)
            with self.download_path.open("ab" if resuming else "wb") as out:
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)
        size = self.download_path.stat().st_size
        if expected is not None and size != expected:
            raise VoicePackError(f"the download stopped at {size} of {expected} bytes")

    def _extract(self) -> list[str]:
        """The checked tarball's voices into a temp directory, renamed into place with the marker written last."""
        final = pack_dir(self.cache_dir)
        for stale in self.cache_dir.glob(f".{PACK_DIRNAME}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)  # left by a process killed while extracting
        temp = self.cache_dir / f".{PACK_DIRNAME}.tmp-{os.getpid()}"
        (temp / "voices").mkdir(parents=True)
        try:
            names = _write_voices(self.download_path, temp / "voices")
            marker = {"url": self.url, "integrity": self.integrity, "voices": names, "installed_at": time.time()}
            (temp / MARKER).write_text(json.dumps(marker, indent=1))
            if final.exists():
                shutil.rmtree(final)  # a directory without its marker: never completed
            os.rename(temp, final)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        return names


def _write_voices(tarball: Path, target: Path) -> list[str]:
    """Copy each `package/voices/NAME.bin` of the tarball into `target`; `VoicePackError` when one is not a
    510 x 256 float32 voice or there is none. Nothing else in the tarball is read."""
    names = []
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            for member in archive:
                match = _MEMBER.fullmatch(member.name)
                if match is None or not member.isfile():
                    continue
                if member.size != VOICE_BYTES:
                    raise VoicePackError(f"{member.name} is {member.size} bytes, not {VOICE_BYTES}", permanent=True)
                source = archive.extractfile(member)
                assert source is not None  # a regular file always has its data
                (target / f"{match.group(1)}.bin").write_bytes(source.read())
                names.append(match.group(1))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise VoicePackError(f"the tarball could not be read ({describe(exc, str(tarball))})", permanent=True) from exc
    if not names:
        raise VoicePackError("the tarball holds no package/voices/*.bin", permanent=True)
    return sorted(names)


def _range_start(response: HTTPResponse) -> int | None:
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _total_length(response: HTTPResponse, offset: int) -> int | None:
    """The whole file's size once this response is written after `offset` bytes; None when not said."""
    length = response.headers.get("Content-Length")
    return offset + int(length) if length and length.isdigit() else None
