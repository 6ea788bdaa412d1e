"""The MCP endpoint through the official MCP Python client over Streamable HTTP, against real servers: every job
route is a tool, calls run real jobs and answer with text and download URLs, admission and the key still hold."""

import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import mcp_types as types
import pytest
import soundfile
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from tests.conftest import ServerFactory
from tests.support.hearing import wer
from tests.support.local_server import RunningServer
from tests.tools.conftest import job_count, make_media, upload_id

WAIT_FIELDS = {"wait", "wait_timeout_s", "wait_timeout_status"}
SCHEMA_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}
SPOKEN = "The weather is nice today, so we will walk to the park. Please send the report to my office before noon."


@asynccontextmanager
async def mcp_client(server: RunningServer, headers: dict[str, str] | None = None) -> AsyncIterator[Client]:
    """The official client on the server's `/mcp`, sending `headers` (the API key) with every request."""
    async with (
        create_mcp_http_client(headers=headers) as http,
        Client(streamable_http_client(f"{server.base_url}/mcp", http_client=http)) as client,
    ):
        yield client


def text_of(result: types.CallToolResult) -> str:
    assert len(result.content) == 1 and isinstance(result.content[0], types.TextContent), result.content
    return result.content[0].text


def download_url_in(text: str) -> str:
    found = re.search(r"Download URL: (\S+)", text)
    assert found, text
    return found.group(1)


def file_id_in(text: str) -> str:
    found = re.search(r"file_id '?([0-9a-zA-Z_-]+)", text)
    assert found, text
    return found.group(1)


async def call(client: Client, tool: str, /, **arguments: Any) -> types.CallToolResult:
    return await client.call_tool(tool, arguments)


async def finished(client: Client, result: types.CallToolResult) -> str:
    """A job tool's answer, followed with get_job while the job still runs (the machine may be slow)."""
    text = text_of(result)
    while "still" in text and not result.is_error:
        result = await call(client, "get_job", file_id=file_id_in(text))
        text = text_of(result)
    assert not result.is_error, text
    return text


def expected_inputs(fields: list[dict[str, Any]]) -> dict[str, str]:
    """A form's fields as tool inputs: the wait fields set by the call, each upload taken as `<field>_url`."""
    return {
        f"{field['name']}_url" if field["type"] == "file" else field["name"]: field["type"]
        for field in fields
        if field["name"] not in WAIT_FIELDS
    }


async def test_every_job_route_is_a_tool_whose_inputs_are_its_form_fields(torch_server: RunningServer) -> None:
    async with mcp_client(torch_server) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    by_path = {tool.meta["path"]: tool for tool in listed.values() if tool.meta and "path" in tool.meta}
    kinds = torch_server.app.state.job_kinds  # the routes marked admitted_as; POST ones outside /v1 make jobs
    job_routes = {path for (method, path) in kinds if method == "POST" and not path.startswith("/v1/")}
    assert job_routes and job_routes <= by_path.keys(), job_routes - by_path.keys()
    forms = torch_server.client.get("/api/v1/media/tools").json()["tools"]
    assert {form["path"] for form in forms} == set(by_path)
    for form in forms:
        tool = by_path[form["path"]]
        inputs = expected_inputs(form["fields"])
        properties = tool.input_schema["properties"]
        assert set(properties) == set(inputs), (tool.name, set(properties) ^ set(inputs))
        for name, kind in inputs.items():
            expected, actual = SCHEMA_TYPES.get(kind, "string"), properties[name]["type"]
            structured = expected == "string" and actual in ("array", "object")  # the page types a JSON body's
            assert actual == expected or structured, (tool.name, name)  # lists as text; an agent gets their shape
        required = {f"{f['name']}_url" if f["type"] == "file" else f["name"] for f in form["fields"] if f["required"]}
        assert set(tool.input_schema.get("required", [])) == required, tool.name
        assert tool.description and form["summary"] in tool.description
    assert {"audio_tools_tts_kokoro", "video_tools_merge", "audio_tools_transcribe", "utils_convert_pcm_wav"} <= set(
        listed
    )
    assert "file_url" in listed["utils_convert_pcm_wav"].input_schema["properties"]
    assert {"upload_from_url", "list_files", "get_job"} <= set(listed)
    assert len(listed) == len(job_routes) + 3


async def test_speaking_answers_with_a_url_that_downloads_real_audio(torch_server: RunningServer) -> None:
    async with mcp_client(torch_server) as client:
        text = await finished(client, await call(client, "audio_tools_tts_kokoro", text="Hello there, agent."))
    assert text.startswith("Ready") and "duration=" in text, text
    response = httpx.get(download_url_in(text), timeout=60)
    assert response.status_code == 200 and response.content[:4] == b"RIFF"
    audio, rate = soundfile.read(io.BytesIO(response.content))
    assert rate == 24_000 and len(audio) > rate // 10


async def test_a_toolbox_tool_converts_a_stored_file_and_lists_it(torch_server: RunningServer, tmp_path: Path) -> None:
    tone = tmp_path / "tone.wav"
    make_media("-f", "lavfi", "-i", "sine=frequency=440:duration=2", str(tone))
    stored = upload_id(torch_server, tone, "audio")
    async with mcp_client(torch_server) as client:
        result = await call(client, "audio_tools_convert", file_id=stored, format="mp3", channels=1, dedup=False)
        text = await finished(client, result)
        made = file_id_in(text)
        listing = text_of(await call(client, "list_files", media_type="audio"))
    assert "duration=2" in text and "audio_codec=mp3" in text, text
    response = httpx.get(download_url_in(text), timeout=60)
    assert response.status_code == 200 and response.headers["content-type"] == "audio/mpeg"
    assert made in listing and stored in listing, listing


async def test_transcribing_gives_the_words_the_server_spoke(onnx_server: RunningServer) -> None:
    async with mcp_client(onnx_server) as client:
        speech = await finished(client, await call(client, "audio_tools_tts_kokoro", text=SPOKEN, lang_code="a"))
        heard = await finished(client, await call(client, "audio_tools_transcribe", audio_id=file_id_in(speech)))
    found = re.search(r"Transcript \((\d+) words, language en\):\n(.*)", heard, re.S)
    assert found, heard
    count, text = found.groups()
    assert wer(SPOKEN, text) <= 0.2, text
    assert abs(int(count) - len(SPOKEN.split())) <= 3, count


async def test_a_job_that_outlives_mcp_wait_s_answers_its_id_then_get_job_gives_the_url(
    server_factory: ServerFactory,
) -> None:
    server = server_factory(mcp_wait_s=0.5)
    async with mcp_client(server) as client:
        with server.frozen_engine():
            result = await call(client, "audio_tools_tts_kokoro", text="A sentence that waits for the engine.")
            text = text_of(result)
            assert not result.is_error and "still processing" in text and "get_job" in text, text
            file_id = file_id_in(text)
            later = text_of(await call(client, "get_job", file_id=file_id, wait=False))
            assert "still processing" in later, later
        assert server.wait_for(file_id)["status"] == "ready"
        done = text_of(await call(client, "get_job", file_id=file_id))
    assert done.startswith("Ready") and download_url_in(done).endswith(f"/api/v1/media/storage/{file_id}"), done
    assert httpx.get(download_url_in(done), timeout=60).content[:4] == b"RIFF"


async def test_a_busy_server_answers_a_sentence_with_when_to_retry(server_factory: ServerFactory) -> None:
    server = server_factory(max_concurrent_tts=1, max_queued_jobs=0)
    async with mcp_client(server) as client:
        with server.hold_slot("tts"):
            result = await call(client, "audio_tools_tts_kokoro", text="No room for this one.")
    text = text_of(result)
    assert result.is_error and "busy" in text, text
    assert re.search(r"again in \d+ s\.", text), text
    assert job_count(server) == 0


async def test_bad_input_comes_back_as_a_tool_error_naming_the_field(torch_server: RunningServer) -> None:
    async with mcp_client(torch_server) as client:
        unknown_file = await call(client, "audio_tools_transcribe", audio_id="nosuchfile")
        bad_choice = await call(client, "audio_tools_transcribe", audio_id="nosuchfile", task="sing")
        no_text = await call(client, "audio_tools_tts_kokoro", voice="af_heart")
        stray = await call(client, "audio_tools_tts_kokoro", text="Hi.", colour="blue")
        no_job = await call(client, "get_job", file_id="nosuchjob")
    for result, field in (
        (unknown_file, "audio_id"),
        (bad_choice, "task"),
        (no_text, "text"),
        (stray, "colour"),
        (no_job, "file_id"),
    ):
        text = text_of(result)
        assert result.is_error and field in text and "Traceback" not in text, (field, text)


async def test_upload_from_url_stores_a_file_the_other_tools_take(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    server = server_factory(allow_private_urls=True)
    tone = tmp_path / "beep.wav"
    make_media("-f", "lavfi", "-i", "sine=frequency=880:duration=1", str(tone))
    source = upload_id(server, tone, "audio")
    async with mcp_client(server) as client:
        url = f"{server.base_url}/api/v1/media/storage/{source}"
        stored = text_of(await call(client, "upload_from_url", url=url, media_type="audio", name="beep"))
        file_id = file_id_in(stored)
        info = text_of(await call(client, "get_job", file_id=file_id))
        refused = await call(client, "upload_from_url", url=url, media_type="video")
    assert stored.startswith("Ready") and file_id != source and "Name: beep" in stored, stored
    assert info.startswith("Ready") and file_id in info, info
    assert refused.is_error and "media_type" in text_of(refused), text_of(refused)


async def test_without_the_key_the_mcp_endpoint_refuses(server_factory: ServerFactory) -> None:
    server = server_factory(api_key="s3cret")
    plain = httpx.post(f"{server.base_url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert plain.status_code == 401 and "API key" in plain.json()["error"]
    wrong = httpx.post(f"{server.base_url}/mcp", json={}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "The API key is wrong."
    with pytest.raises(ExceptionGroup) as refused:  # the client's first request gets the 401: it cannot connect
        async with mcp_client(server) as client:
            await client.list_tools()
    assert refused.group_contains(MCPError, depth=None), repr(refused.value)
    for headers in ({"Authorization": "Bearer s3cret"}, {"X-API-Key": "s3cret"}):
        async with mcp_client(server, headers) as client:
            assert "get_job" in {tool.name for tool in (await client.list_tools()).tools}
            text = await finished(client, await call(client, "audio_tools_tts_kokoro", text="With the key."))
            assert text.startswith("Ready"), text
