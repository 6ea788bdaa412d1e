"""Typed dependencies: the services of the composition root, one `Annotated` alias each.

`async` so that FastAPI calls them on the event loop instead of handing each to its thread pool."""

from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings
from app.services.files import Files
from app.services.jobs import Jobs
from app.services.metrics import Metrics
from app.services.ports import JobQueue, SpeechAnswers
from app.services.stt.service import SttService
from app.services.system_stats import SystemStats
from app.services.tts.service import TtsService
from app.wiring import Services


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_settings(services: ServicesDep) -> Settings:
    return services.settings


async def get_jobs(services: ServicesDep) -> Jobs:
    return services.jobs


async def get_files(services: ServicesDep) -> Files:
    return services.files


async def get_runner(services: ServicesDep) -> JobQueue:
    return services.runner


async def get_tts(services: ServicesDep) -> TtsService:
    return services.tts


async def get_stt(services: ServicesDep) -> SttService:
    return services.stt


async def get_inline_speech(services: ServicesDep) -> SpeechAnswers:
    return services.inline_speech


async def get_system_stats(services: ServicesDep) -> SystemStats:
    return services.system_stats


async def get_metrics(services: ServicesDep) -> Metrics:
    return services.metrics


SettingsDep = Annotated[Settings, Depends(get_settings)]
JobsDep = Annotated[Jobs, Depends(get_jobs)]
FilesDep = Annotated[Files, Depends(get_files)]
RunnerDep = Annotated[JobQueue, Depends(get_runner)]
TtsDep = Annotated[TtsService, Depends(get_tts)]
SttDep = Annotated[SttService, Depends(get_stt)]
InlineSpeechDep = Annotated[SpeechAnswers, Depends(get_inline_speech)]
SystemStatsDep = Annotated[SystemStats, Depends(get_system_stats)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
