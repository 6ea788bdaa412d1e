"""What the server is doing: a JSON status for people and tools, and Prometheus metrics."""

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.deps import MetricsDep, SystemStatsDep
from app.routes.models import SystemStatus

router = APIRouter(tags=["system"])


@router.get("/api/v1/system/status", response_model=SystemStatus)
def system_status(stats: SystemStatsDep) -> SystemStatus:
    """CPU (process tree and machine), memory, load, budget, admission per kind, recent jobs, model."""
    return SystemStatus.model_validate(stats.collect())


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(registry: MetricsDep) -> Response:
    """Prometheus text format."""
    return Response(registry.render(), media_type=CONTENT_TYPE_LATEST)
