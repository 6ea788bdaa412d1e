"""The job routes as MCP tools, read from the app's OpenAPI schema: a name from the path, the route's summary
and description, and an input schema equal to its form (file uploads taken as URLs)."""

import re
from dataclasses import dataclass
from typing import Any

from app.routes.tool_list import job_tools

API_PREFIXES = ("/api/v1/media/", "/api/v1/")
WAIT_FIELDS = frozenset({"wait", "wait_timeout_s", "wait_timeout_status"})
"""Job fields the tool call sets itself: it always waits (MCP_WAIT_S), then answers with the job's id."""
URL_SUFFIX = "_url"
SAID_ELSEWHERE = {
    "name": "A name for the result's downloads.",
    "webhook_url": "A URL the server POSTs JSON to when the job ends.",
}
"""Descriptions of the job fields whose forms leave them out."""
KEPT_KEYWORDS = frozenset(
    {"type", "description", "default", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
    | {"minLength", "maxLength", "pattern", "format", "items", "anyOf"}
)


@dataclass(frozen=True)
class JobTool:
    """One job route as a tool: `file_fields` maps each `<field>_url` argument to the form's upload field."""

    name: str
    path: str
    kind: str
    description: str
    input_schema: dict[str, Any]
    file_fields: dict[str, str]


def tool_name(path: str) -> str:
    """`/api/v1/media/video-tools/merge` -> `video_tools_merge`: the path past the API prefix, snake case."""
    rest = next((path[len(prefix) :] for prefix in API_PREFIXES if path.startswith(prefix)), path)
    return re.sub(r"[^a-z0-9]+", "_", rest.lower()).strip("_")


def _resolved(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its `$ref` replaced by the component (keywords beside the reference win)."""
    ref = schema.get("$ref")
    if not ref:
        return schema
    beside = {key: value for key, value in schema.items() if key != "$ref"}
    return {**spec["components"]["schemas"][ref.rsplit("/", 1)[-1]], **beside}


def _kept(schema: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key in KEPT_KEYWORDS}


def merged_property(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A form field's JSON schema without references or the `null` branch of an optional field."""
    outer = _resolved(spec, schema)
    branches = [_resolved(spec, branch) for branch in outer.get("anyOf", [outer])]
    typed = [branch for branch in branches if branch.get("type") != "null"]
    base = typed[0] if len(typed) == 1 else {"anyOf": [_kept(branch) for branch in typed]}
    return {**base, **{key: value for key, value in outer.items() if key != "anyOf"}}


def is_file(schema: dict[str, Any]) -> bool:
    return schema.get("format") == "binary" or "contentMediaType" in schema


def url_property(field: str, schema: dict[str, Any]) -> dict[str, Any]:
    said = schema.get("description", "")
    return {
        "type": "string",
        "description": f"An http(s) URL the server fetches and sends as '{field}'. {said}".strip(),
    }


def form_schema(spec: dict[str, Any], operation: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The tool's input schema from the route's form, and the `<field>_url` arguments that stand for uploads."""
    content = operation.get("requestBody", {}).get("content", {})
    form = _resolved(spec, next(iter(content.values()))["schema"]) if content else {}
    required_fields = set(form.get("required", ()))
    properties: dict[str, Any] = {}
    required: list[str] = []
    file_fields: dict[str, str] = {}
    for field, raw in form.get("properties", {}).items():
        if field in WAIT_FIELDS:
            continue
        schema = merged_property(spec, raw)
        name = field
        if is_file(schema):
            name = f"{field}{URL_SUFFIX}"
            file_fields[name] = field
            schema = url_property(field, schema)
        said = {"description": SAID_ELSEWHERE[field]} if field in SAID_ELSEWHERE else {}
        properties[name] = _kept({**said, **schema})
        if field in required_fields:
            required.append(name)
    return {"type": "object", "properties": properties, **({"required": required} if required else {})}, file_fields


def describe(operation: dict[str, Any], path: str) -> str:
    """The route's summary and description, and what the call answers."""
    parts = [operation.get("summary") or path, operation.get("description") or ""]
    parts.append(
        "Waits for the job (MCP_WAIT_S), then answers with the result's download URL and facts (duration, "
        "transcript...); a job still running answers with its file_id for get_job. Fields ending in _id take a "
        "file_id (from upload_from_url, list_files or an earlier tool)."
    )
    return "\n\n".join(part.strip() for part in parts if part.strip())


def job_tool_catalog(spec: dict[str, Any], kinds: dict[tuple[str, str], str]) -> dict[str, JobTool]:
    """Every job route (admitted as a kind, answering 202 with a job) as a tool, by name."""
    catalog: dict[str, JobTool] = {}
    for entry in job_tools(spec, kinds):
        operation = spec["paths"][entry.path]["post"]
        schema, file_fields = form_schema(spec, operation)
        name = tool_name(entry.path)
        if name in catalog:
            raise ValueError(f"two job routes give the tool name '{name}': {catalog[name].path} and {entry.path}")
        catalog[name] = JobTool(name, entry.path, entry.kind, describe(operation, entry.path), schema, file_fields)
    return catalog
