"""A job tool's call: the route run in-process with the caller's key, then a wait of MCP_WAIT_S for its job."""

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import httpx
import mcp_types as types
from fastapi import FastAPI
from starlette.requests import Request

from app.agent_tools.answers import job_answer, refusal, text_result
from app.agent_tools.catalog import JobTool
from app.errors import DomainError
from app.services.storage import new_file_id
from app.services.uploads import download_url
from app.wiring import Services

KEY_HEADERS = ("authorization", "x-api-key")
STORAGE = "/api/v1/media/storage"
Upload = tuple[str, BinaryIO]


class BadArgument(Exception):
    """A tool argument the route never saw: unknown, of the wrong shape, or a URL that could not be fetched."""


@dataclass(frozen=True)
class Caller:
    """The MCP request's app, base URL, API key headers and address: what an in-process route call reuses."""

    app: FastAPI
    base_url: str
    headers: dict[str, str]
    address: tuple[str, int]

    @classmethod
    def of(cls, app: FastAPI, request: Request) -> "Caller":
        headers = {name: value for name, value in request.headers.items() if name.lower() in KEY_HEADERS}
        address = (request.client.host, request.client.port) if request.client else ("127.0.0.1", 0)
        return cls(app, str(request.base_url).rstrip("/"), headers, address)

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False, client=self.address)
        return httpx.AsyncClient(transport=transport, base_url=self.base_url, headers=self.headers, timeout=None)


def form_value(value: Any) -> str:
    """A JSON argument as the form sends it: true/false, numbers as written, a list as a comma list."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(form_value(item) for item in value)
    return str(value)


def split_arguments(tool: JobTool, arguments: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The form's fields, and the upload fields to fetch from URLs; `BadArgument` for one the tool lacks."""
    known = tool.input_schema["properties"]
    fields: dict[str, str] = {}
    urls: dict[str, str] = {}
    for name, value in arguments.items():
        if name not in known:
            raise BadArgument(f"Field '{name}' is not an input of {tool.name}; it takes: {', '.join(known)}.")
        if value is None:
            continue
        if name in tool.file_fields:
            if not isinstance(value, str):
                raise BadArgument(f"Field '{name}' must be an http(s) URL.")
            urls[tool.file_fields[name]] = value
        elif isinstance(value, dict):
            raise BadArgument(f"Field '{name}' must be a single value, not an object.")
        else:
            fields[name] = form_value(value)
    return fields, urls


@asynccontextmanager
async def fetched_files(services: Services, urls: dict[str, str]) -> AsyncIterator[dict[str, Upload]]:
    """Each upload field's URL fetched into a scratch folder (size cap and URL policy of the upload route)."""
    if not urls:
        yield {}
        return
    scratch_id = new_file_id()
    work = await asyncio.to_thread(services.files.storage.work_dir, scratch_id)
    cap = services.settings.max_upload_mb * 1024 * 1024
    try:
        with ExitStack() as opened:
            uploads: dict[str, Upload] = {}
            for field, url in urls.items():
                path = work / field
                try:
                    await asyncio.to_thread(download_url, url, path, cap, services.settings.allow_private_urls)
                except DomainError as exc:
                    raise BadArgument(f"Field '{field}_url': {exc.message}") from exc
                name = PurePosixPath(urlsplit(url).path).name or field
                uploads[field] = (name, opened.enter_context(path.open("rb")))
            yield uploads
    finally:
        await asyncio.to_thread(services.files.storage.discard_work, scratch_id)


async def followed(caller: Caller, client: httpx.AsyncClient, file_id: str, reused: bool) -> types.CallToolResult:
    """Wait up to MCP_WAIT_S for the job to end, then answer with its `/info`."""
    wait_s = caller.services.settings.mcp_wait_s
    await caller.services.runner.wait(file_id, wait_s)
    info = await client.get(f"{STORAGE}/{file_id}/info")
    if info.status_code != 200:
        return refusal(info)
    return job_answer(info.json(), caller.base_url, wait_s, reused)


async def call_job_tool(caller: Caller, tool: JobTool, arguments: Mapping[str, Any]) -> types.CallToolResult:
    """POST the tool's route as a form (without wait), then follow the job it made."""
    try:
        fields, urls = split_arguments(tool, arguments)
        async with caller.client() as client, fetched_files(caller.services, urls) as uploads:
            response = await client.post(tool.path, data=fields, files=uploads or None)
            if response.status_code != 202:
                return refusal(response)
            accepted = response.json()
            return await followed(caller, client, accepted["file_id"], bool(accepted.get("reused")))
    except BadArgument as exc:
        return text_result(f"Bad input: {exc}", True)
