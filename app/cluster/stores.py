"""What both cluster roots (web node and worker) open first: Redis, the queue's broker, the bucket, and the
job and file records on them, each closed with the caller's stack."""

from contextlib import AsyncExitStack
from dataclasses import dataclass

import redis
from dramatiq.brokers.redis import RedisBroker

from app.cluster import queue
from app.cluster.bucket import S3Storage
from app.cluster.job_records import RedisJobs
from app.cluster.records import redis_records
from app.config import Settings
from app.services.files import Files


@dataclass(frozen=True)
class ClusterStores:
    client: redis.Redis
    broker: RedisBroker
    storage: S3Storage
    jobs: RedisJobs
    files: Files


def open_cluster_stores(
    stack: AsyncExitStack, settings: Settings, connect_timeout_s: float | None = None
) -> ClusterStores:
    """Redis (answers decoded), the broker and the bucket (its local scratch cleared), and the records on them."""
    client = redis.Redis.from_url(
        str(settings.redis_url), decode_responses=True, socket_connect_timeout=connect_timeout_s
    )
    stack.callback(client.close)
    broker = queue.open_broker(settings)
    stack.callback(broker.close)
    storage = S3Storage(settings)
    storage.clear_scratch()
    jobs, files = redis_records(client, storage)
    return ClusterStores(client, broker, storage, jobs, files)
