"""The root of a web node in cluster mode: the same `Services` as one machine, on Redis and the bucket."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress

import redis

from app.cluster.admission import ClusterAdmission
from app.cluster.catalog import CatalogTts, refresh_tts
from app.cluster.events import EventRelay
from app.cluster.stores import open_cluster_stores
from app.cluster.transcripts import ClusterTranscripts
from app.cluster.web import ClusterFrames, ClusterRunner, ClusterSpeech
from app.config import Settings
from app.services.metrics import Metrics
from app.services.stt.service import SttService
from app.services.system_stats import SystemStats
from app.services.tts.service import TtsService
from app.wiring import Services, cpu_budget, heavy_work, local_admission, settings_ffmpeg

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
        budget = cpu_budget(settings, announce=False)
        stores = open_cluster_stores(stack, settings, connect_timeout_s=3)
        client = stores.client
        admission = ClusterAdmission(client, settings)
        heavy = heavy_work(stack, settings, local_admission(settings), budget)
        tts = CatalogTts(settings, client)
        with suppress(redis.RedisError):
            refresh_tts(tts, client)
        runner = ClusterRunner(stores.jobs, stores.files, admission, stores.broker, client)
        relay = EventRelay(str(settings.redis_url), runner.events)
        runner.relay = relay
        background = [asyncio.create_task(relay.run()), asyncio.create_task(_refresh_forever(tts, client))]
        for task in background:
            stack.callback(task.cancel)
        system_stats = SystemStats(budget, admission, tts, settings, None)
        yield Services(
            settings=settings,
            budget=budget,
            admission=admission,
            heavy=heavy,
            jobs=stores.jobs,
            files=stores.files,
            ffmpeg=settings_ffmpeg(settings),
            engine=None,
            tts=tts,
            runner=runner,
            inline_speech=ClusterSpeech(admission, runner, settings.job_timeout_s.get("tts", 1800.0)),
            system_stats=system_stats,
            metrics=Metrics(admission, system_stats),
            stt=SttService.from_settings(settings, budget),  # for its checks (model, languages); it never runs here
            frames=ClusterFrames(runner, admission, settings.job_timeout_s.get("video", 3600.0)),
            inline_transcripts=ClusterTranscripts(admission, runner, settings.job_timeout_s.get("stt", 1800.0)),
        )
