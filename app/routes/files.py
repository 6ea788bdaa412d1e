"""The file list (two shapes), storage stats, and renaming or moving a file.

Included before the storage router: `/list` and `/stats` must win over `/{file_id}`.
"""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from app.deps import FilesDep, JobsDep
from app.errors import InvalidInput, NotFound
from app.jobs.kinds import MediaKind
from app.routes.models import (
    DiskSpace,
    FolderTally,
    LegacyStorageList,
    ListedItem,
    MediaTypeTally,
    StorageList,
    StorageStats,
    StoredItem,
)
from app.routes.responses import file_urls
from app.routes.small_body import fields_schema, read_fields
from app.services.files import Files, Item, ItemFilter
from app.services.folders import check_file_name, check_folder, folder_filter
from app.services.inputs import find_record
from app.services.jobs import JobStatus

router = APIRouter(prefix="/api/v1/media/storage", tags=["files"])

MAX_PAGE = 500


def stored_item(request: Request, item: Item) -> StoredItem:
    ready = item.filename is not None
    return StoredItem(
        file_id=item.id,
        name=item.name,
        filename=item.download_name,
        media_type=item.media_type,
        content_type=item.content_type,
        size=item.size,
        duration=item.duration,
        folder=item.folder,
        status=JobStatus(item.status),
        progress=round(item.progress),
        error=item.error,
        kind=item.kind,
        created_at=item.created_at,
        download_url=file_urls(request, item.id).download_url if ready else None,
    )


class Page:
    """The query parameters the two list routes share."""

    def __init__(
        self,
        media_type: MediaKind | None = None,
        folder: str | None = Query(None, description="A folder; '/' or empty: the top level only; absent: all."),
        kind: str | None = Query(None, max_length=32, description="upload, tts, video, audio..."),
        status: JobStatus | None = None,
        q: str | None = Query(None, max_length=200, description="The name contains this (case-insensitive)."),
        limit: int = Query(50, ge=1, le=MAX_PAGE),
        offset: int = Query(0, ge=0, le=2**62),
    ) -> None:
        self.filter = ItemFilter(media_type, folder_filter(folder), kind, status, q)
        self.limit = limit
        self.offset = offset

    async def items(self, request: Request, files: Files) -> tuple[list[StoredItem], int]:
        found, total = await asyncio.to_thread(files.items, self.filter, self.limit, self.offset)
        return [stored_item(request, item) for item in found], total


PageDep = Annotated[Page, Depends()]


@router.get("", response_model=StorageList)
async def list_storage(request: Request, files: FilesDep, page: PageDep) -> StorageList:
    """Stored files and the jobs still making theirs (or failed), newest first."""
    items, total = await page.items(request, files)
    return StorageList(data=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/list", response_model=LegacyStorageList)
async def list_storage_legacy(request: Request, files: FilesDep, page: PageDep) -> LegacyStorageList:
    """The same list under the older servers' shape, with `media_id` beside `file_id`."""
    items, total = await page.items(request, files)
    listed = [ListedItem(**item.model_dump(), media_id=item.file_id) for item in items]
    return LegacyStorageList(files=listed, total=total, media_type_filter=page.filter.media_type)


@router.get("/stats", response_model=StorageStats)
async def storage_stats(files: FilesDep) -> StorageStats:
    stats = await asyncio.to_thread(files.stats)
    return StorageStats(
        files=stats.total.files,
        bytes=stats.total.bytes,
        by_media_type=[MediaTypeTally(media_type=kind, **vars(tally)) for kind, tally in stats.by_media_type],
        by_folder=[FolderTally(folder=folder, **vars(tally)) for folder, tally in stats.by_folder],
        jobs=stats.jobs,
        disk=DiskSpace(total_bytes=stats.disk_total_bytes, free_bytes=stats.disk_free_bytes),
    )


_EDIT_FIELDS = {"name": "A new name (empty: none).", "folder": "A folder to move it to (empty: the top level)."}


@router.patch("/{file_id}", response_model=StoredItem, openapi_extra=fields_schema(_EDIT_FIELDS))
async def update_file(file_id: str, request: Request, jobs: JobsDep, files: FilesDep) -> StoredItem:
    """Rename or move a file (JSON or form: `name`, `folder`); its id and download URL stay the same. A job
    that has not finished is renamed or moved too: its file lands there."""
    sent = await read_fields(request, tuple(_EDIT_FIELDS))
    if not sent:
        raise InvalidInput("Send 'name' or 'folder' (or both).")
    changes: dict[str, str | None] = {}
    if "name" in sent:
        changes["name"] = check_file_name(sent["name"], "name")
    if "folder" in sent:
        changes["folder"] = check_folder(sent["folder"], "folder")
    record = find_record(jobs, files, file_id)
    if record.job is not None:
        files.folders.ensure(changes.get("folder"))
        jobs.update(record.id, **changes)
    if record.file is not None:
        files.update(record.file.id, changes)
    item = files.item(record.id)
    if item is None:
        raise NotFound(f"No file with id '{file_id}'.")
    return stored_item(request, item)
