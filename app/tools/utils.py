"""Utilities: stitch stored images into one (kind `video`), and turn an uploaded raw PCM stream into a WAV (kind
`audio`: the PCM comes in the request, is kept in a scratch folder until its job runs, and never becomes a stored
file of its own)."""

import hashlib
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fastapi import File, UploadFile
from pydantic import Field

from app.errors import InvalidInput, PayloadTooLarge
from app.services.files import StoredFile
from app.services.folders import check_folder
from app.services.runner import JobOutput
from app.services.storage import FileStorage, new_file_id
from app.services.uploads import MAX_IMAGE_PIXELS, copy_with_cap, file_chunks
from app.services.webhooks import check_webhook_url
from app.tools.audio import id_list
from app.tools.table import Inputs, Invocation, Tool, ToolForm, ToolParams, ToolRun

PREFIX = "/api/v1/utils"
TAG = "utils"
MAX_IMAGES = 50
MAX_SIDE = 65_000
"""JPEG's limit on a side is 65,535 pixels."""
Direction = Literal["horizontal", "vertical", "grid"]
StitchFormat = Literal["png", "jpg"]
IMAGE_ARGS: dict[str, list[str]] = {
    "png": ["-c:v", "png", "-f", "image2"],
    "jpg": ["-c:v", "mjpeg", "-q:v", "2", "-pix_fmt", "yuvj444p", "-f", "image2"],
}
COLOR_NAMES = {"white", "black", "gray", "grey", "silver", "red", "green", "blue", "yellow", "orange", "transparent"}
HEX_COLOR = re.compile(r"^(#|0x)?([0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})$")
SampleFormat = Literal["s16le", "f32le"]
SAMPLE_BYTES = {"s16le": 2, "f32le": 4}
WAV_CODECS = {"s16le": "pcm_s16le", "f32le": "pcm_f32le"}
PCM_NAME = "input.pcm"


@dataclass(frozen=True)
class Layout:
    """Where each image's cell goes (x, y, width, height) and the whole picture's size."""

    cells: list[tuple[int, int, int, int]]
    width: int
    height: int

    @classmethod
    def of(cls, sizes: list[tuple[int, int]], direction: Direction, columns: int, gap: int) -> "Layout":
        """Side by side (cells as tall as the tallest), one above the other (as wide as the widest), or a grid of
        equal cells as large as the largest; each image centred in its cell, `gap` pixels between cells."""
        widest, tallest = max(w for w, _ in sizes), max(h for _, h in sizes)
        cells: list[tuple[int, int, int, int]] = []
        offset = 0
        for index, (width, height) in enumerate(sizes):
            if direction == "horizontal":
                cells.append((offset, 0, width, tallest))
                offset += width + gap
            elif direction == "vertical":
                cells.append((0, offset, widest, height))
                offset += height + gap
            else:
                row, column = divmod(index, columns)
                cells.append((column * (widest + gap), row * (tallest + gap), widest, tallest))
        return cls(cells, max(x + w for x, _, w, _ in cells), max(y + h for _, y, _, h in cells))


def image_size(inputs: Inputs, stored: StoredFile) -> tuple[int, int]:
    """Width and height as measured when the image was stored (uploads and tool outputs record them), else probed."""
    width, height = stored.facts.get("width"), stored.facts.get("height")
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        return width, height
    media = inputs.probe(stored)
    return media.width, media.height


def ffmpeg_color(value: str) -> str:
    """#RRGGBB[AA] as ffmpeg's 0xRRGGBB[AA]; names as they are."""
    return value if value.lower() in COLOR_NAMES else "0x" + value.removeprefix("#").removeprefix("0x")


class StitchParams(ToolParams):
    operation: Literal["stitch_images"] = "stitch_images"
    image_ids: list[str]
    sizes: list[tuple[int, int]]
    direction: Direction
    columns: int
    gap: int
    background: str
    format: StitchFormat

    def invocation(self, run: ToolRun) -> Invocation:
        layout = Layout.of(self.sizes, self.direction, self.columns, self.gap)
        color = ffmpeg_color(self.background)
        sources = [arg for file_id in self.image_ids for arg in ("-i", str(run.input(file_id)))]
        cells = [
            f"[{i}:v:0]format=rgba,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color={color}[c{i}]"
            for i, (_, _, w, h) in enumerate(layout.cells)
        ]
        positions = "|".join(f"{x}_{y}" for x, y, _, _ in layout.cells)
        stack = "".join(f"[c{i}]" for i in range(len(cells)))
        stack += f"xstack=inputs={len(cells)}:layout={positions}:fill={color}[out]"
        graph = ";".join([*cells, stack])
        args = [*sources, "-filter_complex", graph, "-map", "[out]", "-frames:v", "1", "-update", "1"]
        facts = {"source_ids": self.image_ids, "direction": self.direction}
        return Invocation([*args, *IMAGE_ARGS[self.format]], self.format, None, facts)


class StitchForm(ToolForm):
    image_ids: str = Field(description="Comma-separated ids of 2 to 50 stored images, in order.")
    direction: Direction = Field("horizontal", description="horizontal, vertical, or grid (row by row).")
    columns: int | None = Field(None, ge=1, le=MAX_IMAGES, description="Grid only; default: about a square.")
    gap: int = Field(0, ge=0, le=1000, description="Pixels between images.")
    background: str = Field("white", description="Gaps and margins: #RRGGBB, #RRGGBBAA or a colour name.")
    format: StitchFormat = "png"

    def params(self, inputs: Inputs) -> StitchParams:
        background = self.background.strip()
        if background.lower() not in COLOR_NAMES and not HEX_COLOR.match(background):
            names = ", ".join(sorted(COLOR_NAMES))
            raise InvalidInput(f"Field 'background': '{background[:32]}' is not #RRGGBB, #RRGGBBAA or one of {names}.")
        ids = id_list(self.image_ids, "image_ids", 2, MAX_IMAGES)
        columns = self._columns(len(ids))
        stored = [inputs.ready(file_id, "image_ids", ("image",)) for file_id in ids]
        sizes = [image_size(inputs, one) for one in stored]
        layout = Layout.of(sizes, self.direction, columns, self.gap)
        if layout.width * layout.height > MAX_IMAGE_PIXELS or max(layout.width, layout.height) > MAX_SIDE:
            raise InvalidInput(
                f"Field 'image_ids': stitched they would make a {layout.width}x{layout.height} image; at most "
                f"{MAX_IMAGE_PIXELS:,} pixels and {MAX_SIDE:,} a side."
            )
        return StitchParams(
            image_ids=[one.id for one in stored],
            sizes=sizes,
            direction=self.direction,
            columns=columns,
            gap=self.gap,
            background=background,
            format=self.format,
        )

    def _columns(self, count: int) -> int:
        if self.direction != "grid":
            if self.columns is not None:
                raise InvalidInput("Field 'columns' is only used with direction=grid.")
            return count
        if self.columns is not None and self.columns > count:
            raise InvalidInput(f"Field 'columns': {self.columns} columns for {count} images; at most {count}.")
        return self.columns or math.ceil(math.sqrt(count))


class PcmParams(ToolParams):
    operation: Literal["pcm_to_wav"] = "pcm_to_wav"
    scratch_id: str = Field(description="The scratch folder the route stored the PCM in.")
    sample_rate: int
    channels: int
    sample_format: SampleFormat
    size: int
    sha256: str

    def execute(self, run: ToolRun) -> JobOutput:
        """The WAV, then the scratch folder goes, whatever happened."""
        try:
            return super().execute(run)
        finally:
            run.storage.discard_work(self.scratch_id)

    def abandon(self, storage: FileStorage) -> None:
        storage.discard_work(self.scratch_id)

    def invocation(self, run: ToolRun) -> Invocation:
        source = run.storage.work_dir(self.scratch_id) / PCM_NAME
        if not source.is_file():
            raise InvalidInput("The uploaded PCM is no longer available (the server restarted); send it again.")
        raw = ["-f", self.sample_format, "-ar", str(self.sample_rate), "-ac", str(self.channels), "-i", str(source)]
        args = [*raw, "-c:a", WAV_CODECS[self.sample_format], "-map_metadata", "-1", "-f", "wav"]
        duration = self.size / (SAMPLE_BYTES[self.sample_format] * self.channels * self.sample_rate)
        facts = {"source": "pcm", "sample_format": self.sample_format, "pcm_bytes": self.size, "sha256": self.sha256}
        return Invocation(args, "wav", duration, facts)


class PcmForm(ToolForm):
    file: UploadFile = File(description="Raw PCM, interleaved, no header (what realtime speech APIs return).")
    sample_rate: int = Field(24000, ge=8000, le=192000, description="Hz.")
    channels: int = Field(1, ge=1, le=8)
    sample_format: SampleFormat = Field("s16le", description="s16le: 16-bit integers; f32le: 32-bit floats.")

    def params(self, inputs: Inputs) -> PcmParams:
        """Check everything the submission would, then keep the PCM in a scratch folder until its job runs."""
        check_webhook_url(self.webhook_url, inputs.settings.allow_private_urls)
        check_folder(self.folder, "folder")
        cap = inputs.settings.max_upload_mb * 1024 * 1024
        if self.file.size is not None and self.file.size > cap:
            raise _too_large(cap)
        scratch_id = new_file_id()
        target = inputs.storage.work_dir(scratch_id) / PCM_NAME
        try:
            size, digest = self._store(target, cap)
        except BaseException:
            inputs.storage.discard_work(scratch_id)
            raise
        return PcmParams(
            scratch_id=scratch_id,
            sample_rate=self.sample_rate,
            channels=self.channels,
            sample_format=self.sample_format,
            size=size,
            sha256=digest,
        )

    def _store(self, target: Path, cap: int) -> tuple[int, str]:
        """Copy the upload (at most `cap` bytes) to `target`; its size and sha256, checked to be whole frames."""
        digest = hashlib.sha256()
        try:
            size = copy_with_cap(_hashed(file_chunks(self.file.file), digest), target, cap)
        except PayloadTooLarge as exc:
            raise _too_large(cap) from exc
        frame = SAMPLE_BYTES[self.sample_format] * self.channels
        if size == 0:
            raise InvalidInput("Field 'file' is empty.")
        if size % frame:
            raise InvalidInput(
                f"Field 'file': {size} bytes is not a whole number of {self.sample_format} frames of "
                f"{self.channels} channel(s) ({frame} bytes each)."
            )
        return size, digest.hexdigest()


def _hashed(chunks: Iterable[bytes], digest: "hashlib._Hash") -> Iterator[bytes]:
    for chunk in chunks:
        digest.update(chunk)
        yield chunk


def _too_large(cap: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"Field 'file' is larger than the upload limit of {cap // (1024 * 1024)} MB (MAX_UPLOAD_MB)."
    )


TOOLS = [
    Tool(f"{PREFIX}/stitch-images", "video", StitchForm, StitchParams, "Stitch images into one", TAG),
    Tool(f"{PREFIX}/convert/pcm/wav", "audio", PcmForm, PcmParams, "Raw PCM (uploaded) to WAV", TAG),
]
