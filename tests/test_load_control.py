"""Load shedding and isolation: refusals at the door, staggered retry times, speech in its own process."""

import os
import signal
import socket
import time

import psutil

from app.limits import RetryPromises
from tests.conftest import RunningServer
from tests.support.waits import WAIT_S

TTS = "/api/v1/media/audio-tools/tts/kokoro"
STATUS = "/api/v1/system/status"
ENGLISH = "The quick brown fox jumps over the lazy dog. Then it runs home."


def busy_server(server_factory, **overrides) -> RunningServer:
    """A server whose single TTS and heavy slots and whose waiting room (of size 0) admit nothing more."""
    return server_factory(max_concurrent_tts=1, max_concurrent_heavy_tasks=1, max_queued_jobs=0, **overrides)


def raw_post_headers(
    server: RunningServer, path: str, content_length: int, content_type: str = "application/x-www-form-urlencoded"
) -> bytes:
    """Send only the headers of a POST that announces a large body, never the body; the server's answer."""
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=WAIT_S) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {content_length}\r\n\r\n".encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        return answer


def test_busy_server_refuses_before_reading_or_validating_the_body(server_factory) -> None:
    server = busy_server(server_factory)
    with server.hold_slot("tts"):
        answer = raw_post_headers(server, TTS, 50_000_000)
        assert answer.startswith(b"HTTP/1.1 429"), answer[:200]
        assert b"retry-after:" in answer.lower()

        refused = server.client.post(TTS, data={"text": "", "speed": "fast"})
        assert refused.status_code == 429 and "busy" in refused.json()["error"]
        assert int(refused.headers["retry-after"]) >= 1

    invalid = server.client.post(TTS, data={"text": "", "speed": "fast"})
    assert invalid.status_code == 422
    assert (
        invalid.json()["error"] == "Field 'speed': Input should be a valid number, unable to parse string as a number"
    )
    assert server.services.jobs.recent(None, None, 100, 0) == []


def test_wrong_api_key_still_gets_401_when_the_server_is_busy(server_factory) -> None:
    server = busy_server(server_factory, api_key="s3cret")
    with server.hold_slot("tts"):
        assert server.client.post(TTS, data={"text": ENGLISH}, headers={"X-API-Key": "wrong"}).status_code == 401
        assert server.client.post(TTS, data={"text": ENGLISH}).status_code == 401
        bearer = server.client.post(TTS, data={"text": ENGLISH}, headers={"Authorization": "Bearer s3cret"})
        assert bearer.status_code == 429


def test_refused_clients_are_told_staggered_retry_times(server_factory) -> None:
    server = busy_server(server_factory)
    server.services.admission.promises = RetryPromises(clock=lambda: 0.0)  # the five refusals at one instant
    with server.hold_slot("tts"):  # however slowly a busy machine sends them: no promise runs out between them
        waits = []
        for _ in range(5):
            response = server.client.post(TTS, data={"text": ENGLISH})
            assert response.status_code == 429
            waits.append(int(response.headers["retry-after"]))
        assert waits == [5, 10, 10, 10, 10], "5 s per tts job ahead, one share more per refusal, never past the work"
        video = server.client.post(
            "/api/v1/media/video-tools/generate/tts-captioned-video",
            data={"background_id": "0" * 32, "text": ENGLISH},
        )
        assert video.status_code == 429, "the video slot is free but the only heavy slot is taken"


def test_responses_say_how_long_the_server_took(server_factory) -> None:
    server = server_factory()
    timing = server.client.get("/health").headers["server-timing"]
    name, _, duration = timing.partition(";dur=")
    assert name == "app" and float(duration) >= 0


def test_speech_runs_in_its_own_process_at_the_heavy_priority_and_cores(server_factory) -> None:
    server = server_factory(heavy_nice=10)  # the suite's servers run at nice 0; this story needs a real nice
    status = server.client.get(STATUS).json()
    engine = status["engine_process"]
    assert engine["pid"] not in (None, status["pid"], os.getpid())
    child = psutil.Process(engine["pid"])
    assert child.nice() == server.settings.heavy_nice
    if status["budget"]["pinned_cores"]:
        assert sorted(child.cpu_affinity()) == status["budget"]["pinned_cores"]
    response = server.client.post(TTS, data={"text": ENGLISH})
    assert server.wait_for(response.json()["file_id"])["status"] == "ready"


def engine_waiting_on_a_call(server: RunningServer) -> dict:
    """The engine process's status once a call is in flight (the job now waits on the engine)."""
    deadline = time.monotonic() + WAIT_S
    while (engine := server.client.get(STATUS).json()["engine_process"])["calls_in_flight"] < 1:
        assert time.monotonic() < deadline, "no call ever reached the engine"
        time.sleep(0.02)
    return engine


def test_killed_engine_process_fails_the_running_job_clearly_and_comes_back(server_factory) -> None:
    server = server_factory()
    before = server.client.get(STATUS).json()["engine_process"]
    os.kill(before["pid"], signal.SIGSTOP)  # the job's first call will wait on a frozen engine
    file_id = server.client.post(TTS, data={"text": ENGLISH}).json()["file_id"]
    engine_waiting_on_a_call(server)
    os.kill(before["pid"], signal.SIGKILL)
    failed = server.wait_for(file_id)
    assert failed["status"] == "failed"
    assert "speech engine process stopped unexpectedly" in failed["error"]
    assert server.client.get(f"/api/v1/media/storage/{file_id}").status_code == 409

    again = server.client.post(TTS, data={"text": ENGLISH})
    assert again.status_code == 202
    assert server.wait_for(again.json()["file_id"])["status"] == "ready"
    after = server.client.get(STATUS).json()["engine_process"]
    assert after["pid"] != before["pid"] and after["restarts"] == before["restarts"] + 1


def test_a_job_that_hangs_past_its_time_limit_fails_clearly_frees_its_slot_and_the_engine_comes_back(
    server_factory,
) -> None:
    server = server_factory(job_timeout_s={"tts": 2}, max_concurrent_tts=1, max_queued_jobs=0)
    before = server.client.get(STATUS).json()["engine_process"]
    os.kill(before["pid"], signal.SIGSTOP)  # the engine hangs: the job's call never returns by itself
    file_id = server.client.post(TTS, data={"text": ENGLISH}).json()["file_id"]
    failed = server.wait_for(file_id)
    assert failed["status"] == "failed"
    assert failed["error"] == "The tts job ran past its time limit of 2 s (JOB_TIMEOUT_S) and was stopped."
    assert server.services.admission.running() == 0
    assert server.client.get(STATUS).json()["engine_process"]["pid"] is None, "the hung engine was killed"

    server.services.heavy.timeouts["tts"] = 600  # the next job restarts the engine: not a test of speed
    again = server.client.post(TTS, data={"text": ENGLISH})
    assert again.status_code == 202, "the slot of the stopped job is free again"
    assert server.wait_for(again.json()["file_id"])["status"] == "ready"
    after = server.client.get(STATUS).json()["engine_process"]
    assert after["pid"] != before["pid"] and after["restarts"] == before["restarts"] + 1


def test_openai_speech_that_hangs_past_its_time_limit_answers_504_and_frees_its_slot(server_factory) -> None:
    server = server_factory(job_timeout_s={"tts": 2}, max_concurrent_tts=1, max_queued_jobs=0)
    before = server.client.get(STATUS).json()["engine_process"]
    os.kill(before["pid"], signal.SIGSTOP)  # the engine hangs: the inline call never returns by itself
    response = server.client.post("/v1/audio/speech", json={"input": ENGLISH, "response_format": "wav"})
    assert response.status_code == 504
    assert response.json() == {"error": "The tts job ran past its time limit of 2 s (JOB_TIMEOUT_S) and was stopped."}
    assert server.services.admission.running() == 0
    assert server.client.get(STATUS).json()["engine_process"]["pid"] is None, "the hung engine was killed"
