"""The toolbox through the real HTTP API: inputs made with lavfi, uploaded once per module, real ffmpeg."""

import subprocess
from pathlib import Path
from typing import Any

from tests.support.local_server import RunningServer
from tests.video.conftest import FFMPEG, make_media

__all__ = ["FFMPEG", "download", "ffmpeg_log", "info_of", "job_count", "make_media", "run_tool", "submit", "upload_id"]

STORAGE = "/api/v1/media/storage"


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
