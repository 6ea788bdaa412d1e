"""API key check: when API_KEY is set, every route but /health needs `X-API-Key` or a Bearer token."""

import hmac

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import Scope

from app.errors import Unauthorized

MISSING_KEY = "An API key is required: send it as 'X-API-Key: <key>' or 'Authorization: Bearer <key>'."
WRONG_KEY = "The API key is wrong."

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The server's API_KEY.")
bearer = HTTPBearer(auto_error=False, description="The server's API_KEY as a Bearer token.")


def key_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def scope_key_problem(scope: Scope, expected: str | None) -> str | None:
    """For ASGI code before the routes: why the request's key is refused, None when it passes (or none is set)."""
    if not expected:
        return None
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", ())}
    given = headers.get("x-api-key") or bearer_token(headers.get("authorization"))
    if given is None:
        return MISSING_KEY
    return None if key_matches(given, expected) else WRONG_KEY


async def require_api_key(
    request: Request,
    header_key: str | None = Depends(api_key_header),
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> None:
    expected = request.app.state.settings.api_key
    if not expected:
        return
    given = header_key or (credentials.credentials if credentials else None)
    if given is None:
        raise Unauthorized(MISSING_KEY)
    if not key_matches(given, expected):
        raise Unauthorized(WRONG_KEY)
