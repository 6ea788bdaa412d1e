"""What the server is doing: a JSON status for people and tools, and Prometheus metrics."""

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.deps import get_metrics, get_system_stats
from app.services.metrics import Metrics
from app.services.system_stats import SystemStats

router = APIRouter(tags=["system"])


@router.get("/api/v1/system/status")
def system_status(stats: SystemStats = Depends(get_system_stats)) -> dict:
    """CPU (process tree and machine), memory, load, budget, admission per kind, recent jobs, model."""
    return stats.collect()


@router.get("/metrics", response_class=Response)
def metrics(registry: Metrics = Depends(get_metrics)) -> Response:
    """Prometheus text format."""
    return Response(registry.render(), media_type=CONTENT_TYPE_LATEST)
