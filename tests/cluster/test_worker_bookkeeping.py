"""The cluster's bookkeeping of a job's end and of lost queue messages, on a real Redis."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from app.cluster import keys, queue
from app.cluster.job_records import RedisJobs
from app.cluster.worker import JobBookkeeping
from app.config import Settings
from app.services.jobs import Job, JobStatus
from tests.support.servers import RedisServer, redis_binary

pytestmark = pytest.mark.skipif(redis_binary() is None, reason="needs redis-server (.ci/run installs it)")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url, decode_responses=True)
    connection.flushdb()
    yield connection
    connection.close()


def settings(redis_url: str, tmp_path: Path) -> Settings:
    return Settings(
        backend="cluster",
        redis_url=redis_url,
        s3_endpoint_url="http://127.0.0.1:9",
        s3_bucket="unused",
        s3_access_key_id="k",
        s3_secret_access_key="s",
        storage_path=tmp_path,
    )


def test_the_attempt_that_claimed_a_jobs_end_may_claim_it_again_but_no_other_worker_can(client: redis.Redis) -> None:
    job = Job(id="a" * 32, kind="tts")
    first, second = JobBookkeeping(client, "worker-1"), JobBookkeeping(client, "worker-2")
    assert first.claim_end(job) and first.claim_end(job)
    assert not second.claim_end(job)


def test_a_claim_whose_end_was_never_recorded_is_dropped_so_the_job_runs_again(client: redis.Redis) -> None:
    bookkeeping = JobBookkeeping(client, "worker-2")
    client.set(keys.ended("b" * 32), "worker-1")  # worker-1 claimed, then Redis went away before the status
    assert not bookkeeping.already_ended("b" * 32) and client.get(keys.ended("b" * 32)) is None
    client.set(keys.ended("c" * 32), keys.CANCELLED_BY_WEB)
    assert bookkeeping.already_ended("c" * 32)


def test_a_queued_job_whose_web_node_died_before_queueing_it_is_queued_again(
    client: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    jobs = RedisJobs(client)
    broker = queue.open_broker(settings(redis_url, tmp_path))
    try:
        lost, queued, gone = Job(id="d" * 32, kind="tts"), Job(id="e" * 32, kind="tts"), "f" * 32
        jobs.create(lost)
        jobs.create(queued)
        queue.enqueue(broker, "tts", queued.id)
        long_ago = int((time.time() - 3600) * 1000)
        client.zadd(keys.active("tts"), {lost.id: long_ago, queued.id: long_ago, gone: long_ago})
        JobBookkeeping(client, "worker-1").give_back_orphans(jobs, broker)
        assert queue.jobs_with_messages(broker, "tts") == {lost.id, queued.id}
        assert queue.depth(broker, "tts") == 2  # the queued one is not queued twice
        assert set(client.zrange(keys.active("tts"), 0, -1)) == {lost.id, queued.id}  # the unknown one gave back
        assert jobs.get(lost.id).status == JobStatus.QUEUED
    finally:
        broker.close()
