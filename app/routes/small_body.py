"""A few text fields sent as a JSON object or as a form (urlencoded or multipart), for the small edit routes."""

import json
from typing import Any

from fastapi import Request

from app.errors import InvalidInput, PayloadTooLarge

MAX_BODY_BYTES = 64 * 1024


def fields_schema(properties: dict[str, str], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """OpenAPI `requestBody` for text fields (name → description) taken as JSON or as a form."""
    schema = {
        "type": "object",
        "properties": {name: {"type": "string", "description": text} for name, text in properties.items()},
        "required": list(required),
    }
    content = {kind: {"schema": schema} for kind in ("application/json", "application/x-www-form-urlencoded")}
    return {"requestBody": {"required": bool(required), "content": content}}


def _checked(values: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, str | None]:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise InvalidInput(f"Unknown field '{unknown[0]}'; this route takes {', '.join(allowed)}.")
    for key, value in values.items():
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"Field '{key}' must be text (or null).")
    return dict(values)


async def read_fields(request: Request, allowed: tuple[str, ...]) -> dict[str, str | None]:
    """The fields that were sent (JSON null stays None; absent fields are absent); 400 naming an unknown field,
    a file, or a body that is neither a JSON object nor a form."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The request body is over {MAX_BODY_BYTES // 1024} KB.")
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        async with request.form(max_files=0, max_fields=len(allowed) + 1) as form:
            return _checked({key: form.get(key) for key in form}, allowed)
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The request body is over {MAX_BODY_BYTES // 1024} KB.")
    if not body.strip():
        return {}
    try:
        values = json.loads(body)
    except ValueError as exc:
        raise InvalidInput("The body must be a JSON object or a form.") from exc
    if not isinstance(values, dict):
        raise InvalidInput("The body must be a JSON object or a form.")
    return _checked(values, allowed)
