"""The toolbox's routes, built from the table: each takes its form, checks it, then admits and submits a job."""

import asyncio
import inspect
from typing import Annotated

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import Response

from app.admission_gate import admitted_as
from app.deps import ServicesDep
from app.errors import DomainError
from app.routes.responses import JOB_RESPONSES
from app.routes.submission import submit_job
from app.tools.table import Inputs, Tool, ToolForm
from app.wiring import Services


def tool_router(tools: list[Tool]) -> APIRouter:
    """One POST route per tool, at its full path, admitted as its kind."""
    router = APIRouter()
    for tool in tools:
        router.add_api_route(
            tool.path,
            _endpoint(tool),
            methods=["POST"],
            status_code=202,
            response_class=Response,
            responses=JOB_RESPONSES,
            summary=tool.summary,
            tags=[tool.tag],
            name=tool.operation,
        )
    return router


def _inputs(services: Services) -> Inputs:
    return Inputs(services.jobs, services.files, services.ffmpeg, services.settings, services.stt)


def _media_type(form: type[ToolForm]) -> str:
    """multipart/form-data for a form that takes a file (so that the API docs offer an upload), else url-encoded."""
    takes_file = any(field.annotation is UploadFile for field in form.model_fields.values())
    return "multipart/form-data" if takes_file else "application/x-www-form-urlencoded"


async def _submit(request: Request, services: Services, tool: Tool, form: ToolForm) -> Response:
    """Check the form, then submit; what the params kept for the job (an upload in scratch) goes when no new
    job takes it: the request refused (429, or a bad folder or webhook) or an earlier identical job reused."""
    inputs = _inputs(services)
    params = await asyncio.to_thread(form.params, inputs)
    try:
        response = await submit_job(request, services, tool.kind, params, form)
    except DomainError:
        params.abandon(inputs.storage)
        raise
    if response.headers.get("X-Reused") == "true":
        params.abandon(inputs.storage)
    return response


def _endpoint(tool: Tool):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request, form: ToolForm, services: ServicesDep) -> Response:
        return await _submit(request, services, tool, form)

    signature = inspect.signature(endpoint)
    form = Form(media_type=_media_type(tool.form))
    form_parameter = signature.parameters["form"].replace(annotation=Annotated[tool.form, form])
    endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[form_parameter if p.name == "form" else p for p in signature.parameters.values()]
    )
    endpoint.__name__ = tool.operation
    return admitted_as(tool.kind)(endpoint)
