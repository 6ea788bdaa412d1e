"""Small `Depends` helpers: the long-lived objects that lifespan keeps on `app.state`.

`async` so that FastAPI calls them on the event loop instead of handing each to its thread pool."""

from fastapi import Request

from app.config import Settings
from app.limits import Admission, CpuBudget
from app.services.jobs import JobStore
from app.services.metrics import Metrics
from app.services.runner import JobRunner
from app.services.storage import FileStorage
from app.services.system_stats import SystemStats
from app.services.tts.service import TtsService


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_admission(request: Request) -> Admission:
    return request.app.state.admission


async def get_budget(request: Request) -> CpuBudget:
    return request.app.state.budget


async def get_store(request: Request) -> JobStore:
    return request.app.state.store


async def get_storage(request: Request) -> FileStorage:
    return request.app.state.storage


async def get_runner(request: Request) -> JobRunner:
    return request.app.state.runner


async def get_tts(request: Request) -> TtsService:
    return request.app.state.tts


async def get_system_stats(request: Request) -> SystemStats:
    return request.app.state.system_stats


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics
