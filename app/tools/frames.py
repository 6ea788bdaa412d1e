"""One frame of a video answered in the request itself, on this machine: admitted as a video job, grabbed by
ffmpeg in a heavy thread through a scratch file. (In cluster mode a worker grabs it: `app.cluster.web`.)"""

import tempfile
from pathlib import Path

from app.services.ffmpeg import Ffmpeg, ImageFormat
from app.services.heavy import HeavyWork
from app.services.storage import FileStorage
from app.tools.video import grab_frame


class LocalFrames:
    def __init__(self, heavy: HeavyWork, ffmpeg: Ffmpeg, storage: FileStorage) -> None:
        self._heavy = heavy
        self._ffmpeg = ffmpeg
        self._storage = storage

    async def frame(self, video_id: str, source: Path, timestamp: float, fmt: ImageFormat) -> bytes:
        """The frame at `timestamp` of the stored video `video_id` (on disk at `source`) as image bytes."""
        return await self._heavy.run(self._heavy.admit("video"), self._grab, source, timestamp, fmt)

    def _grab(self, source: Path, timestamp: float, fmt: ImageFormat) -> bytes:
        with tempfile.TemporaryDirectory(dir=self._storage.scratch_root()) as work:
            out = Path(work) / f"frame.{fmt}"
            grab_frame(self._ffmpeg, source, timestamp, fmt, out, self._heavy.threads())
            return out.read_bytes()
