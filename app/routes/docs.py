"""The API docs (Swagger UI at /docs, ReDoc at /redoc) with their assets served by the app, so they work on a
server without internet access; the assets ship in the `fastapi-offline` package."""

from functools import lru_cache
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, Response

from app.errors import NotFound

DOCS_ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_PATH = "/docs/assets"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
SWAGGER_PARAMETERS = {"validatorUrl": None, "persistAuthorization": True}
"""No validator badge (it would call an outside service); the API key stays across reloads of the docs."""
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png"}
DOCS_ASSETS = {path.name: path for path in DOCS_ASSETS_DIR.iterdir() if path.suffix in CONTENT_TYPES}
CACHE_HEADERS = {"Cache-Control": "public, max-age=86400"}
REDOC_JS = "redoc.standalone.js"
REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
"""The one outside URL ReDoc's bundle loads by itself (the logo under its menu); served as an inline image."""
INLINE_LOGO = b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 1 1'/%3E"

router = APIRouter(include_in_schema=False)


def asset_url(request: Request, name: str) -> str:
    return f"{request.scope.get('root_path', '')}{ASSETS_PATH}/{name}"


def openapi_url(request: Request) -> str:
    return f"{request.scope.get('root_path', '')}{request.app.openapi_url}"


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI; its Authorize button takes the API key (X-API-Key or Bearer)."""
    return get_swagger_ui_html(
        openapi_url=openapi_url(request),
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=asset_url(request, "swagger-ui-bundle.js"),
        swagger_css_url=asset_url(request, "swagger-ui.css"),
        swagger_favicon_url=asset_url(request, "favicon.png"),
        oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
        swagger_ui_parameters=SWAGGER_PARAMETERS,
    )


@router.get(OAUTH2_REDIRECT_PATH)
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=openapi_url(request),
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=asset_url(request, "redoc.standalone.js"),
        redoc_favicon_url=asset_url(request, "favicon.png"),
        with_google_fonts=False,
    )


@lru_cache(maxsize=1)
def offline_redoc_js() -> bytes:
    return DOCS_ASSETS[REDOC_JS].read_bytes().replace(REDOC_CDN_LOGO, INLINE_LOGO)


@router.get(f"{ASSETS_PATH}/{{name}}", response_model=None)
async def docs_asset(name: str) -> FileResponse | Response:
    path = DOCS_ASSETS.get(name)
    if path is None:
        raise NotFound(f"No docs asset named '{name[:64]}'.")
    if name == REDOC_JS:
        return Response(offline_redoc_js(), media_type=CONTENT_TYPES[".js"], headers=CACHE_HEADERS)
    return FileResponse(path, media_type=CONTENT_TYPES[path.suffix], headers=CACHE_HEADERS)
