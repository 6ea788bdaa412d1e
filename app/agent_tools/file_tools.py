"""The hand-made tools beside the generated ones: store a file from a URL, list stored files, follow a job."""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
import mcp_types as types

from app.agent_tools.answers import download_url, job_answer, ready_answer, refusal, text_result
from app.agent_tools.calls import STORAGE, Caller
from app.jobs.kinds import MEDIA_KINDS
from app.routes.files import MAX_PAGE
from app.services.jobs import JobStatus

FileTool = Callable[[Caller, Mapping[str, Any]], Awaitable[types.CallToolResult]]

FINAL = (JobStatus.READY, JobStatus.FAILED)


def _text(arguments: Mapping[str, Any], name: str) -> str | None:
    value = arguments.get(name)
    return None if value is None else str(value)


async def upload_from_url(caller: Caller, arguments: Mapping[str, Any]) -> types.CallToolResult:
    """Store the file at `url` (the storage route's URL upload); its id and facts."""
    fields = {name: _text(arguments, name) for name in ("url", "media_type", "name", "folder")}
    async with caller.client() as client:
        response = await client.post(STORAGE, data={key: value for key, value in fields.items() if value is not None})
        if response.status_code != 201:
            return refusal(response)
        file_id = response.json()["file_id"]
        info = await client.get(f"{STORAGE}/{file_id}/info")
    return ready_answer(info.json(), caller.base_url) if info.status_code == 200 else refusal(info)


def _listed(item: dict[str, Any], base_url: str) -> str:
    duration = f", {item['duration']:g} s" if isinstance(item.get("duration"), int | float) else ""
    name = f" '{item['name']}'" if item.get("name") else ""
    folder = f" in {item['folder']}" if item.get("folder") else ""
    where = download_url(base_url, item["file_id"]) if item.get("status") == "ready" else f"status {item['status']}"
    return f"- {item['file_id']}{name}{folder}: {item.get('media_type') or item.get('kind')}{duration}; {where}"


async def list_files(caller: Caller, arguments: Mapping[str, Any]) -> types.CallToolResult:
    """Stored files and jobs, newest first, one line each with its id and download URL."""
    names = ("media_type", "folder", "kind", "status", "q", "limit", "offset")
    params = {name: str(arguments[name]) for name in names if arguments.get(name) is not None}
    params.setdefault("limit", "20")
    async with caller.client() as client:
        response = await client.get(STORAGE, params=params)
    if response.status_code != 200:
        return refusal(response)
    body = response.json()
    lines = [f"{body['total']} stored item(s); showing {len(body['data'])} from offset {body['offset']}:"]
    lines += [_listed(item, caller.base_url) for item in body["data"]]
    return text_result("\n".join(lines))


async def get_job(caller: Caller, arguments: Mapping[str, Any]) -> types.CallToolResult:
    """A job's state; one still running is waited for up to MCP_WAIT_S (unless wait is false)."""
    file_id = _text(arguments, "file_id") or ""
    async with caller.client() as client:
        info = await _info(client, file_id)
        if info.status_code == 404:
            return text_result(f"Bad input: Field 'file_id': no job or file has the id '{file_id}'.", True)
        if info.status_code != 200:
            return refusal(info)
        waited = 0.0
        if info.json()["status"] not in FINAL and arguments.get("wait", True) is not False:
            waited = caller.services.settings.mcp_wait_s
            await caller.services.runner.wait(file_id, waited)
            info = await _info(client, file_id)
    return job_answer(info.json(), caller.base_url, waited) if info.status_code == 200 else refusal(info)


async def _info(client: httpx.AsyncClient, file_id: str) -> httpx.Response:
    if not file_id.strip():
        return httpx.Response(422, json={"error": "Field 'file_id' is required."})
    return await client.get(f"{STORAGE}/{file_id}/info")


FILE_TOOLS: dict[str, tuple[FileTool, str, dict[str, Any]]] = {
    "upload_from_url": (
        upload_from_url,
        "Store an image, video or audio file fetched from an http(s) URL; answers with its file_id (for the other "
        "tools' _id fields), facts and download URL.",
        {
            "type": "object",
            "properties": {
                "url": {"type": "string", "description": "An http(s) URL of the file."},
                "media_type": {"type": "string", "enum": list(MEDIA_KINDS), "description": "What the file is."},
                "name": {"type": "string", "description": "A name for downloads."},
                "folder": {"type": "string", "description": "A folder, e.g. reports/2024 (made when missing)."},
            },
            "required": ["url", "media_type"],
        },
    ),
    "list_files": (
        list_files,
        "List stored files and jobs, newest first: file_id, name, type, duration and download URL of each.",
        {
            "type": "object",
            "properties": {
                "media_type": {"type": "string", "enum": list(MEDIA_KINDS)},
                "folder": {"type": "string", "description": "A folder; '/' for the top level only; absent: all."},
                "kind": {"type": "string", "description": "upload, tts, video, audio, stt..."},
                "status": {"type": "string", "enum": [status.value for status in JobStatus]},
                "q": {"type": "string", "description": "The name contains this."},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 20},
                "offset": {"type": "integer", "minimum": 0, "default": 0},
            },
        },
    ),
    "get_job": (
        get_job,
        "The state of a job (or file) by file_id: waits up to MCP_WAIT_S for one still running, then answers with "
        "its download URL and facts (duration, transcript...), or that it is still running.",
        {
            "type": "object",
            "properties": {
                "file_id": {"type": "string", "description": "The file_id a tool answered with."},
                "wait": {"type": "boolean", "default": True, "description": "false: answer at once."},
            },
            "required": ["file_id"],
        },
    ),
}
