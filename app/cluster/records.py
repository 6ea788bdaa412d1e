"""Job, file and folder records in Redis for the cluster mode, behind the same interfaces as SQLite's: the
composition root calls `redis_records`. A lost Redis connection is raised as is (`redis.ConnectionError`)."""

import redis

from app.cluster.file_records import RedisFileRecords
from app.cluster.folder_records import RedisFolders
from app.cluster.job_records import RedisJobs
from app.cluster.record_layout import KEY_PREFIX
from app.services.files import Files
from app.services.storage import FileStorage

__all__ = ["KEY_PREFIX", "RedisFileRecords", "RedisFolders", "RedisJobs", "redis_records"]


def redis_records(client: redis.Redis, storage: FileStorage) -> tuple[RedisJobs, Files]:
    """The jobs and files of the cluster on `client` (made with `decode_responses=True`); bytes in `storage`."""
    return RedisJobs(client), Files(RedisFileRecords(client), storage)
