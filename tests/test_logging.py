"""Operators read logs: one line per request and per job transition, JSON when LOG_FORMAT=json."""

import json


def test_json_logs_have_one_line_per_request_and_per_job_transition(server_factory, capfd) -> None:
    server = server_factory(log_format="json")
    response = server.client.post(
        "/api/v1/media/audio-tools/tts/kokoro", data={"text": "Logs are for operators.", "wait": "true"}
    )
    file_id = response.headers["x-file-id"]
    server.stop()  # every line is written once the server has stopped; reading while it writes can lose lines
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    transitions = [entry for entry in lines if entry.get("job_id") == file_id]
    assert [entry["status"] for entry in transitions] == ["queued", "processing", "ready"]
    assert all(entry["kind"] == "tts" and entry["duration_s"] >= 0 for entry in transitions)
    requests = [entry for entry in lines if entry.get("path") == "/api/v1/media/audio-tools/tts/kokoro"]
    assert len(requests) == 1
    assert requests[0]["method"] == "POST" and requests[0]["status_code"] == 200 and requests[0]["duration_ms"] > 0
