"""The web page: plain HTML, CSS and JavaScript from `app/web`, served as they are (no build step).

The page is public, like /health: it holds nothing but code, and every API call it makes carries the key."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from app.errors import NotFound

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
"""Content-Security-Policy of the page: the browser itself refuses anything from another origin."""
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": PAGE_POLICY,
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(include_in_schema=False)


def page_assets(folder: Path = WEB_DIR) -> dict[str, Path]:
    """The servable files by name: a fixed set read at start-up, so no request can name a path outside it."""
    return {path.name: path for path in sorted(folder.iterdir()) if path.is_file() and path.suffix in CONTENT_TYPES}


ASSETS = page_assets()


def asset_response(name: str) -> FileResponse:
    path = ASSETS.get(name)
    if path is None:
        raise NotFound(f"No page file named '{name[:64]}'.")
    return FileResponse(path, media_type=CONTENT_TYPES[path.suffix], headers=PAGE_HEADERS)


@router.get("/")
async def home_page() -> FileResponse:
    """Speak, make a captioned video, manage files and watch the server."""
    return asset_response("index.html")


@router.get("/files")
async def file_manager_page() -> FileResponse:
    """The same page, opened on the file manager."""
    return asset_response("index.html")


@router.get("/web/{name}")
async def page_asset(name: str) -> FileResponse:
    return asset_response(name)
