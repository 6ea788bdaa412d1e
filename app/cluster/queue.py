"""The job queue: Dramatiq's Redis broker, one queue per kind, a message per job carrying its id.

Dramatiq gives at-least-once delivery (a worker's messages stay in its acks set until it acknowledges them) and
crash recovery (a worker whose broker heartbeat stops for WORKER_TIMEOUT_S has its unacknowledged messages put
back on their queues by the next worker that polls). Workers take messages through their own consumers, one
per slot, so that each takes work only when its caps have room (docs/cluster-queue.md says why).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from dramatiq import Message
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker
from dramatiq.errors import BrokerConnectionError

from app.cluster import keys
from app.cluster.redis_errors import UNREACHABLE
from app.config import Settings
from app.errors import ServiceUnavailable
from app.jobs.kinds import JobKind

ACTOR = "run_job"
POLL_MS = 100
"""An idle consumer asks for work at most this often: the latency a queued job may wait for an idle worker."""


def open_broker(settings: Settings) -> RedisBroker:
    """The broker on REDIS_URL; dead workers' messages are looked for on every poll (small clusters)."""
    return RedisBroker(  # type: ignore[no-untyped-call]
        url=settings.redis_url,
        namespace=keys.QUEUE_NAMESPACE,
        middleware=[],
        maintenance_chance=MAINTENANCE_SCALE,
        heartbeat_timeout=int(settings.worker_timeout_s * 1000),
        socket_timeout=10,
        socket_connect_timeout=3,
    )


def enqueue(broker: RedisBroker, kind: str, job_id: str) -> None:
    """Put the job on its kind's queue; ServiceUnavailable when Redis cannot take it."""
    with _unreachable():
        broker.enqueue(Message(queue_name=kind, actor_name=ACTOR, args=(job_id,), kwargs={}, options={}))


def job_id_of(message: "Message[Any] | MessageProxy") -> str:
    return str(message.args[0])


def beat(broker: RedisBroker) -> None:
    """Keep this worker's broker heartbeat fresh (Dramatiq beats only when a consumer polls, and a worker whose
    slots are all busy does not poll), and look for dead workers' messages on every kind's queue."""
    for kind in JobKind:
        broker.do_qsize(kind)


def jobs_with_messages(broker: RedisBroker, kind: str) -> set[str]:
    """The ids of the `kind` jobs that have a message on the queue, waiting or taken by a worker."""
    bodies = broker.client.hvals(f"{keys.QUEUE_NAMESPACE}:{kind}.msgs")
    return {job_id_of(Message.decode(body if isinstance(body, bytes) else str(body).encode())) for body in bodies}


def depth(broker: RedisBroker, kind: str) -> int:
    """Messages waiting on the kind's queue (not yet taken by a worker)."""
    return int(broker.client.llen(f"{keys.QUEUE_NAMESPACE}:{kind}"))


@contextmanager
def _unreachable() -> Iterator[None]:
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError, BrokerConnectionError) as exc:
        raise ServiceUnavailable(UNREACHABLE.format(reason=str(exc).strip()[:200] or type(exc).__name__)) from exc
