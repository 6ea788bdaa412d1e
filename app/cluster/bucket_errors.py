"""A bucket that cannot be used is a 503 with a sentence a person can act on, never a botocore traceback."""

from collections.abc import Iterator
from contextlib import contextmanager

from boto3.exceptions import Boto3Error
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from app.errors import NotFound, ServiceUnavailable, first_line

GONE = "The file is no longer in storage."
MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
KEY_CODES = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidSecurity"}


def error_code(exc: ClientError) -> str:
    """The S3 error code of a response ('NoSuchKey'), or its HTTP status when the answer had no body (HEAD)."""
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(error.get("Code") or status or "")


def _reason(exc: Exception) -> str:
    """Why the bucket could not be used, in a few words."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if code == "NoSuchBucket" or code in MISSING_CODES:
            return "the bucket does not exist; create it or correct S3_BUCKET"
        if code in KEY_CODES:
            return f"it refused the access key ({code}); check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"
        return f"it answered {code or 'an error'}"
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
        return "it did not answer in time"
    if isinstance(exc, EndpointConnectionError):
        return "nothing answers at that address (connection refused or no route); check S3_ENDPOINT_URL"
    if isinstance(exc, NoCredentialsError):
        return "no access key is configured; set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"
    return first_line(exc)[:200] or type(exc).__name__


@contextmanager
def bucket_errors(bucket: str, endpoint: str, objects: bool = True) -> Iterator[None]:
    """Inside the block, a 404 is `NotFound` when the block asks for `objects` (a missing bucket otherwise), and
    a bucket that cannot be used (refused, timed out, 5xx, wrong keys, no such bucket) is `ServiceUnavailable`."""
    try:
        yield
    except ClientError as exc:
        if objects and error_code(exc) in MISSING_CODES:
            raise NotFound(GONE) from exc
        raise unusable(bucket, endpoint, exc) from exc
    except (BotoCoreError, Boto3Error) as exc:
        cause = exc.__cause__ or exc.__context__
        if objects and isinstance(cause, ClientError) and error_code(cause) in MISSING_CODES:
            raise NotFound(GONE) from exc
        raise unusable(bucket, endpoint, cause if isinstance(cause, ClientError) else exc) from exc


def unusable(bucket: str, endpoint: str, exc: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(f"The file storage (bucket '{bucket}' at {endpoint}) cannot be reached: {_reason(exc)}.")
