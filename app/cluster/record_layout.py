"""How job, file and folder records lie in Redis: their keys, one JSON value per hash field, and the reads and
guarded writes the record classes share.

A record is one hash (`media:job:<id>`, `media:file:<id>`) written in one MULTI/EXEC with its index entries, so no
half-written record is ever visible; a single field can be set without reading the others.
"""

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import redis
from redis.client import Pipeline
from redis.typing import EncodableT, FieldT

KEY_PREFIX = "media:"
JOBS = f"{KEY_PREFIX}jobs"
"""Sorted set: every job id -> created_at."""
UNFINISHED = f"{KEY_PREFIX}jobs:unfinished"
"""Sorted set: the ids of queued and processing jobs -> created_at."""
ENDED = f"{KEY_PREFIX}jobs:ended"
"""Sorted set: the ids of jobs with a finished_at -> finished_at."""
FILES = f"{KEY_PREFIX}files"
"""Sorted set: every file id -> created_at."""
FOLDERS = f"{KEY_PREFIX}folders"
"""Hash: every folder path -> its created_at (JSON)."""


def job_key(job_id: str) -> str:
    """Hash: a job's fields, each JSON-encoded."""
    return f"{KEY_PREFIX}job:{job_id}"


def dedup_index(key: str) -> str:
    """Sorted set: the ids of the jobs made by one identical request -> created_at."""
    return f"{KEY_PREFIX}jobs:dedup:{key}"


def file_key(file_id: str) -> str:
    """Hash: a file record's fields, each JSON-encoded."""
    return f"{KEY_PREFIX}file:{file_id}"


def made_by_key(job_id: str) -> str:
    """Set: the ids of the files a job made (its output and any others, such as a split's segments)."""
    return f"{KEY_PREFIX}files:made-by:{job_id}"


def encode(values: dict[str, Any]) -> dict[FieldT, EncodableT]:
    """One JSON value per field, for HSET."""
    return {name: json.dumps(value) for name, value in values.items()}


def decode(fields: dict[str, str], known: Iterable[str]) -> dict[str, Any]:
    """The known fields of a hash, JSON-decoded (fields of a newer or older release are left out)."""
    names = set(known)
    return {name: json.loads(raw) for name, raw in fields.items() if name in names}


def members(client: redis.Redis, key: str, reverse: bool = False, start: int = 0, stop: int = -1) -> list[str]:
    """Members of a sorted set by rank, lowest score first (or highest with `reverse`)."""
    found = client.zrevrange(key, start, stop) if reverse else client.zrange(key, start, stop)
    return cast(list[str], found)


def scored(client: redis.Redis, key: str, low: str, high: str, reverse: bool = False) -> list[str]:
    """Members of a sorted set with a score between `low` and `high` (Redis syntax: `(5` excludes 5)."""
    found = client.zrevrangebyscore(key, high, low) if reverse else client.zrangebyscore(key, low, high)
    return cast(list[str], found)


def below(score: float) -> str:
    """A ZRANGEBYSCORE bound that excludes `score` itself."""
    return f"({score!r}"


def fetch_hashes(client: redis.Redis, keys: Sequence[str]) -> list[dict[str, str]]:
    """Every hash in one round trip; a key that is gone gives {}."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    return cast(list[dict[str, str]], pipe.execute())


def fetch_fields(client: redis.Redis, keys: Sequence[str], names: list[str]) -> list[list[str | None]]:
    """Some fields of every hash in one round trip (raw JSON, None where missing)."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.hmget(key, names)
    return cast(list[list[str | None]], pipe.execute())


def write_if_present(
    client: redis.Redis, key: str, names: list[str], write: Callable[[Pipeline, dict[str, Any]], None]
) -> bool:
    """Read `names` of the record at `key` and, only while it still exists, queue `write` in one MULTI/EXEC
    (retried when the record changed meanwhile); False when there is no such record."""
    with client.pipeline() as pipe:
        while True:
            try:
                pipe.watch(key)  # type: ignore[no-untyped-call]
                raw = cast(list[str | None], pipe.hmget(key, ["id", *names]))
                if raw[0] is None:
                    return False
                pipe.multi()
                write(pipe, {name: json.loads(value) for name, value in zip(names, raw[1:], strict=True) if value})
                pipe.execute()
                return True
            except redis.WatchError:
                continue
