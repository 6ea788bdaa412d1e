"""How a job route's OpenAPI form becomes an MCP tool: its name, its inputs, and the arguments sent back as a form."""

from typing import Any

import pytest

from app.agent_tools.calls import BadArgument, split_arguments
from app.agent_tools.catalog import job_tool_catalog, tool_name

SPEC: dict[str, Any] = {
    "paths": {
        "/api/v1/media/audio-tools/echo": {
            "post": {
                "summary": "Echo a sound",
                "description": "Repeats `audio_id` with a delay.",
                "responses": {"202": {}},
                "requestBody": {
                    "content": {
                        "application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/EchoForm"}}
                    }
                },
            }
        },
        "/api/v1/utils/convert/raw": {
            "post": {
                "summary": "Raw to WAV",
                "responses": {"202": {}},
                "requestBody": {
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {
                                    "file": {"type": "string", "format": "binary", "description": "Raw bytes."},
                                    "wait": {"type": "boolean", "default": False},
                                },
                            }
                        }
                    }
                },
            }
        },
        "/api/v1/media/audio-tools/instant": {"post": {"summary": "Answered directly", "responses": {"200": {}}}},
    },
    "components": {
        "schemas": {
            "EchoForm": {
                "type": "object",
                "title": "EchoForm",
                "required": ["audio_id"],
                "properties": {
                    "audio_id": {"type": "string", "title": "Audio Id", "description": "A stored audio file."},
                    "delay_ms": {
                        "anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}],
                        "title": "Delay Ms",
                        "description": "Milliseconds.",
                    },
                    "mode": {"$ref": "#/components/schemas/Mode", "default": "soft"},
                    "name": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Name"},
                    "wait_timeout_s": {"anyOf": [{"type": "number"}, {"type": "null"}]},
                    "wait_timeout_status": {"type": "string", "enum": ["504", "202"]},
                },
            },
            "Mode": {"type": "string", "enum": ["soft", "hard"], "title": "Mode"},
        }
    },
}
KINDS = {
    ("POST", "/api/v1/media/audio-tools/echo"): "audio",
    ("POST", "/api/v1/utils/convert/raw"): "audio",
    ("POST", "/api/v1/media/audio-tools/instant"): "audio",
}


def test_a_tool_is_named_after_its_path_past_the_api_prefix() -> None:
    assert tool_name("/api/v1/media/video-tools/merge") == "video_tools_merge"
    assert tool_name("/api/v1/media/audio-tools/tts/kokoro") == "audio_tools_tts_kokoro"
    assert tool_name("/api/v1/utils/convert/pcm/wav") == "utils_convert_pcm_wav"


def test_a_forms_fields_become_plain_inputs_without_the_wait_fields() -> None:
    catalog = job_tool_catalog(SPEC, KINDS)
    assert set(catalog) == {"audio_tools_echo", "utils_convert_raw"}, "a route answering at once is no job tool"
    echo = catalog["audio_tools_echo"]
    assert echo.kind == "audio" and echo.description.startswith("Echo a sound\n\nRepeats `audio_id`")
    assert echo.input_schema == {
        "type": "object",
        "properties": {
            "audio_id": {"type": "string", "description": "A stored audio file."},
            "delay_ms": {"type": "integer", "minimum": 1, "description": "Milliseconds."},
            "mode": {"type": "string", "enum": ["soft", "hard"], "default": "soft"},
            "name": {"type": "string", "description": "A name for the result's downloads."},
        },
        "required": ["audio_id"],
    }


def test_an_upload_field_becomes_a_url_the_server_fetches() -> None:
    raw = job_tool_catalog(SPEC, KINDS)["utils_convert_raw"]
    assert raw.file_fields == {"file_url": "file"}
    assert raw.input_schema["required"] == ["file_url"]
    assert set(raw.input_schema["properties"]) == {"file_url"}
    fields, urls = split_arguments(raw, {"file_url": "https://example.com/a.raw"})
    assert fields == {} and urls == {"file": "https://example.com/a.raw"}


def test_two_routes_with_one_name_stop_the_catalog() -> None:
    spec = {**SPEC, "paths": {**SPEC["paths"], "/api/v1/audio-tools/echo": SPEC["paths"]["/api/v1/utils/convert/raw"]}}
    with pytest.raises(ValueError, match="audio_tools_echo"):
        job_tool_catalog(spec, {**KINDS, ("POST", "/api/v1/audio-tools/echo"): "audio"})


def test_arguments_are_sent_as_form_values_and_strangers_are_named() -> None:
    echo = job_tool_catalog(SPEC, KINDS)["audio_tools_echo"]
    fields, urls = split_arguments(echo, {"audio_id": "abc", "delay_ms": 250, "mode": None, "name": True})
    assert fields == {"audio_id": "abc", "delay_ms": "250", "name": "true"} and urls == {}
    with pytest.raises(BadArgument, match="'volume'"):
        split_arguments(echo, {"audio_id": "abc", "volume": 3})
    with pytest.raises(BadArgument, match="'delay_ms'"):
        split_arguments(echo, {"audio_id": "abc", "delay_ms": {"ms": 3}})
