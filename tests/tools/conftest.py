"""The toolbox through the real HTTP API: inputs made with lavfi, uploaded once per module, real ffmpeg."""

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.local_server import RunningServer
from tests.support.waits import WAIT_S
from tests.video.conftest import FFMPEG, make_media

__all__ = [
    "FFMPEG",
    "download",
    "ffmpeg_log",
    "info_of",
    "job_count",
    "make_media",
    "packets",
    "progress_of",
    "run_tool",
    "submit",
    "upload_id",
]

STORAGE = "/api/v1/media/storage"
EVENTS = "/api/v1/media/jobs/events"
STREAM_WAIT_S = WAIT_S


def upload_id(server: RunningServer, path: Path, media_type: str) -> str:
    """Upload a file; its id."""
    with path.open("rb") as file:
        response = server.client.post(STORAGE, data={"media_type": media_type}, files={"file": (path.name, file)})
    assert response.status_code == 201, response.text
    return str(response.json()["file_id"])


def submit(server: RunningServer, route: str, fields: dict[str, Any]) -> str:
    """POST a tool's form and expect 202; the job's file id."""
    response = server.client.post(route, data={key: str(value) for key, value in fields.items()})
    assert response.status_code == 202, response.text
    return str(response.json()["file_id"])


def info_of(server: RunningServer, file_id: str) -> dict[str, Any]:
    response = server.client.get(f"{STORAGE}/{file_id}/info")
    assert response.status_code == 200, response.text
    return dict(response.json())


def run_tool(server: RunningServer, route: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Submit a tool job, wait for it to be ready; its `/info`."""
    file_id = submit(server, route, fields)
    status = server.wait_for(file_id)
    assert status["status"] == "ready", status
    return info_of(server, file_id)


def download(server: RunningServer, file_id: str, folder: Path, ext: str) -> Path:
    response = server.client.get(f"{STORAGE}/{file_id}")
    assert response.status_code == 200, response.text
    path = folder / f"{file_id}.{ext}"
    path.write_bytes(response.content)
    return path


def ffmpeg_log(*args: str) -> str:
    """ffmpeg's stderr for `args` (an analysis run such as ebur128 or silencedetect writing to null)."""
    done = subprocess.run(FFMPEG.command(*args), capture_output=True, text=True)
    return done.stderr


def job_count(server: RunningServer) -> int:
    """Jobs the server has recorded: a refused request must not add one."""
    return len(server.services.jobs.recent(None, None, 10_000, 0))


def packets(path: Path, stream: str = "v:0") -> list[tuple[int, str]]:
    """(size, md5) of each packet of a stream, as stored: equal lists mean nothing was re-encoded."""
    cmd = FFMPEG.command(
        "-loglevel", "error", "-i", str(path), "-map", f"0:{stream}", "-c", "copy", "-f", "framemd5", "-"
    )
    lines = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    fields = [line.split(",") for line in lines if line and not line.startswith("#")]
    return [(int(size), digest.strip()) for *_, size, digest in fields]


def progress_of(server: RunningServer, route: str, fields: dict[str, Any]) -> list[float]:
    """Submit a tool job while reading the server's event stream; the progress of each of its events, in order,
    up to its end (which must be ready). The reader thread ends with the server's stream."""
    seen: list[tuple[str, dict[str, Any]]] = []
    connected = threading.Event()
    threading.Thread(target=_read_events, args=(server, seen, connected), daemon=True).start()
    assert connected.wait(STREAM_WAIT_S), "the event stream did not start"
    file_id = submit(server, route, fields)
    assert server.wait_for(file_id)["status"] == "ready"
    deadline = time.monotonic() + STREAM_WAIT_S
    while not any(data["file_id"] == file_id and name == "ready" for name, data in list(seen)):
        assert time.monotonic() < deadline, "the ready event never came"
        time.sleep(0.05)
    return [float(data["progress"]) for _, data in list(seen) if data["file_id"] == file_id]


def _read_events(server: RunningServer, seen: list[tuple[str, dict[str, Any]]], connected: threading.Event) -> None:
    """Append each (event name, data) of the server's event stream to `seen` until the stream ends."""
    with httpx.Client(base_url=server.base_url, timeout=None) as client, client.stream("GET", EVENTS) as response:
        name = ""
        for line in response.iter_lines():
            if line == ": connected":
                connected.set()
            elif line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                seen.append((name, json.loads(line.removeprefix("data: "))))
