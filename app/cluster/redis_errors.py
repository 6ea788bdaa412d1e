"""Redis that cannot be reached is a 503 with a sentence, never a traceback."""

from collections.abc import Iterator
from contextlib import contextmanager

import redis

from app.errors import ServiceUnavailable

UNREACHABLE = "The cluster's Redis cannot be reached ({reason}); nothing was started. Retry shortly."


@contextmanager
def redis_unreachable() -> Iterator[None]:
    """Turn a lost or refused Redis connection inside the block into `ServiceUnavailable`."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ServiceUnavailable(UNREACHABLE.format(reason=reason[:200])) from exc
