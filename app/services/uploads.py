"""Uploaded media: copying with a size cap, fetching by URL safely, and finding out what a file really is.

No HTTP framework here: the upload router feeds these functions and runs them in worker threads.
"""

import re
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urljoin

import httpx

from app.errors import InvalidInput, PayloadTooLarge
from app.services.ffmpeg import Ffmpeg, MediaInfo, parse_probe_log
from app.services.url_policy import Resolver, check_peer, check_url, resolve_host
from app.services.url_policy import is_public_address as is_public_address

CHUNK = 1024 * 1024
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 20.0
TOTAL_TIMEOUT_S = 60.0
MAX_REDIRECTS = 3
_REDIRECTS = (301, 302, 303, 307, 308)
MAX_IMAGE_PIXELS = 100_000_000
_INPUT_RE = re.compile(r"^Input #0, (.+?), from ", re.MULTILINE)
_WEBM_CODECS = {"vp8", "vp9", "av1", "opus", "vorbis", ""}
_CONTAINER_EXT = {"wav": "wav", "mp3": "mp3", "ogg": "ogg", "flac": "flac", "aac": "aac", "avi": "avi"}


@dataclass(frozen=True)
class DetectedMedia:
    """What an uploaded file turned out to be: its kind, the extension to store it under, and facts about it."""

    media_type: str
    ext: str
    info: dict[str, Any] = field(default_factory=dict)


def sniff_image(head: bytes) -> str | None:
    """The extension of a PNG, JPEG, GIF or WebP from its first bytes, else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def detect_media(path: Path, ffmpeg: Ffmpeg) -> DetectedMedia:
    """Magic bytes for images, then ffmpeg for video and audio; InvalidInput for anything unreadable."""
    with path.open("rb") as file:
        head = file.read(16)
    if not head:
        raise InvalidInput("The uploaded file is empty.")
    image_ext = sniff_image(head)
    log = _ffmpeg_log(ffmpeg, path)
    info = parse_probe_log(log)
    if image_ext is not None:
        return _image(ffmpeg, path, image_ext, info)
    if info is None:
        raise InvalidInput("The file is not a readable image, video or audio file (ffmpeg cannot decode it).")
    if info.has_video:
        if info.duration <= 0:
            raise InvalidInput(
                "The file is an unsupported image format or a video without a duration; "
                "images must be PNG, JPEG, GIF or WebP."
            )
        facts: dict[str, Any] = {"duration": round(info.duration, 3), "width": info.width, "height": info.height}
        facts.update({"fps": info.fps, "video_codec": info.video_codec, "audio_codec": info.audio_codec or None})
        return DetectedMedia("video", _container_ext(log, info), {"media_type": "video", **facts})
    if info.duration <= 0:
        raise InvalidInput("The audio file has no duration.")
    facts = {"duration": round(info.duration, 3), "audio_codec": info.audio_codec, "sample_rate": info.sample_rate}
    return DetectedMedia("audio", _container_ext(log, info), {"media_type": "audio", **facts})


def check_declared(detected: DetectedMedia, declared: str) -> None:
    if detected.media_type != declared:
        raise InvalidInput(
            f"The file was declared as media_type '{declared}' but its content is {detected.media_type} "
            f"({detected.ext}); upload it as '{detected.media_type}' or send a {declared} file."
        )


def _image(ffmpeg: Ffmpeg, path: Path, ext: str, info: MediaInfo | None) -> DetectedMedia:
    if info is None or not info.has_video or info.width <= 0 or info.height <= 0:
        raise InvalidInput(f"The file starts like a {ext.upper()} image but is corrupt (ffmpeg cannot read it).")
    if info.width * info.height > MAX_IMAGE_PIXELS:
        raise InvalidInput(
            f"The image is {info.width}x{info.height}; at most {MAX_IMAGE_PIXELS:,} pixels are accepted."
        )
    cmd = ffmpeg.command("-v", "error", "-xerror", "-i", str(path), "-frames:v", "1", "-f", "null", "-")
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=ffmpeg.probe_timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise InvalidInput("Timed out decoding the image.") from exc
    if done.returncode != 0:
        raise InvalidInput(f"The file starts like a {ext.upper()} image but is corrupt (it cannot be decoded).")
    facts: dict[str, Any] = {"media_type": "image", "width": info.width, "height": info.height, "format": ext}
    if info.duration > 0:
        facts["duration"] = round(info.duration, 3)
    return DetectedMedia("image", ext, facts)


def _ffmpeg_log(ffmpeg: Ffmpeg, path: Path) -> str:
    try:
        return ffmpeg.probe_log(path)
    except subprocess.TimeoutExpired as exc:
        raise InvalidInput("Timed out reading the uploaded file.") from exc


def _container_ext(log: str, info: MediaInfo) -> str:
    """An extension matching the container ffmpeg found (the stored file's name and MIME type come from it)."""
    match = _INPUT_RE.search(log)
    container = match.group(1) if match else ""
    if container.startswith("mov,mp4"):
        return "mp4" if info.has_video else "m4a"
    if container == "matroska,webm":
        return "webm" if {info.video_codec, info.audio_codec} <= _WEBM_CODECS else "mkv"
    first = container.split(",")[0]
    if first in _CONTAINER_EXT:
        return _CONTAINER_EXT[first]
    return first if re.fullmatch(r"[a-z0-9]{1,8}", first) else "bin"


def copy_with_cap(chunks: Iterable[bytes], dest: Path, cap_bytes: int) -> int:
    """Write chunks to `dest`, stopping with PayloadTooLarge (and no file left) as soon as the cap is passed."""
    written = 0
    try:
        with dest.open("wb") as out:
            for chunk in chunks:
                written += len(chunk)
                if written > cap_bytes:
                    raise PayloadTooLarge(_too_large(cap_bytes))
                out.write(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return written


def file_chunks(source: BinaryIO, size: int = CHUNK) -> Iterable[bytes]:
    while chunk := source.read(size):
        yield chunk


def _too_large(cap_bytes: int) -> str:
    return f"The file is larger than the upload limit of {cap_bytes // (1024 * 1024)} MB (MAX_UPLOAD_MB)."


def too_large(cap_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(_too_large(cap_bytes))


def download_url(
    url: str,
    dest: Path,
    cap_bytes: int,
    allow_private: bool,
    resolve: Resolver = resolve_host,
    total_timeout_s: float = TOTAL_TIMEOUT_S,
) -> int:
    """GET `url` into `dest` with the size cap, at most MAX_REDIRECTS redirects (each target checked again),
    a connect timeout and an overall deadline. Blocking: run it in a worker thread."""
    deadline = time.monotonic() + total_timeout_s
    timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
    headers = {"User-Agent": "media-api-upload", "Accept-Encoding": "identity"}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, headers=headers) as client:
            for _ in range(MAX_REDIRECTS + 1):
                url = check_url(url, allow_private, resolve)
                with client.stream("GET", url) as response:
                    if not allow_private:
                        check_peer(response)
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise InvalidInput(f"The URL answered HTTP {response.status_code}; expected 200.")
                    length = response.headers.get("content-length", "")
                    if length.isdigit() and int(length) > cap_bytes:
                        raise too_large(cap_bytes)
                    return copy_with_cap(_body(response, deadline, total_timeout_s), dest, cap_bytes)
    except httpx.TimeoutException as exc:
        raise InvalidInput("Downloading the URL timed out.") from exc
    except httpx.HTTPError as exc:
        raise InvalidInput(f"Downloading the URL failed: {type(exc).__name__}: {exc}".rstrip(": ")) from exc
    raise InvalidInput(f"The URL redirected more than {MAX_REDIRECTS} times.")


def _body(response: httpx.Response, deadline: float, total_timeout_s: float) -> Iterable[bytes]:
    for chunk in response.iter_bytes():  # as the data arrives, so the deadline is checked on every read
        if time.monotonic() > deadline:
            raise InvalidInput(f"Downloading the URL took longer than {total_timeout_s:g} s.")
        yield chunk
