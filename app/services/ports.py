"""The interfaces routes use for admission, jobs and inline speech, met by the local services (one machine) and
by the cluster's (web nodes on Redis and workers)."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from app.limits import Ticket
from app.services.events import EventBus
from app.services.ffmpeg import ImageFormat
from app.services.inline_transcripts import InlineTranscription
from app.services.jobs import Job
from app.services.tts.service import SpeechRequest
from app.services.uploads import DetectedMedia


class JobAdmission(Protocol):
    """Start now, wait in the room, or `Busy` (429 + Retry-After)."""

    @property
    def caps(self) -> dict[str, int]: ...

    def admit(
        self, kind: str, finish_within_s: float | None = None, client: str | None = None, detached: bool = False
    ) -> Ticket: ...

    def has_room(self, kind: str) -> bool: ...

    def check_room(self, kind: str, client: str | None = None) -> None: ...

    def release(self, ticket: Ticket, duration_s: float | None = None) -> None: ...

    def mean_duration(self, kind: str) -> float: ...

    def running(self, kind: str | None = None) -> int: ...

    def snapshot(self) -> dict[str, Any]: ...


class JobQueue(Protocol):
    """Admitted jobs: recorded and started (here, or by a worker), waited for, cancelled while queued."""

    events: EventBus

    def submit(
        self,
        kind: str,
        params: dict[str, Any],
        ticket: Ticket,
        name: str | None = None,
        webhook_url: str | None = None,
        dedup_key: str | None = None,
        folder: str | None = None,
    ) -> Job: ...

    async def wait(self, job_id: str, timeout: float) -> Job | None: ...

    def cancel_queued(self, job_id: str) -> bool: ...


class SpeechAnswers(Protocol):
    """Speech answered in the request itself (the OpenAI-compatible route)."""

    async def speak(self, request: SpeechRequest) -> bytes: ...

    async def admit_stream(self, request: SpeechRequest) -> AsyncIterator[bytes]: ...


class FrameAnswers(Protocol):
    """One frame of a stored video answered in the request itself (GET extract-frame), admitted as a video job."""

    async def frame(self, video_id: str, source: Path, timestamp: float, fmt: ImageFormat) -> bytes: ...


class TranscriptAnswers(Protocol):
    """Transcriptions answered in the request itself (the OpenAI-compatible routes): the answer's body."""

    async def answer(self, audio: Path, media: DetectedMedia, request: InlineTranscription) -> str: ...
