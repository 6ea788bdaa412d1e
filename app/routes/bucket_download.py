"""Downloads in cluster mode: a stored file answered from the bucket, streamed (one byte range when asked) or
redirected to a presigned bucket URL, with the headers a FileResponse gives on a local file."""

import re
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from datetime import datetime
from email.utils import formatdate
from typing import Protocol, runtime_checkable

from starlette.background import BackgroundTask
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from app.cluster.disposition import attachment
from app.config import Settings

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


@runtime_checkable
class BucketFiles(Protocol):
    """What a download needs of the bucket storage (`app.cluster.bucket.S3Storage`), without importing boto3."""

    settings: Settings

    def head(self, filename: str) -> tuple[int, str, datetime]: ...

    def open_range(self, filename: str, start: int, end: int) -> Iterator[bytes]: ...

    def presigned_url(self, filename: str, download_name: str, media_type: str, expires_s: int = 3600) -> str: ...


class Unsatisfiable(Exception):
    """The range starts past the end of the file."""


def requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range (first, last, both included) a Range header asks for; None to send the whole file (no
    header, another unit, several ranges, or a malformed one: HTTP lets a server ignore those). Unsatisfiable
    when it starts past the end."""
    found = _RANGE.match(header or "")
    if found is None or found.group(1) == found.group(2) == "":
        return None
    first, last = found.group(1), found.group(2)
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable()
        return max(size - suffix, 0), size - 1
    if last != "" and int(last) < int(first):
        return None
    if int(first) >= size:
        raise Unsatisfiable()
    return int(first), min(int(last), size - 1) if last else size - 1


class BucketFileResponse(Response):
    """A stored file answered from the bucket when it is sent: GET streams it, HEAD gives its headers only, and
    with S3_PRESIGNED_DOWNLOADS a GET is redirected (307) to a presigned bucket URL. A file gone from the bucket
    is NotFound and a bucket that cannot be reached ServiceUnavailable, raised before anything is sent."""

    def __init__(
        self,
        bucket: BucketFiles,
        filename: str,
        media_type: str,
        download_name: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.bucket = bucket
        self.filename = filename
        self.download_name = download_name
        self.extra_headers = dict(headers or {})
        self.status_code = 200
        self.media_type = media_type
        self.background: BackgroundTask | None = None
        self.init_headers(headers)
        self.headers.setdefault("accept-ranges", "bytes")
        self.headers.setdefault("content-disposition", attachment(download_name))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._answer(scope)
        await response(scope, receive, send)
        if self.background is not None:
            await self.background()

    async def _answer(self, scope: Scope) -> Response:
        head_only = scope["method"].upper() == "HEAD"
        if not head_only and self.bucket.settings.s3_presigned_downloads:
            url = self.bucket.presigned_url(self.filename, self.download_name, self.media_type or "")
            return RedirectResponse(url, status_code=307, headers=self.extra_headers)
        size, etag, modified = await run_in_threadpool(self.bucket.head, self.filename)
        headers = MutableHeaders(raw=list(self.raw_headers))
        headers.setdefault("etag", etag)
        headers.setdefault("last-modified", formatdate(modified.timestamp(), usegmt=True))
        try:
            wanted = self._wanted(Headers(scope=scope), size, headers)
        except Unsatisfiable:
            return Response(status_code=416, headers={**self.extra_headers, "content-range": f"bytes */{size}"})
        first, last = wanted or (0, size - 1)
        headers["content-length"] = str(last - first + 1)
        if wanted:
            headers["content-range"] = f"bytes {first}-{last}/{size}"
        status = 206 if wanted else 200
        if head_only or size == 0:
            return Response(status_code=status, headers=headers)
        chunks = await run_in_threadpool(self.bucket.open_range, self.filename, first, last)
        return StreamingResponse(_stream(chunks), status_code=status, headers=headers)

    @staticmethod
    def _wanted(request: Headers, size: int, answer: MutableHeaders) -> tuple[int, int] | None:
        """The range to send; an If-Range that names another version of the file asks for all of it."""
        if_range = request.get("if-range")
        if if_range is not None and if_range not in (answer["etag"], answer["last-modified"]):
            return None
        return requested_range(request.get("range"), size)


async def _stream(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """The chunks, each read in a worker thread; the bucket's answer is closed however the response ends."""
    try:
        async for chunk in iterate_in_threadpool(chunks):
            yield chunk
    finally:
        if isinstance(chunks, Generator):
            chunks.close()
