"""Files in an S3-compatible bucket (cluster mode) behind `FileStorage`: objects under `files/<filename>`, a
bounded local copy per node for the code that reads files by path, and scratch on the node's own disk."""

import re
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.response import StreamingBody

from app.cluster.bucket_cache import LocalCache
from app.cluster.bucket_errors import GONE, bucket_errors
from app.cluster.disposition import attachment
from app.config import Settings
from app.errors import NotFound
from app.services.storage import MEDIA_TYPES, check_file_id

FILENAME = re.compile(r"^[0-9a-f]{32}\.[A-Za-z0-9]{1,16}$")
CHUNK_BYTES = 64 * 1024
MIB = 1024 * 1024
CLIENT_CONFIG = Config(
    signature_version="s3v4",
    s3={"addressing_style": "path"},
    retries={"max_attempts": 3, "mode": "standard"},
    connect_timeout=3,
    read_timeout=30,
)
TRANSFER = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB, max_concurrency=4)


def _required(value: str | None, name: str) -> str:
    if not value:
        raise ValueError(f"The bucket storage needs {name}.")
    return value


class S3Storage:
    """`FileStorage` on a bucket shared by every node; `path` gives a local copy, downloaded on a miss."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bucket = _required(settings.s3_bucket, "S3_BUCKET")
        self.endpoint = _required(settings.s3_endpoint_url, "S3_ENDPOINT_URL")
        root = settings.storage_path.resolve()
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.cache = LocalCache(root / "cache", settings.s3_cache_max_mb * MIB)
        self._client = boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
            region_name=settings.s3_region,
            config=CLIENT_CONFIG,
        )

    def work_dir(self, file_id: str) -> Path:
        directory = self.tmp / check_file_id(file_id)
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def scratch_root(self) -> Path:
        return self.tmp

    def discard_work(self, file_id: str) -> None:
        shutil.rmtree(self.tmp / check_file_id(file_id), ignore_errors=True)

    def clear_scratch(self) -> None:
        """Scratch left by a previous process is never a finished file: remove it."""
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def commit(self, file_id: str, produced: Path, ext: str) -> str:
        """Upload (multipart when big: visible only once complete), keep the file as this node's cached copy."""
        filename = f"{check_file_id(file_id)}.{ext}"
        content_type = MEDIA_TYPES.get(ext, "application/octet-stream")
        with self._errors():
            self._client.upload_file(
                str(produced), self.bucket, _key(filename), ExtraArgs={"ContentType": content_type}, Config=TRANSFER
            )
        self.cache.adopt(filename, produced)
        self.discard_work(file_id)
        return filename

    def path(self, filename: str) -> Path:
        """A local copy of a stored file (fetched on a miss); NotFound when the bucket no longer has it (then a
        copy this node still had is dropped: another node deleted the file)."""
        try:
            size = self.head(_checked(filename))[0]
        except NotFound:
            if FILENAME.match(filename):
                self.cache.remove(filename)
            raise
        cached = self.cache.hit(filename, size)
        if cached is not None:
            return cached
        with self._errors():
            return self.cache.fill(
                filename, lambda into: self._client.download_file(self.bucket, _key(filename), str(into))
            )

    def size(self, filename: str) -> int:
        """Bytes of a stored file, 0 when it is gone."""
        try:
            return self.head(filename)[0]
        except NotFound:
            return 0

    def delete(self, file_id: str, filename: str | None) -> None:
        self.discard_work(file_id)
        if filename and FILENAME.match(filename):
            with self._errors(objects=False):
                self._client.delete_object(Bucket=self.bucket, Key=_key(filename))
            self.cache.remove(filename)

    def check(self) -> None:
        """ServiceUnavailable, with the reason, when the bucket cannot be used (for /health)."""
        with self._errors(objects=False):
            self._client.head_bucket(Bucket=self.bucket)

    def head(self, filename: str) -> tuple[int, str, datetime]:
        """(bytes, ETag as sent by the bucket, quotes included, last modified) of a stored file."""
        with self._errors():
            answer = self._client.head_object(Bucket=self.bucket, Key=_key(_checked(filename)))
        return answer["ContentLength"], answer["ETag"], answer["LastModified"]

    def open_range(self, filename: str, start: int, end: int) -> Iterator[bytes]:
        """The bytes `start` to `end` (both included, as in an HTTP Range) in chunks; the request is made now,
        so a missing file is NotFound here, and the chunks are read (blocking) as they are iterated."""
        with self._errors():
            answer = self._client.get_object(
                Bucket=self.bucket, Key=_key(_checked(filename)), Range=f"bytes={start}-{end}"
            )
        return self._chunks(answer["Body"])

    def presigned_url(self, filename: str, download_name: str, media_type: str, expires_s: int = 3600) -> str:
        """A URL that GETs the object straight from the bucket, downloaded as `download_name`."""
        params = {
            "Bucket": self.bucket,
            "Key": _key(_checked(filename)),
            "ResponseContentDisposition": attachment(download_name),
            "ResponseContentType": media_type,
        }
        return self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)

    def _chunks(self, body: StreamingBody) -> Iterator[bytes]:
        try:
            with self._errors():
                yield from body.iter_chunks(CHUNK_BYTES)
        finally:
            body.close()

    def _errors(self, objects: bool = True) -> AbstractContextManager[None]:
        return bucket_errors(self.bucket, self.endpoint, objects)


def _checked(filename: str) -> str:
    """Stored names are `<32 hex>.<ext>`; anything else (paths, `..`, encodings) is simply not found."""
    if not FILENAME.match(filename):
        raise NotFound(GONE)
    return filename


def _key(filename: str) -> str:
    return f"files/{filename}"
