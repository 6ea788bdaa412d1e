"""n8n bursts get through: retries reattach to the jobs they made, even through a full door; submissions
queue to the room's ceiling while waits are bounded by time; and an expiring wait cannot pass for the file."""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.conftest import RunningServer
from tests.test_load_control import raw_post_headers
from tests.video.conftest import AUDIO, ENCODE, make_media

TTS = "/api/v1/media/audio-tools/tts/kokoro"
MERGE = "/api/v1/media/video-tools/merge"
UPLOAD = "/api/v1/media/storage"
N8N_TRIES = 5
N8N_WAIT_BETWEEN_TRIES_S = 5.0
MULTIPART = "multipart/form-data; boundary=x"


def sentence(index: int) -> str:
    return f"Item number {index} says hello."


Tries = list[list[httpx.Response]]


def n8n_node(
    server: RunningServer,
    items: list[dict[str, str]],
    between_tries: Callable[[Tries], None] = lambda _: None,
    tries: Tries | None = None,
) -> tuple[list[httpx.Response], int]:
    """What one n8n HTTP Request node with Retry On Fail does: every item at once; on any failure, the whole
    node again with every item after a fixed wait, whatever Retry-After says. Its answers and tries.
    `between_tries` runs after each failed try (a story moves the server on there); `tries` collects them."""
    tries = [] if tries is None else tries
    with (
        httpx.Client(base_url=server.base_url, timeout=300, limits=httpx.Limits(max_connections=64)) as client,
        ThreadPoolExecutor(max_workers=len(items)) as pool,
    ):
        for attempt in range(1, N8N_TRIES + 1):
            answers = list(pool.map(lambda fields: client.post(TTS, data=fields), items))
            tries.append(answers)
            if all(answer.status_code < 400 for answer in answers):
                return answers, attempt
            if attempt < N8N_TRIES:
                between_tries(tries)
                time.sleep(N8N_WAIT_BETWEEN_TRIES_S)
    raise AssertionError(f"the node failed {N8N_TRIES} times: {[a.status_code for a in answers]}")


def codes(answers: list[httpx.Response]) -> list[int]:
    return [answer.status_code for answer in answers]


def accepted_ids(answers: list[httpx.Response]) -> list[str]:
    return [answer.json()["file_id"] for answer in answers if answer.status_code == 202]


def tts_jobs(server: RunningServer) -> list[str]:
    return [job.id for job in server.services.jobs.recent(None, "tts", 1000, 0)]


def test_one_n8n_node_with_twelve_items_and_wait_delivers_twelve_files_from_twelve_syntheses(server_factory) -> None:
    server = server_factory(max_concurrent_tts=2, max_concurrent_heavy_tasks=2)
    items = [{"text": sentence(i), "wait": "true"} for i in range(12)]
    answers, _ = n8n_node(server, items)
    assert [answer.status_code for answer in answers] == [200] * 12
    assert all(answer.headers["content-type"] == "audio/wav" for answer in answers)
    file_ids = [answer.headers["x-file-id"] for answer in answers]
    assert len(set(file_ids)) == 12
    assert sorted(tts_jobs(server)) == sorted(file_ids), "one synthesis per item, none thrown away"
    names = [answer.headers["content-disposition"] for answer in answers]
    assert names == [f'attachment; filename="{file_id}.wav"' for file_id in file_ids]
    assert server.services.admission.snapshot()["kinds"]["tts"]["peak_running"] == 2


def test_thirty_items_get_through_the_small_preset_and_its_caps_hold(server_factory) -> None:
    server = server_factory(max_concurrent_tts=1, max_concurrent_heavy_tasks=1, max_cpu_threads=1)
    items = [{"text": sentence(i), "wait": "true"} for i in range(30)]
    answers, tries = n8n_node(server, items)
    assert [answer.status_code for answer in answers] == [200] * 30
    file_ids = {answer.headers["x-file-id"] for answer in answers}
    assert len(file_ids) == 30 and sorted(tts_jobs(server)) == sorted(file_ids)
    snapshot = server.services.admission.snapshot()
    assert snapshot["heavy"]["peak_running"] == 1 and snapshot["kinds"]["tts"]["peak_running"] == 1
    assert tries <= N8N_TRIES


def test_without_wait_twelve_items_get_twelve_job_ids_and_no_orphan_job(server_factory) -> None:
    """A full room and a stalled engine: the accepted items' retries reattach through the full door, the new
    ones are refused; once the engine has worked through the room, the next try delivers the rest."""
    server = server_factory(max_concurrent_tts=1, max_concurrent_heavy_tasks=1, max_queued_jobs=4)
    items = [{"text": sentence(i)} for i in range(12)]
    frozen = server.frozen_engine()
    frozen.__enter__()

    def between_tries(tries: Tries) -> None:
        """After the second try the engine comes back; from then on the jobs accepted end before the next try
        (in place of n8n's fixed wait, which a slow machine could outlast)."""
        if len(tries) == 2:
            frozen.__exit__(None, None, None)
        if len(tries) >= 2:
            for file_id in accepted_ids(tries[-1]):
                server.wait_for(file_id, timeout=120)

    tries: Tries = []
    try:
        answers, attempts = n8n_node(server, items, between_tries, tries)
    finally:
        if len(tries) < 2:
            frozen.__exit__(None, None, None)
    assert attempts > 1, "the room of 4 cannot take 12 at once: the node must have retried"
    assert codes(tries[0]).count(202) == 5 and codes(tries[0]).count(429) == 7, "one slot and four places"
    assert codes(tries[1]) == codes(tries[0]), "the full door let the five retries reattach, and only those"
    assert accepted_ids(tries[1]) == accepted_ids(tries[0])
    assert all(a.json()["reused"] for a in tries[1] if a.status_code == 202)
    file_ids = [answer.json()["file_id"] for answer in answers]
    assert len(set(file_ids)) == 12
    assert sorted(tts_jobs(server)) == sorted(file_ids), "every job made is one the workflow knows"
    assert [server.wait_for(file_id, timeout=120)["status"] for file_id in file_ids] == ["ready"] * 12


def test_submissions_queue_to_the_rooms_ceiling_however_long_the_wait_would_be(server_factory) -> None:
    """MAX_QUEUE_WAIT_S bounds only requests that wait for their answer: with recent jobs taking minutes, a
    submission still gets a place and a 202; a wait=true request is refused at once with Retry-After."""
    server = server_factory(max_concurrent_tts=1, max_concurrent_heavy_tasks=1, max_queued_jobs=3, max_queue_wait_s=1)
    with server.frozen_engine():
        submitted = [server.client.post(TTS, data={"text": sentence(i)}) for i in range(4)]
        assert codes(submitted) == [202] * 4, "one slot and three places, whatever the estimate says"
        waiting = server.client.post(TTS, data={"text": sentence(5), "wait": "true"})
        assert waiting.status_code == 429 and int(waiting.headers["retry-after"]) >= 1
        over = server.client.post(TTS, data={"text": sentence(6)})
        assert over.status_code == 429 and "waiting room are taken" in over.json()["error"]
    assert [server.wait_for(a.json()["file_id"], timeout=120)["status"] for a in submitted] == ["ready"] * 4


def test_with_wait_a_retry_through_a_full_door_reattaches_and_twelve_items_end_as_twelve_files(
    server_factory,
) -> None:
    server = server_factory(max_concurrent_tts=1, max_concurrent_heavy_tasks=1, max_queued_jobs=5)
    items = [{"text": sentence(i), "wait": "true"} for i in range(12)]
    with server.frozen_engine():
        first = [server.client.post(TTS, data={"text": item["text"]}) for item in items[:6]]
        assert codes(first) == [202] * 6, "accepted by an earlier try"
        file_ids = accepted_ids(first)
        assert server.client.post(TTS, data=items[6]).status_code == 429, "the slot and the room are full"
        again = server.client.post(TTS, data={**items[0], "wait_timeout_s": "0.2"})
        assert again.status_code == 504 and again.json()["file_id"] == file_ids[0], "reattached, not refused"
        assert again.json()["reused"] is True
        assert file_ids[0] in again.json()["error"], "n8n shows only the sentence: it names the file"
    answers, _ = n8n_node(server, items)
    assert codes(answers) == [200] * 12
    delivered = [answer.headers["x-file-id"] for answer in answers]
    assert delivered[:6] == file_ids and len(set(delivered)) == 12
    assert sorted(tts_jobs(server)) == sorted(delivered), "twelve syntheses, none twice"


def test_an_upload_is_still_refused_at_a_full_door_without_being_read(server_factory) -> None:
    server = server_factory(max_concurrent_audio=1, max_concurrent_heavy_tasks=1, max_queued_jobs=0)
    with server.hold_slot("audio"):
        answer = raw_post_headers(server, "/api/v1/media/audio-tools/convert", 5_000_000, MULTIPART)
        assert answer.startswith(b"HTTP/1.1 429"), answer[:200]
        invalid_small = server.client.post(TTS.replace("tts/kokoro", "convert"), data={"format": "nope"})
        assert invalid_small.status_code == 429, "a small body that is no retry is refused as the door would"


def test_an_identical_request_reuses_the_job_while_it_runs_and_once_it_is_ready(server_factory) -> None:
    server = server_factory()
    fields = {"text": sentence(1), "voice": "af_heart", "speed": "1.0"}
    with server.frozen_engine():
        first = server.client.post(TTS, data=fields)
        again = server.client.post(TTS, data=fields)
        assert (first.status_code, again.status_code) == (202, 202)
        assert again.json()["file_id"] == first.json()["file_id"]
        assert (first.json()["reused"], again.json()["reused"]) == (False, True)
    file_id = first.json()["file_id"]
    assert server.wait_for(file_id)["status"] == "ready"
    waited = server.client.post(TTS, data={**fields, "wait": "true"})
    assert waited.status_code == 200 and waited.headers["x-file-id"] == file_id
    assert waited.headers["x-reused"] == "true"
    assert tts_jobs(server) == [file_id]


def test_a_different_voice_speed_or_text_or_dedup_false_starts_a_new_job(server_factory) -> None:
    server = server_factory(max_queued_jobs=10)
    fields = {"text": sentence(1), "voice": "af_heart", "speed": "1.0"}
    with server.frozen_engine():
        ids = [
            server.client.post(TTS, data=variant).json()["file_id"]
            for variant in (
                fields,
                {**fields, "voice": "af_bella"},
                {**fields, "speed": "1.25"},
                {**fields, "text": sentence(2)},
                {**fields, "dedup": "false"},
                fields,
            )
        ]
    assert len(set(ids[:5])) == 5 and ids[5] == ids[0]
    assert [server.wait_for(file_id)["status"] for file_id in set(ids)] == ["ready"] * 5


def test_an_idempotency_key_names_the_job_whatever_the_body_says(server_factory) -> None:
    server = server_factory()
    key = {"Idempotency-Key": "order-42"}
    first = server.client.post(TTS, data={"text": sentence(1)}, headers=key)
    second = server.client.post(TTS, data={"text": sentence(2)}, headers=key)
    other = server.client.post(TTS, data={"text": sentence(1)}, headers={"Idempotency-Key": "order-43"})
    assert second.json()["file_id"] == first.json()["file_id"] and second.json()["reused"] is True
    assert other.json()["file_id"] != first.json()["file_id"]
    assert server.wait_for(first.json()["file_id"])["status"] == "ready"


def test_a_failed_job_is_never_reused(server_factory, tmp_path: Path) -> None:
    broken = tmp_path / "ffmpeg"
    broken.write_text("#!/bin/sh\necho 'Unknown encoder libmp3lame' >&2\nexit 1\n")
    broken.chmod(0o755)
    server = server_factory(ffmpeg_binary=str(broken))
    fields = {"text": sentence(1), "format": "mp3", "wait": "true"}
    failed = server.client.post(TTS, data=fields)
    assert failed.status_code == 422 and failed.json()["status"] == "failed"
    retried = server.client.post(TTS, data=fields)
    assert retried.status_code == 422 and retried.json()["file_id"] != failed.json()["file_id"]


def test_a_different_input_file_starts_a_new_merge(server_factory, tmp_path: Path) -> None:
    server = server_factory()
    clips = []
    for index, colour in enumerate(("red", "blue")):
        clip = tmp_path / f"clip{index}.mp4"
        make_media(
            *("-f", "lavfi", "-i", f"color=c={colour}:s=160x120:r=25:d=1", "-f", "lavfi", "-i", "sine=d=1"),
            *ENCODE,
            *AUDIO,
            "-shortest",
            str(clip),
        )
        with clip.open("rb") as file:
            uploaded = server.client.post(UPLOAD, data={"media_type": "video"}, files={"file": (clip.name, file)})
        clips.append(uploaded.json()["file_id"])
    first = server.client.post(MERGE, data={"video_ids": clips[0], "wait": "true"})
    same = server.client.post(MERGE, data={"video_ids": clips[0], "wait": "true"})
    other = server.client.post(MERGE, data={"video_ids": clips[1], "wait": "true"})
    assert first.status_code == same.status_code == other.status_code == 200
    assert same.headers["x-file-id"] == first.headers["x-file-id"] != other.headers["x-file-id"]


def test_an_expiring_wait_answers_504_with_the_file_id_and_the_same_request_then_gets_the_file(
    server_factory,
) -> None:
    server = server_factory()
    fields = {"text": sentence(1), "wait": "true", "wait_timeout_s": "0.5"}
    with server.frozen_engine():
        expired = server.client.post(TTS, data=fields)
        assert expired.status_code == 504
        assert int(expired.headers["retry-after"]) >= 1
        body = expired.json()
        assert body["status"] == "processing" and "send the same request again" in body["message"]
        polite = server.client.post(TTS, data={**fields, "wait_timeout_status": "202"})
        assert polite.status_code == 202 and polite.json()["file_id"] == body["file_id"]
    retried = server.client.post(TTS, data={**fields, "wait_timeout_s": "600"})
    assert retried.status_code == 200 and retried.headers["x-file-id"] == body["file_id"]
    assert tts_jobs(server) == [body["file_id"]]


def test_empty_or_blank_text_says_it_must_not_be_empty(torch_server: RunningServer) -> None:
    for text, code in (("", 422), ("   ", 400)):
        response = torch_server.client.post(TTS, data={"text": text})
        assert (response.status_code, response.json()["error"]) == (code, "Field 'text' must not be empty.")


def test_openai_speech_is_named_with_its_extension(torch_server: RunningServer) -> None:
    response = torch_server.client.post("/v1/audio/speech", json={"input": sentence(1), "response_format": "wav"})
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.endswith('.wav"')
    assert disposition == 'attachment; filename="speech.wav"', "not a name that looks like a stored file's id"
