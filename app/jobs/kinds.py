"""The kinds of heavy work, one typed spec each: what admission, time limits, Redis keys and metrics read.

A job kind is a class of heavy work with its own cap (`MAX_CONCURRENT_<KIND>`), not a media type: a `video`
job makes a video, an `audio` job runs an audio tool, and a `video` media file may come from either.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class JobKind(StrEnum):
    TTS = "tts"
    VIDEO = "video"
    AUDIO = "audio"
    STT = "stt"


@dataclass(frozen=True)
class KindSpec:
    """What one kind needs: the typical run before any was measured (for `Retry-After` and the room's time
    bound), and the default time limit, sized for the slowest legitimate job on a one-core VPS."""

    typical_duration_s: float
    time_limit_s: float


KIND_SPECS: dict[JobKind, KindSpec] = {
    JobKind.TTS: KindSpec(typical_duration_s=5.0, time_limit_s=1800.0),
    JobKind.VIDEO: KindSpec(typical_duration_s=30.0, time_limit_s=3600.0),
    JobKind.AUDIO: KindSpec(typical_duration_s=5.0, time_limit_s=1800.0),
    JobKind.STT: KindSpec(typical_duration_s=20.0, time_limit_s=3600.0),
}
"""20,000 characters of speech at a real-time factor near 1 is about 25 min of audio; a 10-minute 1080x1920
render runs at a few frames per second."""

UNKNOWN_KIND_DURATION_S = 10.0

MediaKind = Literal["image", "video", "audio"]
"""What a stored file is (not what made it)."""
MEDIA_KINDS: tuple[MediaKind, ...] = ("image", "video", "audio")


def typical_duration_s(kind: str) -> float:
    """The guess for a kind's run time before any was measured."""
    spec = KIND_SPECS.get(JobKind(kind)) if kind in JobKind._value2member_map_ else None
    return spec.typical_duration_s if spec else UNKNOWN_KIND_DURATION_S


MAX_MERGE_INPUTS = 50
"""Files one merge job (audio or video) takes at most."""
