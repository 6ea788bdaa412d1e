"""The composition root of a web node in cluster mode: the same `Services` as one machine, on Redis and the bucket."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress

import redis

from app.cluster import queue
from app.cluster.admission import ClusterAdmission
from app.cluster.bucket import S3Storage
from app.cluster.catalog import CatalogTts, refresh_tts
from app.cluster.events import EventRelay
from app.cluster.records import redis_records
from app.cluster.transcripts import ClusterTranscripts
from app.cluster.web import ClusterRunner, ClusterSpeech
from app.composition import Services
from app.config import Settings
from app.limits import Admission, CpuBudget
from app.services.ffmpeg import Ffmpeg
from app.services.heavy import HeavyWork
from app.services.metrics import Metrics
from app.services.stt.service import SttService
from app.services.system_stats import SystemStats
from app.services.tts.service import TtsService

log = logging.getLogger("app.cluster")
CATALOG_REFRESH_S = 0.5


async def _refresh_forever(tts: TtsService, client: redis.Redis) -> None:
    """Follow what the workers' engine offers (a worker may start after this node, or with other voices)."""
    while True:
        try:
            await asyncio.to_thread(refresh_tts, tts, client)
        except redis.RedisError as exc:
            log.debug("speech catalog not read: %s", exc)
        await asyncio.sleep(CATALOG_REFRESH_S)


@asynccontextmanager
async def open_cluster_services(settings: Settings) -> AsyncIterator[Services]:
    """A stateless web node: nothing here outlives a restart; Redis and the bucket hold everything."""
    async with AsyncExitStack() as stack:
        log.info("cluster mode: jobs on Redis, files in bucket %r; this web node runs no job", settings.s3_bucket)
        budget = CpuBudget.from_limits(settings.max_cpu_threads, settings.cpu_usage_limit, settings.heavy_nice)
        client = redis.Redis.from_url(str(settings.redis_url), decode_responses=True, socket_connect_timeout=3)
        stack.callback(client.close)
        broker = queue.open_broker(settings)
        stack.callback(broker.close)
        storage = S3Storage(settings)
        storage.clear_scratch()
        jobs, files = redis_records(client, storage)
        admission = ClusterAdmission(client, settings)
        local = Admission(settings.kind_caps(), settings.max_concurrent_heavy_tasks, settings.max_queued_jobs)
        heavy = HeavyWork(local, budget, settings.max_concurrent_heavy_tasks, settings.job_timeout_s)
        stack.push_async_callback(heavy.shutdown)
        tts = CatalogTts(settings, client)
        with suppress(redis.RedisError):
            refresh_tts(tts, client)
        runner = ClusterRunner(jobs, files, admission, broker, client)
        relay = EventRelay(str(settings.redis_url), runner.events)
        runner.relay = relay
        background = [asyncio.create_task(relay.run()), asyncio.create_task(_refresh_forever(tts, client))]
        for task in background:
            stack.callback(task.cancel)
        stt = SttService.from_settings(settings, budget)  # for its checks (model, languages); it never runs here
        system_stats = SystemStats(budget, admission, tts, settings, None)
        metrics = Metrics(admission, system_stats)
        speech = ClusterSpeech(admission, runner, settings.job_timeout_s.get("tts", 1800.0))
        ffmpeg = Ffmpeg.locate(settings.ffmpeg_binary)
        yield Services(
            settings,
            budget,
            admission,
            heavy,
            jobs,
            files,
            ffmpeg,
            None,
            tts,
            runner,
            speech,
            system_stats,
            metrics,
            stt,
            ClusterTranscripts(admission, runner, settings.job_timeout_s.get("stt", 1800.0)),
        )
