"""API key check: when API_KEY is set, every route but /health needs `X-API-Key` or a Bearer token."""

import hmac

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from app.errors import Unauthorized

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The server's API_KEY.")
bearer = HTTPBearer(auto_error=False, description="The server's API_KEY as a Bearer token.")


def key_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


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
        raise Unauthorized("An API key is required: send it as 'X-API-Key: <key>' or 'Authorization: Bearer <key>'.")
    if not key_matches(given, expected):
        raise Unauthorized("The API key is wrong.")
