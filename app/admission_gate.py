"""Load shedding at the door: a job request that admission would refuse anyway gets its 429 before its
body is read or validated, so a retry storm costs the server next to nothing.

A small body (a form or JSON up to `DOOR_READS_UP_TO_BYTES`) is the exception: it may be the retry of a job
already accepted (n8n sends no `Idempotency-Key`), so it goes on to its route, which reattaches it to its job
or refuses it as the door would have (`refusal_at_full_door` turns its 4xx into that 429)."""

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import Busy, DomainError
from app.security import scope_key_problem

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
ADMISSION_KIND = "admission_kind"  # the attribute `admitted_as` sets on an endpoint function
DOOR_FULL = "door_full_for_kind"  # the request-state key naming the kind whose room was full at the door
DOOR_READS_UP_TO_BYTES = 32 * 1024
"""A body this small is read even when the room is full: matching a retry to its job costs less than losing it."""


def admitted_as(kind: str) -> Callable[[Endpoint], Endpoint]:
    """Mark a route's endpoint as one that admits a job of `kind` (checked at the door by `AdmissionGate`)."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, ADMISSION_KIND, kind)  # a function attribute: not part of the Callable type
        return endpoint

    return mark


def admission_kinds(routers: Iterable[APIRouter]) -> dict[tuple[str, str], str]:
    """(method, path) -> kind for the routes marked `admitted_as` (the routers are included without a prefix)."""
    return {
        (method, route.path): getattr(route.endpoint, ADMISSION_KIND)
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute) and hasattr(route.endpoint, ADMISSION_KIND)
        for method in route.methods or ()  # APIRoute always sets methods (GET by default)
    }


def busy_response(exc: Busy) -> JSONResponse:
    return JSONResponse(
        {"error": exc.message}, status_code=exc.status_code, headers={"Retry-After": str(exc.retry_after)}
    )


def _has_idempotency_key(scope: Scope) -> bool:
    return any(name.lower() == b"idempotency-key" for name, _ in scope["headers"])


def _small_body(scope: Scope) -> bool:
    """A declared Content-Length within DOOR_READS_UP_TO_BYTES (a chunked body of unknown size is not small)."""
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            try:
                return int(value) <= DOOR_READS_UP_TO_BYTES
            except ValueError:
                return False
    return False


def refusal_at_full_door(request: Request) -> JSONResponse | None:
    """For a request let through a full door (a possible retry) that turned out not to be one (its body is
    invalid): the 429 the door would have answered, or None when a place has opened meanwhile."""
    kind = getattr(request.state, DOOR_FULL, None)
    services = getattr(request.app.state, "services", None)
    if kind is None or services is None:
        return None
    try:
        services.admission.check_room(kind)
    except Busy as exc:
        return busy_response(exc)
    return None


class AdmissionGate:
    """ASGI middleware: for the routes marked `admitted_as`, answer 429 at once when there is no room.

    Requests without the right API key (when one is set) pass through, so they still get their 401; so do
    requests with an `Idempotency-Key`, whose retry may reattach to a job already accepted, and small bodies,
    marked `DOOR_FULL` in their state, which their route reattaches or refuses."""

    def __init__(self, app: ASGIApp, kinds: dict[tuple[str, str], str]) -> None:
        self.app = app
        self.kinds = kinds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            kind = self.kinds.get((scope["method"], scope["path"]))
            state = scope["app"].state
            services = getattr(state, "services", None)
            if (
                kind is not None
                and services is not None
                and not _has_idempotency_key(scope)  # a retry of a known job is answered by the route
                and scope_key_problem(scope, state.settings.api_key) is None
            ):
                try:
                    if not _small_body(scope):
                        services.admission.check_room(kind)
                    elif not services.admission.has_room(kind):
                        scope.setdefault("state", {})[DOOR_FULL] = kind
                except Busy as exc:
                    await busy_response(exc)(scope, receive, send)
                    return
                except DomainError as exc:  # cluster mode: no live worker, or Redis away (503)
                    await JSONResponse({"error": exc.message}, status_code=exc.status_code)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
