"""What a tool call answers: text a model can use (status, facts, transcript, download URL), never media."""

from typing import Any

import httpx
import mcp_types as types

STATUS_KEYS = frozenset({"file_id", "kind", "status", "progress", "name", "created_at", "started_at", "finished_at"})
LIST_KEYS = ("words", "segments", "files")
MAX_TEXT_CHARS = 20_000
"""A transcript longer than this is cut in the answer (the whole one is in the file)."""


def text_result(text: str, is_error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=is_error)


def error_message(response: httpx.Response) -> str:
    """The route's `{"error": ...}` sentence (it names the field), or the status line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):
        return error
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


def refusal(response: httpx.Response) -> types.CallToolResult:
    """A route's refusal as a tool error: busy (429, with when to retry), bad input (naming the field), or other."""
    message = error_message(response)
    if response.status_code == 429:
        retry = response.headers.get("retry-after", "a few")
        return text_result(
            f"The server is busy; nothing was started. Call this tool again in {retry} s. ({message})", True
        )
    if response.status_code in (400, 404, 409, 413, 422):
        return text_result(f"Bad input: {message}", True)
    return text_result(f"The server could not do it (HTTP {response.status_code}): {message}", True)


def download_url(base_url: str, file_id: str) -> str:
    return f"{base_url}/api/v1/media/storage/{file_id}"


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and value != ""


def _transcript(info: dict[str, Any]) -> list[str]:
    text = info.get("text")
    if not isinstance(text, str):
        return []
    words = info.get("words")
    count = len(words) if isinstance(words, list) else len(text.split())
    language = f", language {info['language']}" if info.get("language") else ""
    shown = text.strip()
    if len(shown) > MAX_TEXT_CHARS:
        shown = shown[:MAX_TEXT_CHARS] + " [... cut here; the whole transcript is in the file]"
    return [f"Transcript ({count} words{language}):", shown]


def _extra_files(info: dict[str, Any], base_url: str) -> list[str]:
    files = info.get("files")
    if not isinstance(files, list):
        return []
    lines = [f"Files made beside it ({len(files)}):"]
    lines += [
        f"- {item.get('name') or ''} file_id {item['file_id']}: {download_url(base_url, item['file_id'])}"
        for item in files
        if isinstance(item, dict) and "file_id" in item
    ]
    return lines


def _facts(info: dict[str, Any]) -> str:
    skipped = STATUS_KEYS | {"text", "language", *LIST_KEYS}
    facts = [f"{key}={value}" for key, value in info.items() if key not in skipped and _scalar(value)]
    counts = [f"{key}={len(info[key])}" for key in LIST_KEYS[:2] if isinstance(info.get(key), list)]
    return ", ".join(facts + counts)


def _took(info: dict[str, Any]) -> str:
    started, finished = info.get("started_at"), info.get("finished_at")
    if isinstance(started, int | float) and isinstance(finished, int | float):
        return f" in {max(0.0, finished - started):.1f} s"
    return ""


def ready_answer(info: dict[str, Any], base_url: str, reused: bool = False) -> types.CallToolResult:
    """A finished job: its URL, its facts (duration, size...), its transcript and the files it made."""
    file_id = info["file_id"]
    again = " (an identical earlier request's job, reused)" if reused else ""
    lines = [
        f"Ready{_took(info)}{again}: file_id {file_id} ({info.get('kind', 'file')}).",
        f"Download URL: {download_url(base_url, file_id)}",
    ]
    if info.get("name"):
        lines.append(f"Name: {info['name']}")
    facts = _facts(info)
    if facts:
        lines.append(f"Facts: {facts}")
    lines += _transcript(info) + _extra_files(info, base_url)
    return text_result("\n".join(lines))


def job_answer(info: dict[str, Any], base_url: str, waited_s: float, reused: bool = False) -> types.CallToolResult:
    """A job's `/info` as the tool's answer: ready, failed (a tool error), or still running (its id for get_job)."""
    status = info.get("status")
    file_id = info.get("file_id")
    if status == "ready":
        return ready_answer(info, base_url, reused)
    if status == "failed":
        return text_result(f"The job {file_id} failed: {info.get('error') or 'no reason given'}", True)
    progress = f", {info['progress']}% done" if info.get("progress") else ""
    return text_result(
        f"The job is still {status}{progress} after {waited_s:g} s: file_id {file_id}. "
        f"Call get_job with file_id '{file_id}' to wait for it and get its download URL."
    )
