"""One place that turns every error into JSON `{"error": "..."}`; no traceback reaches a client."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from app.admission_gate import busy_response, refusal_at_full_door
from app.errors import Busy, DomainError

log = logging.getLogger("app.errors")


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        location = [p for p in error.get("loc", ()) if p not in ("body", "query", "path", "form", "header")]
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in location).lstrip(".") or "request"
        parts.append(f"Field '{field}': {error.get('msg', 'is invalid')}")
    return "; ".join(parts) or "The request is invalid."


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        if isinstance(exc, Busy):
            return busy_response(exc)
        if 400 <= exc.status_code < 500 and (refused := refusal_at_full_door(request)) is not None:
            return refused
        return JSONResponse({"error": exc.message}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        if (refused := refusal_at_full_door(request)) is not None:
            return refused
        return JSONResponse({"error": _validation_message(exc)}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "The request failed."
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "Internal server error; the server log has the details."}, status_code=500)
