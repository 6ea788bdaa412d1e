"""Small `Depends` helpers: the long-lived objects that lifespan keeps on `app.state`."""

from fastapi import Request

from app.config import Settings
from app.limits import Admission, CpuBudget
from app.services.jobs import JobStore
from app.services.metrics import Metrics
from app.services.runner import JobRunner
from app.services.storage import FileStorage
from app.services.system_stats import SystemStats
from app.services.tts.service import TtsService


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_admission(request: Request) -> Admission:
    return request.app.state.admission


def get_budget(request: Request) -> CpuBudget:
    return request.app.state.budget


def get_store(request: Request) -> JobStore:
    return request.app.state.store


def get_storage(request: Request) -> FileStorage:
    return request.app.state.storage


def get_runner(request: Request) -> JobRunner:
    return request.app.state.runner


def get_tts(request: Request) -> TtsService:
    return request.app.state.tts


def get_system_stats(request: Request) -> SystemStats:
    return request.app.state.system_stats


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics
