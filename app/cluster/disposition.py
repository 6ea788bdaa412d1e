"""The Content-Disposition of a download, shared by streamed downloads and presigned bucket URLs."""

from urllib.parse import quote


def attachment(download_name: str) -> str:
    """`attachment` with the file's name, written exactly as Starlette's FileResponse writes it."""
    quoted = quote(download_name)
    if quoted != download_name:
        return f"attachment; filename*=utf-8''{quoted}"
    return f'attachment; filename="{download_name}"'
