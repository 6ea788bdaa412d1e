"""Folders: list, create, delete (recursively on request), and a folder's contents."""

import asyncio

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from app.deps import FilesDep, JobsDep
from app.errors import NotFound, UnprocessableInput
from app.routes.files import MAX_PAGE, stored_item
from app.routes.models import CreatedFolder, DeletedFolder, FolderContents, FolderInfo, FolderList
from app.routes.small_body import fields_schema, read_fields
from app.services.files import Files, ItemFilter
from app.services.folders import Folder, check_folder

router = APIRouter(prefix="/api/v1/media/folders", tags=["folders"])

_CREATE_FIELDS = {
    "folder_name": "The new folder's name (or a path like a/b, made with every folder above it).",
    "parent_folder": "The folder to make it in; default: the top level.",
}


def folder_info(folder: Folder) -> FolderInfo:
    return FolderInfo(
        path=folder.path,
        name=folder.name,
        parent_folder=folder.parent,
        file_count=folder.file_count,
        bytes=folder.bytes,
        folder_count=folder.folder_count,
        created_at=folder.created_at,
    )


def existing_folder(files: Files, path: str | None, field: str) -> Folder:
    """The folder at `path` (checked like every folder path); 404 naming `field` when there is none."""
    checked = check_folder(path, field)
    folder = files.folders.get(checked) if checked else None
    if folder is None:
        raise NotFound(f"Field '{field}': no folder '{(path or '').strip()[:255]}'.")
    return folder


@router.get("", response_model=FolderList)
async def list_folders(
    files: FilesDep,
    parent_folder: str | None = Query(None, max_length=1000, description="Default: the top level."),
    recursive: bool = Query(False, description="Every folder below, not only the direct ones."),
) -> FolderList:
    parent = existing_folder(files, parent_folder, "parent_folder").path if parent_folder else None
    found = files.folders.children(parent, recursive)
    return FolderList(folders=[folder_info(f) for f in found], parent_folder=parent, recursive=recursive)


@router.post(
    "",
    status_code=201,
    response_model=CreatedFolder,
    responses={200: {"model": CreatedFolder, "description": "It already existed"}},
    openapi_extra=fields_schema(_CREATE_FIELDS, required=("folder_name",)),
)
async def create_folder(request: Request, files: FilesDep) -> JSONResponse:
    """Make a folder (JSON or form: `folder_name`, `parent_folder`); 201, or 200 when it already existed."""
    sent = await read_fields(request, tuple(_CREATE_FIELDS))
    name = check_folder(sent.get("folder_name"), "folder_name")
    if name is None:
        raise UnprocessableInput("Field 'folder_name' is required.")
    parent = check_folder(sent.get("parent_folder"), "parent_folder")
    path = check_folder(f"{parent}/{name}" if parent else name, "folder_name")
    assert path is not None  # name is not blank
    created = files.folders.create(path)
    folder = existing_folder(files, path, "folder_name")
    body = CreatedFolder(**folder_info(folder).model_dump(), created=created)
    return JSONResponse(body.model_dump(mode="json"), status_code=201 if created else 200)


@router.get("/{path:path}/contents", response_model=FolderContents)
async def folder_contents(
    path: str,
    request: Request,
    files: FilesDep,
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    offset: int = Query(0, ge=0, le=2**62),
) -> FolderContents:
    """The folders directly in it and one page of its files (with the jobs that will put a file there)."""
    folder = existing_folder(files, path, "path")
    items, total = await asyncio.to_thread(files.items, ItemFilter(folder=folder.path), limit, offset)
    return FolderContents(
        folder=folder_info(folder),
        folders=[folder_info(f) for f in files.folders.children(folder.path)],
        files=[stored_item(request, item) for item in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.delete("/{path:path}", response_model=DeletedFolder)
async def delete_folder(
    path: str,
    files: FilesDep,
    jobs: JobsDep,
    recursive: bool = Query(False, description="Delete it with its folders and files (and their jobs)."),
) -> DeletedFolder:
    """409 when it is not empty (unless recursive=true) or while a queued or running job will put its file in it."""
    folder = existing_folder(files, path, "path")
    removed = await asyncio.to_thread(files.delete_folder, folder.path, recursive, jobs)
    return DeletedFolder(
        folder=folder.path,
        deleted=True,
        files_deleted=removed.files,
        jobs_deleted=removed.jobs,
        folders_deleted=removed.folders,
    )
