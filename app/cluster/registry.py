"""The live workers: each heartbeats its caps and load into Redis; one silent for WORKER_TIMEOUT_S is gone."""

import json
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from app.cluster import keys
from app.cluster.redis_errors import redis_unreachable


@dataclass(frozen=True)
class WorkerInfo:
    id: str
    heavy: int
    caps: dict[str, int]
    running: dict[str, int] = field(default_factory=dict)
    host: str = ""
    pid: int = 0
    threads: int = 0
    started_at: float = 0.0
    heartbeat_at: float = 0.0

    def describe(self) -> dict[str, Any]:
        """As /api/v1/system/status and the monitor show it."""
        return {
            "id": self.id,
            "host": self.host,
            "pid": self.pid,
            "caps": dict(self.caps),
            "heavy_cap": self.heavy,
            "threads": self.threads,
            "running": dict(self.running),
            "load": round(sum(self.running.values()) / self.heavy, 3) if self.heavy else 0.0,
            "started_at": self.started_at,
            "last_heartbeat_at": self.heartbeat_at,
            "last_heartbeat_s_ago": round(max(0.0, time.time() - self.heartbeat_at), 3),
        }


def _parse(worker_id: str, values: dict[str, str]) -> WorkerInfo | None:
    if "caps" not in values:
        return None
    caps = json.loads(values["caps"])
    return WorkerInfo(
        id=worker_id,
        heavy=int(caps["heavy"]),
        caps={kind: int(cap) for kind, cap in caps["kinds"].items()},
        running={kind: int(n) for kind, n in json.loads(values.get("running", "{}")).items()},
        host=values.get("host", ""),
        pid=int(values.get("pid", 0)),
        threads=int(values.get("threads", 0)),
        started_at=float(values.get("started_at", 0)),
        heartbeat_at=float(values.get("heartbeat_at", 0)),
    )


def live_workers(client: redis.Redis, timeout_ms: int) -> list[WorkerInfo]:
    """The workers heard from within the timeout, oldest first."""
    with redis_unreachable():
        since = int(time.time() * 1000) - timeout_ms
        ids: list[str] = list(client.zrangebyscore(keys.WORKERS, since, "+inf"))  # type: ignore[arg-type]
        pipe = client.pipeline(transaction=False)
        for worker_id in ids:
            pipe.hgetall(keys.worker(worker_id))
        found = pipe.execute()
    workers = [_parse(worker_id, values) for worker_id, values in zip(ids, found, strict=True)]
    return [worker for worker in workers if worker is not None]


class Heartbeat:
    """A worker's entry in the registry: its caps once, its load and the time on every beat."""

    def __init__(
        self, client: redis.Redis, worker_id: str, caps: dict[str, int], heavy: int, threads: int, ttl_s: float
    ) -> None:
        self._redis = client
        self.worker_id = worker_id
        self._fixed = {
            "caps": json.dumps({"kinds": caps, "heavy": heavy}),
            "host": socket.gethostname(),
            "pid": str(os.getpid()),
            "threads": str(threads),
            "started_at": str(time.time()),
        }
        self._ttl_s = max(1, int(ttl_s * 3))

    def beat(self, running: dict[str, int]) -> None:
        now = time.time()
        key = keys.worker(self.worker_id)
        pipe = self._redis.pipeline(transaction=True)
        values = {**self._fixed, "running": json.dumps(running), "heartbeat_at": str(now)}
        pipe.hset(key, mapping=values)  # type: ignore[arg-type]
        pipe.expire(key, self._ttl_s)
        pipe.zadd(keys.WORKERS, {self.worker_id: int(now * 1000)})
        pipe.execute()

    def leave(self) -> None:
        """A worker that stops cleanly takes its capacity away at once."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.zrem(keys.WORKERS, self.worker_id)
        pipe.delete(keys.worker(self.worker_id))
        pipe.execute()
