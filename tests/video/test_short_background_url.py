"""A short whose backgrounds come from URLs: a loopback web server serves an image and a video (this server allows
private URLs, as ALLOW_PRIVATE_URLS=true does), and a bad URL is refused naming the scene before any job."""

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.services.child_process import ChildProcess
from tests.conftest import RunningServer, running, torch_test_settings
from tests.video.conftest import ENCODE, make_media
from tests.video.test_short_api import PREVIEW, SHORT, H, W, frame, png_pixels, render

YELLOW, MAGENTA = (255, 255, 0), (255, 0, 255)


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A yellow picture, a 1 s magenta video (shorter than its scene: it loops), a text file and a sound."""
    folder = tmp_path_factory.mktemp("web-media")
    make_media("-f", "lavfi", "-i", "color=c=yellow:s=200x356", "-frames:v", "1", str(folder / "yellow.png"))
    make_media("-f", "lavfi", "-i", "color=c=magenta:s=240x426:r=25:d=1", *ENCODE, str(folder / "magenta.mp4"))
    make_media("-f", "lavfi", "-i", "sine=duration=1", str(folder / "sound.wav"))
    (folder / "notes.txt").write_text("not a picture\n" * 20)
    files = {f"/{path.name}": path.read_bytes() for path in folder.iterdir()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def url_server(
    tmp_path_factory: pytest.TempPathFactory, test_model_dir: Path, test_engine: ChildProcess
) -> Iterator[RunningServer]:
    settings = torch_test_settings(tmp_path_factory.mktemp("url-media"), test_model_dir, allow_private_urls=True)
    server = RunningServer(settings, running(test_engine))
    yield server
    server.stop()


def test_scenes_over_an_image_and_a_video_fetched_from_urls_show_them(
    url_server: RunningServer, web: str, tmp_path: Path
) -> None:
    scenes = [
        {"text": "Yellow from a link.", "background_url": f"{web}/yellow.png", "image_effect": "none"},
        {"text": "A magenta video loops here for a while.", "background_url": f"{web}/magenta.mp4"},
    ]
    body = {"scenes": scenes, "width": W, "height": H, "caption_preset": "none"}
    info, video = render(url_server, body, tmp_path)
    assert [s["background_url"] for s in info["scenes"]] == [f"{web}/yellow.png", f"{web}/magenta.mp4"]
    first, second = info["scenes"]
    assert second["narration_end"] - second["start"] > 1.5  # longer than the 1 s video
    times = [(first["start"] + first["narration_end"]) / 2, second["start"] + 0.5, second["narration_end"] - 0.2]
    for at, colour in zip(times, (YELLOW, MAGENTA, MAGENTA), strict=True):
        assert np.abs(frame(video, at).mean(axis=(0, 1)) - colour).max() < 25, (at, colour)

    preview = url_server.client.post(PREVIEW, json={**body, "scene_index": 1})
    assert preview.status_code == 200, preview.text
    assert np.abs(png_pixels(preview.content, tmp_path).mean(axis=(0, 1)) - MAGENTA).max() < 25


def test_a_bad_background_url_is_refused_naming_the_scene_before_any_job(url_server: RunningServer, web: str) -> None:
    good = {"text": "Fine.", "background_url": f"{web}/yellow.png"}
    cases = [
        (f"{web}/missing.png", "404"),
        (f"{web}/notes.txt", "not a readable"),
        (f"{web}/sound.wav", "expected an image or a video"),
        ("ftp://127.0.0.1/yellow.png", "http or https"),
        ("http:///yellow.png", "no host"),
    ]
    before = len(url_server.services.jobs.recent(None, "video", 10_000, 0))
    for url, reason in cases:
        body = {"scenes": [good, {"text": "Broken.", "background_url": url}], "width": W, "height": H}
        response = url_server.client.post(SHORT, json=body)
        assert response.status_code == 400, (url, response.text)
        error = response.json()["error"]
        assert "scenes[1].background_url" in error and reason in error, (url, error)
        shown = url_server.client.post(PREVIEW, json={**body, "scene_index": 1})
        assert shown.status_code == 400 and "scenes[1].background_url" in shown.json()["error"], shown.text
    assert len(url_server.services.jobs.recent(None, "video", 10_000, 0)) == before
