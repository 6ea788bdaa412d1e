"""Every job route as a tool with its form's fields, read from the app's own OpenAPI schema: the web page's Tools
view renders a form for each, so a tool added to the toolbox (or any new job route) shows up there by itself."""

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from app.services.job_fields import JobFields

router = APIRouter(prefix="/api/v1/media", tags=["jobs"])

FieldType = Literal["string", "integer", "number", "boolean", "file"]
PLAIN_TYPES = ("string", "integer", "number", "boolean")
JOB_FIELDS = frozenset(JobFields.model_fields)


class ToolField(BaseModel):
    name: str
    type: FieldType = Field(description="file: an upload sent as multipart; the others: form values.")
    required: bool
    default: Any = None
    choices: list[str] | None = Field(None, description="The values it takes, when it is a choice.")
    minimum: float | None = None
    maximum: float | None = None
    description: str | None = None
    common: bool = Field(description="One of the fields every job route takes: name, folder, webhook_url, wait...")


class ToolEntry(BaseModel):
    path: str = Field(description="POST it, as a form.")
    kind: str = Field(description="The admission kind whose caps it runs under: tts, video, audio or stt.")
    tag: str
    summary: str
    description: str | None
    fields: list[ToolField]


class ToolList(BaseModel):
    tools: list[ToolEntry]


def _resolved(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return dict(spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]) if ref else schema


def tool_field(spec: dict[str, Any], name: str, schema: dict[str, Any], required: bool) -> ToolField:
    """One form field: an optional field's `anyOf [X, null]` read as X."""
    branches = [_resolved(spec, branch) for branch in schema.get("anyOf", [schema])]
    value = {**schema, **next((branch for branch in branches if branch.get("type") != "null"), {})}
    is_file = "contentMediaType" in value or value.get("format") == "binary"
    kind = value.get("type")
    return ToolField(
        name=name,
        type="file" if is_file else kind if kind in PLAIN_TYPES else "string",
        required=required,
        default=schema.get("default"),
        choices=[str(choice) for choice in value["enum"]] if "enum" in value else None,
        minimum=value.get("minimum", value.get("exclusiveMinimum")),
        maximum=value.get("maximum", value.get("exclusiveMaximum")),
        description=schema.get("description") or value.get("description"),
        common=name in JOB_FIELDS,
    )


def form_fields(spec: dict[str, Any], operation: dict[str, Any]) -> list[ToolField]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = _resolved(spec, next(iter(content.values()))["schema"]) if content else {}
    required = set(schema.get("required", ()))
    return [tool_field(spec, name, field, name in required) for name, field in schema.get("properties", {}).items()]


def job_tools(spec: dict[str, Any], kinds: dict[tuple[str, str], str]) -> list[ToolEntry]:
    """The POST routes admitted as a job kind that answer 202, in the order the API docs list them."""
    tools = []
    for path, operations in spec["paths"].items():
        operation, kind = operations.get("post"), kinds.get(("POST", path))
        if operation is None or kind is None or "202" not in operation.get("responses", {}):
            continue
        tools.append(
            ToolEntry(
                path=path,
                kind=kind,
                tag=(operation.get("tags") or ["other"])[0],
                summary=operation.get("summary") or path,
                description=operation.get("description"),
                fields=form_fields(spec, operation),
            )
        )
    return tools


@router.get("/tools", response_model=ToolList)
async def list_tools(request: Request) -> ToolList:
    """Every job route (the toolbox, speech, videos, transcription...) with its form's fields, types, choices,
    limits and defaults: what the web page's Tools view shows."""
    return ToolList(tools=job_tools(request.app.openapi(), request.app.state.job_kinds))
