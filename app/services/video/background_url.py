"""A scene's `background_url`: fetched under the upload rules (URL policy, size cap, redirects, deadline) and
accepted only when it is an image or a video; every refusal names the scene's field."""

from pathlib import Path

from app.errors import InvalidInput
from app.services.ffmpeg import Ffmpeg
from app.services.uploads import detect_media, download_url


def fetch_background(
    url: str, dest: Path, field: str, cap_bytes: int, allow_private: bool, ffmpeg: Ffmpeg
) -> tuple[Path, bool]:
    """Download `url` next to `dest` (named with its real extension): the path and whether it is a video."""
    try:
        download_url(url, dest, cap_bytes, allow_private)
        detected = detect_media(dest, ffmpeg)
    except InvalidInput as exc:
        raise InvalidInput(f"{field}: {exc.message}") from exc
    if detected.media_type not in ("image", "video"):
        raise InvalidInput(f"{field}: the URL gave {detected.media_type}; expected an image or a video.")
    path = dest.with_name(f"{dest.name}.{detected.ext}")
    dest.rename(path)
    return path, detected.media_type == "video"
