"""The issue's burst in a memory cgroup, as `docker run -m 1g` sets it: the server (`python server.py`, default
settings, the real ONNX engine) runs in a cgroup v1 memory group this script creates (root needed); then two TTS
jobs, a transcription, a captioned 1080x1920 video and two audio tools are sent at once. Prints each job's end,
the group's peak, its limit hits and the kernel's out-of-memory kills.

    sudo .venv/bin/python scripts/memory_burst.py --limit-mb 1024
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
MEMORY = Path("/sys/fs/cgroup/memory")
TEXT = (
    "The city council met on Tuesday to discuss the new park. Residents asked for more trees, benches and a "
    "playground near the river. The mayor promised an answer before the end of the month. "
) * 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def oom_kills(group: Path) -> int:
    for line in (group / "memory.oom_control").read_text().splitlines():
        name, _, value = line.partition(" ")
        if name == "oom_kill":
            return int(value)
    return 0


def post(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    return client.post(f"/api/v1/media/{path}", data=fields)


def wait_ready(client: httpx.Client, file_id: str) -> dict[str, Any]:
    while True:
        status: dict[str, Any] = client.get(f"/api/v1/media/storage/{file_id}/status").json()
        if status["status"] in ("ready", "failed"):
            return status
        time.sleep(0.5)


def burst(client: httpx.Client, image: str, speech: str) -> list[tuple[str, httpx.Response]]:
    """Every request of the burst at once; (what, answer) each."""
    requests = [
        ("tts 1", "audio-tools/tts/kokoro", {"text": TEXT}),
        ("tts 2", "audio-tools/tts/kokoro", {"text": TEXT, "speed": "1.1"}),
        ("transcription", "audio-tools/transcribe", {"audio_id": speech}),
        ("captioned video", "video-tools/generate/tts-captioned-video", {"background_id": image, "text": TEXT[:300]}),
        ("normalize", "audio-tools/normalize", {"audio_id": speech}),
        ("convert", "audio-tools/convert", {"file_id": speech, "format": "mp3"}),
    ]
    with ThreadPoolExecutor(len(requests)) as pool:
        answers = [pool.submit(post, client, path, **fields) for _, path, fields in requests]
        return [(name, answer.result()) for (name, _, _), answer in zip(requests, answers, strict=True)]


def prepare(client: httpx.Client, work: Path) -> tuple[str, str]:
    """An uploaded image and a stored speech file (also warms the engine)."""
    image = work / "bg.png"
    ffmpeg = subprocess.run(
        [sys.executable, "-c", "import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run(
        [ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=1080x1920", "-frames:v", "1", str(image)], check=True
    )
    with image.open("rb") as file:
        image_id = client.post(
            "/api/v1/media/storage", data={"media_type": "image"}, files={"file": ("bg.png", file)}
        ).json()["file_id"]
    speech = post(client, "audio-tools/tts/kokoro", text=TEXT[:400], wait="true")
    return image_id, speech.headers["x-file-id"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit-mb", type=int, default=1024)
    args = parser.parse_args()
    group = MEMORY / f"media-api-burst-{uuid.uuid4().hex[:8]}"
    group.mkdir()
    (group / "memory.limit_in_bytes").write_text(str(args.limit_mb * 1024 * 1024))
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="memory-burst-"))
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "STORAGE_PATH": str(work / "media"),
        "HF_HUB_OFFLINE": "1",
    }
    log = (work / "server.log").open("wb")
    server = subprocess.Popen(
        ["sh", "-c", f"echo $$ > {group}/cgroup.procs; exec {sys.executable} server.py"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=1800)
    try:
        while True:
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        image, speech = prepare(client, work)
        answers = burst(client, image, speech)
        for name, answer in answers:
            if answer.status_code != 202:
                print(f"{name}: {answer.status_code} {answer.text[:200]}")
                continue
            end = wait_ready(client, answer.json()["file_id"])
            print(f"{name}: {end['status']} {end.get('error') or ''}")
        memory = client.get("/api/v1/system/status").json()["admission"].get("memory")
        print(f"admission memory: {memory}")
    finally:
        peak = int((group / "memory.max_usage_in_bytes").read_text()) / 1024 / 1024
        print(
            f"limit {args.limit_mb} MB; peak {peak:,.0f} MB; "
            f"limit hits {(group / 'memory.failcnt').read_text().strip()}; "
            f"out-of-memory kills {oom_kills(group)}; server log {work / 'server.log'}"
        )
        server.send_signal(signal.SIGTERM)
        server.wait(120)
        client.close()
        time.sleep(1)
        try:
            group.rmdir()
        except OSError as exc:
            print(f"could not remove {group}: {exc}")


if __name__ == "__main__":
    main()
