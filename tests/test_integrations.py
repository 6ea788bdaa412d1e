"""What automation users rely on: durable jobs, webhooks, wait mode, OpenAI speech, API key, safe storage."""

import asyncio
import hashlib
import hmac
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import openai
import pytest
import soundfile

from app.services.jobs import Job
from app.services.webhooks import WebhookSender
from tests.conftest import RunningServer
from tests.support.waits import WAIT_S

TTS = "/api/v1/media/audio-tools/tts/kokoro"
TEXT = "Automation users want one node that just works."


class WebhookReceiver:
    """A loopback HTTP server that records POSTs, answers 500 to the first `fail_first` of them, then `answer`
    (with a Location header when `location` is given)."""

    def __init__(self, fail_first: int = 0, answer: int = 200, location: str | None = None) -> None:
        self.calls: list[tuple[dict, bytes]] = []
        self.fail_first = fail_first
        self.answer = answer
        self.location = location
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append((dict(self.headers), body))
                self.send_response(500 if len(receiver.calls) <= receiver.fail_first else receiver.answer)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = WAIT_S) -> None:
        deadline = time.monotonic() + timeout
        while len(self.calls) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.calls) >= count, self.calls

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RecordingJobs:
    """Just enough of the job store for a WebhookSender: remembers each job's webhook outcome."""

    def __init__(self) -> None:
        self.webhooks: dict[str, dict] = {}

    def update(self, job_id: str, **fields) -> None:
        self.webhooks[job_id] = fields["webhook"]


def test_webhook_is_signed_and_retried_after_a_500(server_factory) -> None:
    receiver = WebhookReceiver(fail_first=1)
    try:
        server = server_factory(webhook_secret="s3cret", allow_private_urls=True)
        file_id = server.client.post(TTS, data={"text": TEXT, "webhook_url": receiver.url}).json()["file_id"]
        receiver.wait_for(2)
        headers, body = receiver.calls[1]
        assert headers["X-Signature"] == hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        payload = json.loads(body)
        assert payload["file_id"] == file_id and payload["status"] == "ready" and payload["kind"] == "tts"
        assert payload["download_url"].endswith(f"/api/v1/media/storage/{file_id}") and payload["error"] is None
        assert server.client.get(payload["download_url"]).status_code == 200
        deadline = time.monotonic() + WAIT_S
        while server.services.jobs.get(file_id).webhook is None and time.monotonic() < deadline:
            time.sleep(0.05)
        outcome = server.services.jobs.get(file_id).webhook
        assert outcome["delivered"] is True and outcome["attempts"] == 2
    finally:
        receiver.close()


def test_a_failing_webhook_never_fails_the_job(server_factory) -> None:
    receiver = WebhookReceiver(fail_first=10)
    try:
        server = server_factory(allow_private_urls=True)
        sender = next(hook for hook in server.services.runner.end_hooks if isinstance(hook, WebhookSender))
        sender.backoff_s = 0.01
        file_id = server.client.post(TTS, data={"text": TEXT, "webhook_url": receiver.url}).json()["file_id"]
        receiver.wait_for(3)
        assert server.wait_for(file_id)["status"] == "ready"
        deadline = time.monotonic() + WAIT_S
        while server.services.jobs.get(file_id).webhook is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.services.jobs.get(file_id).webhook["delivered"] is False
        assert len(receiver.calls) == 3
    finally:
        receiver.close()


def test_bad_webhook_url_is_refused_before_anything_runs(torch_server: RunningServer) -> None:
    response = torch_server.client.post(TTS, data={"text": TEXT, "webhook_url": "ftp://example.org/x"})
    assert response.status_code == 400 and "webhook_url" in response.json()["error"]


def test_webhook_to_loopback_is_refused_by_default_and_creates_no_job(server_factory) -> None:
    server = server_factory()
    response = server.client.post(TTS, data={"text": TEXT, "webhook_url": "http://127.0.0.1:9/hook"})
    assert response.status_code == 400, response.text
    assert "webhook_url" in response.json()["error"] and "127.0.0.1" in response.json()["error"]
    assert server.client.get("/api/v1/media/jobs").json()["jobs"] == []


def test_webhook_whose_host_resolves_to_loopback_at_delivery_sends_nothing() -> None:
    receiver = WebhookReceiver()
    try:
        jobs = RecordingJobs()
        sender = WebhookSender(jobs, None, allow_private=False, resolve=lambda host, port: ["127.0.0.1"])
        asyncio.run(sender(Job(id="rebound", kind="tts", webhook_url=receiver.url)))
        outcome = jobs.webhooks["rebound"]
        assert outcome["delivered"] is False and outcome["attempts"] == 0
        assert "not allowed" in outcome["error"] and "127.0.0.1" in outcome["error"]
        asyncio.run(
            WebhookSender(jobs, None, allow_private=True)(Job(id="allowed", kind="tts", webhook_url=receiver.url))
        )
        assert jobs.webhooks["allowed"]["delivered"] is True
        assert [json.loads(body)["file_id"] for _, body in receiver.calls] == ["allowed"]
    finally:
        receiver.close()


def test_a_redirecting_webhook_is_neither_followed_nor_delivered() -> None:
    elsewhere = WebhookReceiver()
    redirecting = WebhookReceiver(answer=307, location=elsewhere.url)
    try:
        jobs = RecordingJobs()
        sender = WebhookSender(jobs, None, allow_private=True, backoff_s=0.01)
        asyncio.run(sender(Job(id="moved", kind="tts", webhook_url=redirecting.url)))
        outcome = jobs.webhooks["moved"]
        assert outcome["delivered"] is False and outcome["status_code"] == 307 and "redirect" in outcome["error"]
        assert len(redirecting.calls) == 3 and elsewhere.calls == []
    finally:
        redirecting.close()
        elsewhere.close()


def test_wait_mode_answers_with_the_file_itself(torch_server: RunningServer) -> None:
    response = torch_server.client.post(TTS, data={"text": TEXT, "wait": "true", "format": "wav"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert soundfile.info(io.BytesIO(response.content)).samplerate == 24_000
    file_id = response.headers["x-file-id"]
    assert torch_server.client.get(f"/api/v1/media/storage/{file_id}/status").json()["status"] == "ready"


def test_wait_mode_past_its_timeout_answers_504_to_retry_or_202_when_asked(server_factory) -> None:
    server = server_factory(wait_timeout_s=0.2)
    with server.frozen_engine():
        response = server.client.post(TTS, data={"text": TEXT * 4, "wait": "true"})
        assert response.status_code == 504 and int(response.headers["retry-after"]) >= 1
        asked = server.client.post(TTS, data={"text": TEXT * 4, "wait": "true", "wait_timeout_status": "202"})
        assert asked.status_code == 202 and asked.json()["file_id"] == response.json()["file_id"]
    assert server.wait_for(response.json()["file_id"])["status"] == "ready"


def test_restart_fails_interrupted_jobs_instead_of_leaving_them_processing(server_factory, tmp_path) -> None:
    storage = tmp_path / "durable"
    first = server_factory(storage_path=storage, max_concurrent_tts=1, max_queued_jobs=3)
    done = first.client.post(TTS, data={"text": TEXT, "wait": "true"}).headers["x-file-id"]
    running = first.client.post(TTS, data={"text": TEXT * 6}).json()["file_id"]
    queued = first.client.post(TTS, data={"text": f"{TEXT} Queued."}).json()["file_id"]
    deadline = time.monotonic() + WAIT_S
    while first.client.get(f"/api/v1/media/storage/{running}/status").json()["status"] != "processing":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first.stop()
    second = server_factory(storage_path=storage)
    assert second.client.get(f"/api/v1/media/storage/{done}/status").json()["status"] == "ready"
    assert second.client.get(f"/api/v1/media/storage/{done}").status_code == 200
    for file_id in (running, queued):
        status = second.client.get(f"/api/v1/media/storage/{file_id}/status").json()
        assert status["status"] == "failed" and "interrupted by a restart" in status["error"]
    assert not any((storage / "tmp").iterdir())


def test_restart_with_requeue_runs_interrupted_jobs_again(server_factory, tmp_path) -> None:
    storage = tmp_path / "requeue"
    first = server_factory(storage_path=storage, max_concurrent_tts=1, max_queued_jobs=3)
    ids = [first.client.post(TTS, data={"text": f"{TEXT * 3} Number {i}."}).json()["file_id"] for i in range(2)]
    first.stop()
    second = server_factory(storage_path=storage, requeue_interrupted=True)
    assert [second.wait_for(file_id)["status"] for file_id in ids] == ["ready", "ready"]


def test_jobs_are_listed_filtered_and_a_queued_job_can_be_cancelled(server_factory) -> None:
    server = server_factory(max_concurrent_tts=1, max_queued_jobs=3)
    with server.frozen_engine():
        running = server.client.post(TTS, data={"text": TEXT}).json()["file_id"]
        queued = server.client.post(TTS, data={"text": f"{TEXT} Queued."}).json()["file_id"]
        listed = server.client.get("/api/v1/media/jobs", params={"status": "queued", "kind": "tts"}).json()["jobs"]
        assert [job["file_id"] for job in listed] == [queued]
        response = server.client.delete(f"/api/v1/media/storage/{queued}")
        assert response.status_code == 200 and response.json()["cancelled"] is True
        assert server.client.get(f"/api/v1/media/storage/{queued}/status").status_code == 404
        refused = server.client.delete(f"/api/v1/media/storage/{running}")
        assert refused.status_code == 409 and "is running and cannot be deleted" in refused.json()["error"]
    assert server.client.get("/api/v1/media/jobs", params={"status": "nonsense"}).status_code == 422
    huge = server.client.get("/api/v1/media/jobs", params={"offset": str(10**30)})
    assert huge.status_code == 422 and "offset" in huge.json()["error"]
    server.wait_for(running)


def test_expired_files_are_swept_with_their_records(server_factory) -> None:
    from app.services.retention import sweep

    server = server_factory()
    file_id = server.client.post(TTS, data={"text": TEXT, "wait": "true"}).headers["x-file-id"]
    services = server.services
    assert sweep(services.jobs, services.files, ttl_hours=1) == 0
    services.jobs.update(file_id, finished_at=time.time() - 7200)
    assert sweep(services.jobs, services.files, ttl_hours=1) == 1
    assert server.client.get(f"/api/v1/media/storage/{file_id}/status").status_code == 404
    assert list((server.settings.storage_path / "files").iterdir()) == []


def test_range_and_head_requests_on_downloads(torch_server: RunningServer) -> None:
    file_id = torch_server.client.post(TTS, data={"text": TEXT, "wait": "true"}).headers["x-file-id"]
    url = f"/api/v1/media/storage/{file_id}"
    whole = torch_server.client.get(url).content
    head = torch_server.client.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(whole)
    part = torch_server.client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/media/storage/..%2F..%2Fjobs.sqlite3",
        "/api/v1/media/storage/..%2Fjobs.sqlite3/status",
        "/api/v1/media/storage/%2Fetc%2Fpasswd/info",
        "/api/v1/media/storage/....%2F%2Fetc%2Fpasswd",
        "/api/v1/media/storage/%252e%252e%252fjobs.sqlite3",
    ],
)
def test_path_traversal_on_id_parameters_reads_nothing(torch_server: RunningServer, path: str) -> None:
    response = torch_server.client.get(path)
    assert response.status_code == 404
    assert "SQLite" not in response.text and "root:" not in response.text
    assert torch_server.client.delete(path.removesuffix("/status").removesuffix("/info")).status_code == 404


def test_api_key_is_required_when_set(server_factory) -> None:
    server = server_factory(api_key="k-123")
    assert server.client.get("/health").status_code == 200
    missing = server.client.get(f"{TTS}/voices")
    assert missing.status_code == 401 and "X-API-Key" in missing.json()["error"]
    assert server.client.get(f"{TTS}/voices", headers={"X-API-Key": "wrong"}).status_code == 401
    assert server.client.get(f"{TTS}/voices", headers={"X-API-Key": "k-123"}).status_code == 200
    assert server.client.get(f"{TTS}/voices", headers={"Authorization": "Bearer k-123"}).status_code == 200
    assert server.client.post("/v1/audio/speech", json={"input": "hi"}).status_code == 401
    schemes = server.client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert {"APIKeyHeader", "HTTPBearer"} <= set(schemes)


def test_openai_client_creates_speech_in_mp3_and_wav(torch_server: RunningServer) -> None:
    client = openai.OpenAI(base_url=f"{torch_server.base_url}/v1", api_key="unused")
    mp3 = client.audio.speech.create(model="tts-1", voice="af_heart", input=TEXT).content
    assert mp3[:3] == b"ID3" or (mp3[0] == 0xFF and mp3[1] & 0xE0 == 0xE0)
    wav = client.audio.speech.create(model="kokoro", voice="alloy", input=TEXT, response_format="wav").content
    assert wav[:4] == b"RIFF" and soundfile.info(io.BytesIO(wav)).samplerate == 24_000
    models = [m.id for m in client.models.list().data]
    assert "kokoro" in models and "tts-1" in models


def test_streamed_speech_arrives_in_chunks(torch_server: RunningServer) -> None:
    text = "First sentence here. " * 20
    with torch_server.client.stream(
        "POST", "/v1/audio/speech", json={"input": text, "voice": "af_heart", "response_format": "pcm", "stream": True}
    ) as response:
        assert response.status_code == 200
        pieces = [piece for piece in response.iter_bytes() if piece]
    audio = b"".join(pieces)
    assert len(pieces) > 1 and len(audio) % 2 == 0 and len(audio) > 24_000 * 2
    streamed_mp3 = torch_server.client.post(
        "/v1/audio/speech", json={"input": TEXT, "response_format": "mp3", "stream": True}
    ).content
    assert streamed_mp3[:3] == b"ID3" or streamed_mp3[0] == 0xFF


def test_blended_voice_differs_from_each_part(torch_server: RunningServer) -> None:
    def pcm(voice: str) -> np.ndarray:
        body = {"input": TEXT, "voice": voice, "response_format": "pcm"}
        return np.frombuffer(torch_server.client.post("/v1/audio/speech", json=body).content, dtype="<i2")

    bella, sky, blend = pcm("af_bella"), pcm("af_sky"), pcm("af_bella(2)+af_sky(1)")
    assert len(blend) > 0 and not np.array_equal(blend, bella) and not np.array_equal(blend, sky)
    assert torch_server.client.get("/v1/audio/voices").json()["voices"]
    bad = torch_server.client.post("/v1/audio/speech", json={"input": TEXT, "voice": "af_bella+nobody"})
    assert bad.status_code == 422 and "nobody" in bad.json()["error"]
