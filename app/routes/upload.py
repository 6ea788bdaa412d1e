"""Uploading media (a file or a URL) into storage, checked for size and real content type."""

import asyncio
import shutil
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.datastructures import FormData, UploadFile
from starlette.routing import Match
from starlette.types import Message, Scope

from app.deps import ServicesDep
from app.errors import InvalidInput, UnprocessableInput
from app.jobs.kinds import MEDIA_KINDS
from app.routes.models import UploadedFile
from app.routes.responses import file_urls
from app.services.ffmpeg import Ffmpeg
from app.services.folders import check_folder
from app.services.jobs import JobStatus
from app.services.storage import new_file_id
from app.services.uploads import (
    DetectedMedia,
    check_declared,
    copy_with_cap,
    detect_media,
    download_url,
    file_chunks,
    too_large,
)
from app.wiring import Services

router = APIRouter(prefix="/api/v1/media/storage", tags=["storage"])

FORM_OVERHEAD = 64 * 1024
"""Bytes a multipart body may carry beyond the file itself: boundaries, headers and the small fields."""

_FORM_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["media_type"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "The file (or give url)."},
                        "url": {"type": "string", "description": "An http(s) URL to fetch the file from."},
                        "media_type": {"type": "string", "enum": list(MEDIA_KINDS)},
                        "name": {"type": "string", "description": "A name for downloads."},
                        "folder": {"type": "string", "description": "A folder, e.g. reports/2024 (made when missing)."},
                    },
                }
            }
        },
    }
}


async def read_capped_form(request: Request, limit: int, cap_bytes: int, max_fields: int = 8) -> FormData:
    """Parse the form while counting body bytes: past `limit` it stops reading and answers 413."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise too_large(cap_bytes)
    received = 0
    receive = request.receive

    async def capped_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise too_large(cap_bytes)
        return message

    return await Request(request.scope, capped_receive).form(max_files=1, max_fields=max_fields)


def form_text(form: FormData, key: str) -> str | None:
    """A text field of a multipart form, stripped; None when absent or blank; 400 when it is a file."""
    value = form.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"Field '{key}' must be a text field, not a file.")
    return value.strip() or None


@router.post("", status_code=201, openapi_extra=_FORM_SCHEMA, response_model=UploadedFile)
async def upload_media(request: Request, services: ServicesDep) -> JSONResponse:
    """Store an image, video or audio file sent as multipart `file` or fetched from `url`."""
    return await _upload(request, services, None)


class PostOnlyRoute(APIRoute):
    """A route that is no match at all for other methods: a GET or DELETE of `/storage/a/b` stays a 404 (no
    such file) instead of becoming a 405 because a POST may upload into folder `a/b`."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        return (Match.NONE, {}) if match is Match.PARTIAL else (match, child_scope)


async def upload_into_folder(folder_path: str, request: Request, services: ServicesDep) -> JSONResponse:
    """Store a file in `folder_path` (made when missing), as the older servers' upload route did."""
    return await _upload(request, services, check_folder(folder_path, "folder_path"))


router.add_api_route(
    "/{folder_path:path}",
    upload_into_folder,
    methods=["POST"],
    status_code=201,
    openapi_extra=_FORM_SCHEMA,
    response_model=UploadedFile,
    route_class_override=PostOnlyRoute,
)


def _folder(form: FormData, in_path: str | None) -> str | None:
    """The folder of an upload: the form's `folder` field, or the route's folder (they must agree)."""
    field = check_folder(form_text(form, "folder"), "folder")
    if in_path is not None and field is not None and field != in_path:
        raise InvalidInput(f"Field 'folder' ('{field}') differs from the folder in the path ('{in_path}').")
    return in_path or field


async def _upload(request: Request, services: Services, in_path: str | None) -> JSONResponse:
    settings = services.settings
    cap = settings.max_upload_mb * 1024 * 1024
    form = await read_capped_form(request, cap + FORM_OVERHEAD, cap)
    try:
        media_type = form_text(form, "media_type")
        if media_type is None:
            raise UnprocessableInput("Field 'media_type' is required: image, video or audio.")
        media_type = media_type.lower()
        if media_type not in MEDIA_KINDS:
            raise UnprocessableInput(
                f"Field 'media_type' must be one of: {', '.join(MEDIA_KINDS)}; got '{media_type}'."
            )
        name = form_text(form, "name")
        folder = _folder(form, in_path)
        url = form_text(form, "url")
        upload = form.get("file")
        if upload is not None and not isinstance(upload, UploadFile):
            raise InvalidInput("Field 'file' must be a file part (multipart/form-data).")
        if (upload is None) == (url is None):
            raise InvalidInput("Send exactly one of 'file' (multipart) or 'url'.")
        scratch_id = new_file_id()
        work = await asyncio.to_thread(services.files.storage.work_dir, scratch_id)
        try:
            return await _store(request, services, work, upload, url, media_type, (name, folder), cap)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)
    finally:
        await form.close()


def _identify(raw: Path, declared: str, ffmpeg: Ffmpeg) -> tuple[DetectedMedia, Path]:
    """What the file really is (400 unless it is the declared kind), renamed to its extension."""
    detected = detect_media(raw, ffmpeg)
    check_declared(detected, declared)
    produced = raw.with_name(f"upload.{detected.ext}")
    raw.rename(produced)
    return detected, produced


async def _store(
    request: Request,
    services: Services,
    work: Path,
    upload: UploadFile | None,
    url: str | None,
    media_type: str,
    name_and_folder: tuple[str | None, str | None],
    cap: int,
) -> JSONResponse:
    raw = work / "upload"
    if upload is not None:
        size = await asyncio.to_thread(copy_with_cap, file_chunks(upload.file), raw, cap)
    else:
        assert url is not None  # upload_media checked that exactly one of file and url was sent
        size = await asyncio.to_thread(download_url, url, raw, cap, services.settings.allow_private_urls)
    detected, produced = await asyncio.to_thread(_identify, raw, media_type, services.ffmpeg)
    info = {**detected.info, "source": "url" if url else "file"}
    name, folder = name_and_folder
    stored = await asyncio.to_thread(
        services.files.add, new_file_id(), produced, detected.ext, name, info, folder=folder
    )
    body = UploadedFile(
        file_id=stored.id,
        status=JobStatus.READY,
        kind="upload",
        name=stored.name,
        folder=stored.folder,
        size=size,
        content_type=stored.media_type,
        **info,
        **file_urls(request, stored.id).model_dump(),
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=201)
