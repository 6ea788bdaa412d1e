"""Load shedding at the door: a job request that admission would refuse anyway gets its 429 before its
body is read or validated, so a retry storm costs the server next to nothing."""

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import Busy, DomainError
from app.security import scope_key_problem

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
ADMISSION_KIND = "admission_kind"  # the attribute `admitted_as` sets on an endpoint function


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


class AdmissionGate:
    """ASGI middleware: for the routes marked `admitted_as`, answer 429 at once when there is no room.

    Requests without the right API key (when one is set) pass through, so they still get their 401; so do
    requests with an `Idempotency-Key`, whose retry may reattach to a job already accepted."""

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
                    services.admission.check_room(kind)
                except Busy as exc:
                    await busy_response(exc)(scope, receive, send)
                    return
                except DomainError as exc:  # cluster mode: no live worker, or Redis away (503)
                    await JSONResponse({"error": exc.message}, status_code=exc.status_code)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
