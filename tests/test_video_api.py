"""Uploads, captioned videos and merges through the real HTTP API: real ffmpeg, media made with lavfi,
narration from the random-weight Kokoro model."""

import http.server
import math
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.errors import InvalidInput
from app.services.child_process import ChildProcess
from app.services.ffmpeg import MediaInfo
from app.services.uploads import check_url, is_public_address, sniff_image
from tests.conftest import RunningServer, running, torch_test_settings
from tests.support.waits import WAIT_S
from tests.video.conftest import FFMPEG, make_clip, make_media

UPLOAD = "/api/v1/media/storage"
CAPTIONED = "/api/v1/media/video-tools/generate/tts-captioned-video"
MERGE = "/api/v1/media/video-tools/merge"
W, H = 360, 640
TEXT = "Small steps every day. They add up."
SRT = "1\n00:00:00,200 --> 00:00:01,400\nHello captions\n\n2\n00:00:01,600 --> 00:00:02,800\nsecond line\n"
NO_CAPTIONS = '[{"word": "never", "start": 3600, "end": 3601}]'
"""Captions timed after any narration here ends: a render with them shows none, and hears nothing to caption."""


# ---------------------------------------------------------------- media and helpers


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("api-media")
    png, wav, music = folder / "background.png", folder / "narration.wav", folder / "music.wav"
    make_media("-f", "lavfi", "-i", "testsrc2=s=480x360", "-frames:v", "1", str(png))
    make_media("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=24000:duration=3", str(wav))
    make_media("-f", "lavfi", "-i", "sine=frequency=220:sample_rate=44100:duration=1", str(music))
    noise = folder / "noise.bin"
    noise.write_bytes(random.Random(7).randbytes(200_000))
    corrupt = folder / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16)
    return {
        "png": png,
        "wav": wav,
        "music": music,
        "noise": noise,
        "corrupt_png": corrupt,
        "short": make_clip(folder / "short.mp4", "320x240", 1, audio=True),
        "tall": make_clip(folder / "tall.mp4", "360x640", 2, audio=True),
        "wide": make_clip(folder / "wide.mp4", "320x240", 1, audio=True, source="rgbtestsrc"),
        "silent": make_clip(folder / "silent.mp4", "640x360", 1, audio=False),
        "mute2": make_clip(folder / "mute2.mp4", "320x240", 1, audio=False, source="rgbtestsrc"),
    }


def upload(server: RunningServer, path: Path, media_type: str, **fields: str):
    with path.open("rb") as file:
        return server.client.post(UPLOAD, data={"media_type": media_type, **fields}, files={"file": (path.name, file)})


def upload_id(server: RunningServer, path: Path, media_type: str) -> str:
    response = upload(server, path, media_type)
    assert response.status_code == 201, response.text
    return response.json()["file_id"]


@pytest.fixture(scope="module")
def ids(torch_server: RunningServer, media: dict[str, Path]) -> dict[str, str]:
    kinds = {"png": "image", "wav": "audio", "music": "audio", "short": "video", "tall": "video"}
    kinds |= {"wide": "video", "silent": "video", "mute2": "video"}
    return {key: upload_id(torch_server, media[key], kind) for key, kind in kinds.items()}


def run_job(server: RunningServer, path: str, fields: dict) -> tuple[dict, dict]:
    """Submit, wait for the end, return (status, info)."""
    response = server.client.post(path, data=fields)
    assert response.status_code == 202, response.text
    status = server.wait_for(response.json()["file_id"])
    info = server.client.get(f"{UPLOAD}/{status['file_id']}/info").json()
    return status, info


def download(server: RunningServer, file_id: str, folder: Path) -> Path:
    response = server.client.get(f"{UPLOAD}/{file_id}")
    assert response.status_code == 200, response.text
    path = folder / f"{file_id}.{response.headers['content-type'].split('/')[-1]}"
    path.write_bytes(response.content)
    return path


def stream_lines(path: Path) -> list[str]:
    done = subprocess.run(FFMPEG.command("-i", str(path)), capture_output=True, text=True)
    return [line.strip() for line in done.stderr.splitlines() if line.strip().startswith("Stream #")]


def check_video(path: Path, width: int, height: int, duration: float, tolerance: float = 0.1) -> MediaInfo:
    info = FFMPEG.probe(path)
    assert (info.width, info.height) == (width, height)
    assert abs(info.duration - duration) <= tolerance, (info.duration, duration)
    lines = stream_lines(path)
    assert len(lines) == 2, lines
    assert sum("Video: h264" in s for s in lines) == 1 and sum("Audio: aac" in s for s in lines) == 1
    return info


def frame(path: Path, seconds: float, width: int, height: int) -> np.ndarray:
    cmd = FFMPEG.command("-v", "error", "-ss", f"{seconds:.3f}", "-i", str(path), "-frames:v", "1")
    raw = subprocess.run([*cmd, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3).astype(np.int16)


def changed(a: np.ndarray, b: np.ndarray, rows: slice) -> float:
    """Share of pixels in `rows` whose channels differ by more than 40 somewhere."""
    return float((np.abs(a[rows] - b[rows]).max(axis=2) > 40).mean())


def mean_volume(path: Path) -> float:
    cmd = FFMPEG.command("-i", str(path), "-map", "0:a", "-af", "volumedetect", "-f", "null", "-")
    log = subprocess.run(cmd, capture_output=True, text=True).stderr
    line = next(line for line in log.splitlines() if "mean_volume:" in line)
    value = line.split("mean_volume:")[1].split()[0]
    return float("-inf") if value == "-inf" else float(value)


def stored_files(server: RunningServer) -> list[Path]:
    root = server.settings.storage_path.resolve()
    return sorted(p for p in [*(root / "files").rglob("*"), *(root / "tmp").rglob("*")])


def video_jobs(server: RunningServer) -> int:
    return len(server.services.jobs.recent(None, "video", 10_000, 0))


# ---------------------------------------------------------------- a loopback HTTP server for URL uploads


@pytest.fixture(scope="module")
def web(media: dict[str, Path]) -> Iterator[str]:
    png = media["png"].read_bytes()
    big = bytes(2 * 1024 * 1024 + 10)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/r/"):
                hops = int(self.path.rsplit("/", 1)[1])
                self.send_response(302)
                self.send_header("Location", f"/r/{hops - 1}" if hops > 1 else "/image.png")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = {"/image.png": png, "/big.bin": big}.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def small_server(
    tmp_path_factory: pytest.TempPathFactory, test_model_dir: Path, test_engine: ChildProcess
) -> Iterator[RunningServer]:
    """MAX_UPLOAD_MB=1 and private URLs allowed, so the loopback web server can be fetched; the shared engine."""
    server = RunningServer(
        torch_test_settings(
            tmp_path_factory.mktemp("small-media"), test_model_dir, max_upload_mb=1, allow_private_urls=True
        ),
        running(test_engine),
    )
    yield server
    server.stop()


# ---------------------------------------------------------------- uploads


def test_uploads_are_sniffed_and_stored_with_their_facts(torch_server: RunningServer, media: dict[str, Path]) -> None:
    response = upload(torch_server, media["png"], "image", name="backdrop")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["status"], body["media_type"], body["width"], body["height"]) == ("ready", "image", 480, 360)
    assert body["size"] == media["png"].stat().st_size and body["content_type"] == "image/png"
    stored = torch_server.client.get(f"{UPLOAD}/{body['file_id']}")
    assert stored.content == media["png"].read_bytes()
    assert 'filename="backdrop.png"' in stored.headers["content-disposition"]

    video = upload(torch_server, media["short"], "video").json()
    assert (video["media_type"], video["width"], video["height"]) == ("video", 320, 240)
    assert abs(video["duration"] - 1.0) < 0.1
    audio_id = upload_id(torch_server, media["wav"], "audio")
    info = torch_server.client.get(f"{UPLOAD}/{audio_id}/info").json()
    assert (info["status"], info["media_type"], info["kind"]) == ("ready", "audio", "upload")
    assert abs(info["duration"] - 3.0) < 0.05


def test_uploads_that_are_not_what_they_claim_are_refused(torch_server: RunningServer, media: dict[str, Path]) -> None:
    before = stored_files(torch_server)
    cases = [
        (media["wav"], "video", ["video", "audio"]),
        (media["png"], "audio", ["audio", "image"]),
        (media["short"], "image", ["image", "video"]),
        (media["noise"], "image", ["not a readable"]),
        (media["noise"], "video", ["not a readable"]),
        (media["corrupt_png"], "image", ["corrupt"]),
    ]
    for path, declared, mentions in cases:
        response = upload(torch_server, path, declared)
        assert response.status_code == 400, (path.name, declared, response.text)
        for word in mentions:
            assert word in response.json()["error"], (path.name, declared, response.json())
    missing = torch_server.client.post(UPLOAD, files={"file": ("a.png", media["png"].read_bytes())})
    assert missing.status_code == 422 and "media_type" in missing.json()["error"]
    wrong = upload(torch_server, media["png"], "text")
    assert wrong.status_code == 422 and "image, video, audio" in wrong.json()["error"]
    neither = torch_server.client.post(UPLOAD, data={"media_type": "image"})
    assert neither.status_code == 400 and "exactly one" in neither.json()["error"]
    assert stored_files(torch_server) == before


def test_oversized_uploads_get_413_and_leave_nothing(small_server: RunningServer) -> None:
    two_mb = random.Random(1).randbytes(2 * 1024 * 1024)
    response = small_server.client.post(UPLOAD, data={"media_type": "video"}, files={"file": ("big.mp4", two_mb)})
    assert response.status_code == 413, response.text
    assert "MAX_UPLOAD_MB" in response.json()["error"]

    # Without Content-Length (chunked), the cap is enforced while the body streams in.
    boundary = "capboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="media_type"\r\n\r\nvideo\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()

    def chunks() -> Iterator[bytes]:
        yield head
        for start in range(0, len(two_mb), 256 * 1024):
            yield two_mb[start : start + 256 * 1024]
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    chunked = small_server.client.post(UPLOAD, content=chunks(), headers=headers)
    assert chunked.status_code == 413, chunked.text

    # Just over the cap inside the form slack: caught while copying the file part.
    just_over = bytes(1024 * 1024 + 100)
    response = small_server.client.post(UPLOAD, data={"media_type": "image"}, files={"file": ("x.png", just_over)})
    assert response.status_code == 413, response.text
    assert stored_files(small_server) == []
    assert small_server.services.jobs.recent(None, None, 100, 0) == []


def test_url_uploads_are_fetched_safely(small_server: RunningServer, web: str, media: dict[str, Path]) -> None:
    response = small_server.client.post(UPLOAD, data={"media_type": "image", "url": f"{web}/image.png"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["media_type"], body["width"], body["source"]) == ("image", 480, "url")
    assert small_server.client.get(f"{UPLOAD}/{body['file_id']}").content == media["png"].read_bytes()

    three_hops = small_server.client.post(UPLOAD, data={"media_type": "image", "url": f"{web}/r/3"})
    assert three_hops.status_code == 201, three_hops.text
    files_before = stored_files(small_server)
    cases = [
        (f"{web}/r/4", 400, "redirected more than 3"),
        (f"{web}/missing.png", 400, "HTTP 404"),
        (f"{web}/big.bin", 413, "MAX_UPLOAD_MB"),
        ("ftp://127.0.0.1/image.png", 400, "http or https"),
        ("file:///etc/passwd", 400, "http or https"),
        ("http://no-such-host.invalid/x.png", 400, "failed"),
    ]
    for url, code, mentions in cases:
        response = small_server.client.post(UPLOAD, data={"media_type": "image", "url": url})
        assert response.status_code == code, (url, response.text)
        assert mentions in response.json()["error"], (url, response.json())
    both = small_server.client.post(
        UPLOAD, data={"media_type": "image", "url": f"{web}/image.png"}, files={"file": ("a.png", b"x")}
    )
    assert both.status_code == 400
    assert stored_files(small_server) == files_before


def test_private_urls_are_refused_by_default(torch_server: RunningServer, web: str) -> None:
    for url in (f"{web}/image.png", f"{web}/r/1"):
        response = torch_server.client.post(UPLOAD, data={"media_type": "image", "url": url})
        assert response.status_code == 400, response.text
        assert "127.0.0.1" in response.json()["error"] and "ALLOW_PRIVATE_URLS" in response.json()["error"]
    ftp = torch_server.client.post(UPLOAD, data={"media_type": "image", "url": "ftp://example.com/a.png"})
    assert ftp.status_code == 400 and "http" in ftp.json()["error"]


def test_url_safety_rules_and_image_magic() -> None:
    for address in ("127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "0.0.0.0"):
        assert not is_public_address(address), address
    for address in ("::1", "fe80::1", "fc00::5", "::ffff:127.0.0.1", "224.0.0.1", "100.64.0.1", "240.0.0.1"):
        assert not is_public_address(address), address
    assert is_public_address("93.184.216.34") and is_public_address("2606:4700::6810:85e5")
    for url in ("http://localhost/a.png", "http://[::1]:8080/", "https://169.254.169.254/latest/meta-data"):
        with pytest.raises(InvalidInput):
            check_url(url, allow_private=False)
    assert check_url("http://localhost/a.png", allow_private=True) == "http://localhost/a.png"
    assert check_url("https://93.184.216.34/x", allow_private=False) == "https://93.184.216.34/x"
    with pytest.raises(InvalidInput, match=r"10\.0\.0\.7"):
        check_url(
            "http://rebind.example/", allow_private=False, resolve=lambda host, port: ["93.184.216.34", "10.0.0.7"]
        )
    assert sniff_image(b"\x89PNG\r\n\x1a\n....") == "png"
    assert sniff_image(b"\xff\xd8\xff\xe0") == "jpg"
    assert sniff_image(b"GIF89a") == "gif"
    assert sniff_image(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert sniff_image(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None


# ---------------------------------------------------------------- captioned videos


def test_captioned_video_from_text_matches_narration_and_burns_captions(
    torch_server: RunningServer, ids: dict[str, str], tmp_path: Path
) -> None:
    fields = {"background_id": ids["png"], "text": TEXT, "width": W, "height": H, "image_effect": "none"}
    status, info = run_job(torch_server, CAPTIONED, {**fields, "kokoro_voice": "af_heart"})
    assert status["status"] == "ready" and status["progress"] == 100, status
    assert info["kind"] == "video" and info["media_type"] == "video"
    assert [w["word"] for w in info["words"]] == ["Small", "steps", "every", "day", "They", "add", "up"]
    assert (info["width"], info["height"], info["voice"], info["captioned"]) == (W, H, "af_heart", True)
    assert abs(info["duration"] - info["narration_duration"]) <= 0.1
    assert info["words"][-1]["end"] <= info["narration_duration"] + 1e-6
    video = download(torch_server, status["file_id"], tmp_path)
    assert info["size"] == video.stat().st_size
    check_video(video, W, H, info["narration_duration"])

    # The same narration as an uploaded audio file, rendered without captions: only the caption area differs.
    narration = tmp_path / "narration.m4a"
    make_media("-i", str(video), "-vn", "-c:a", "copy", str(narration))
    audio_id = upload_id(torch_server, narration, "audio")
    plain_fields = {**fields, "text": "", "audio_id": audio_id, "captions": NO_CAPTIONS}
    plain_status, plain_info = run_job(torch_server, CAPTIONED, plain_fields)
    assert plain_status["status"] == "ready" and plain_info["captions_source"] == "given" and "words" not in plain_info
    plain = download(torch_server, plain_status["file_id"], tmp_path)
    word = info["words"][2]
    moment = (word["start"] + word["end"]) / 2
    with_text, without = frame(video, moment, W, H), frame(plain, moment, W, H)
    assert changed(with_text, without, slice(H * 3 // 4, H)) > 0.01
    assert changed(with_text, without, slice(0, H // 2)) < 0.001


def test_effects_video_background_and_srt_captions(
    torch_server: RunningServer, ids: dict[str, str], tmp_path: Path
) -> None:
    base = {"audio_id": ids["wav"], "captions": NO_CAPTIONS, "width": W, "height": H}
    jobs = {
        "ken_burns": {"background_id": ids["png"], "image_effect": "ken_burns"},
        "pan": {"background_id": ids["png"], "image_effect": "pan", "caption_config_highlight_color": "#FFD700"},
        "none": {"background_id": ids["png"], "image_effect": "none"},
        "srt": {"background_id": ids["png"], "image_effect": "none", "captions": SRT},
        "looped": {"background_id": ids["short"], "width": 320, "height": 240},
    }
    submitted = {}
    for key, fields in jobs.items():
        response = torch_server.client.post(CAPTIONED, data={**base, **fields})
        assert response.status_code == 202, (key, response.text)
        submitted[key] = response.json()["file_id"]
    videos = {}
    for key, file_id in submitted.items():
        assert torch_server.wait_for(file_id)["status"] == "ready", key
        videos[key] = download(torch_server, file_id, tmp_path)
    for key in ("ken_burns", "pan", "none", "srt"):
        check_video(videos[key], W, H, 3.0)
    for key in ("ken_burns", "pan"):
        assert changed(frame(videos[key], 0.1, W, H), frame(videos[key], 2.8, W, H), slice(0, H // 2)) > 0.05, key

    looped = videos["looped"]
    check_video(looped, 320, 240, 3.0)
    # The 1 s background repeats: the same moment of each pass looks alike, different moments do not.
    first, second, third = (frame(looped, t, 320, 240) for t in (0.42, 1.42, 2.42))
    other = frame(looped, 0.82, 320, 240)
    assert changed(first, second, slice(0, 240)) < 0.02 and changed(first, third, slice(0, 240)) < 0.02
    assert changed(first, other, slice(0, 240)) > 0.05

    srt_info = torch_server.client.get(f"{UPLOAD}/{submitted['srt']}/info").json()
    assert srt_info["captioned"] is True and srt_info["audio_id"] == ids["wav"]
    captioned, plain = frame(videos["srt"], 0.8, W, H), frame(videos["none"], 0.8, W, H)
    assert changed(captioned, plain, slice(H * 3 // 4, H)) > 0.01
    assert changed(captioned, plain, slice(0, H // 2)) < 0.001

    # Job outputs can be merged: two identical-format renders join without re-encoding.
    waited = torch_server.client.post(
        MERGE, data={"video_ids": f"{submitted['ken_burns']}, {submitted['pan']}", "wait": "true"}
    )
    assert waited.status_code == 200 and waited.headers["content-type"] == "video/mp4"
    merged_info = torch_server.client.get(f"{UPLOAD}/{waited.headers['x-file-id']}/info").json()
    assert merged_info["mode"] == "copy" and abs(merged_info["duration"] - 6.0) <= 0.2


def test_failed_render_ends_failed_and_leaves_no_file(torch_server: RunningServer, media: dict[str, Path]) -> None:
    background = upload_id(torch_server, media["png"], "image")
    audio = upload_id(torch_server, media["wav"], "audio")
    files = torch_server.services.files
    stored = files.get(background)
    assert stored is not None
    # The stored image goes bad after it was accepted: the route cannot see it, ffmpeg fails in the job.
    files.path(stored).write_bytes(media["corrupt_png"].read_bytes())
    files_before = stored_files(torch_server)
    response = torch_server.client.post(
        CAPTIONED,
        data={"background_id": background, "audio_id": audio, "captions": NO_CAPTIONS, "width": W, "height": H},
    )
    assert response.status_code == 202, response.text
    status = torch_server.wait_for(response.json()["file_id"])
    assert status["status"] == "failed" and status["error"], status
    assert "\n" not in status["error"]
    download = torch_server.client.get(f"{UPLOAD}/{status['file_id']}")
    assert download.status_code == 409 and "failed" in download.json()["error"]
    assert stored_files(torch_server) == files_before


def test_merge_fits_clips_to_the_first_and_mixes_music(
    torch_server: RunningServer, ids: dict[str, str], tmp_path: Path
) -> None:
    status, info = run_job(
        torch_server, MERGE, {"video_ids": ",".join(ids[k] for k in ("tall", "wide", "silent")), "name": "merged"}
    )
    assert status["status"] == "ready", status
    merged = download(torch_server, status["file_id"], tmp_path)
    check_video(merged, 360, 640, 4.0, tolerance=0.2)
    assert (info["width"], info["height"], info["mode"]) == (360, 640, "reencode")
    assert abs(info["duration"] - 4.0) <= 0.2

    fields = {"video_ids": f"{ids['silent']},{ids['mute2']}", "background_music_id": ids["music"]}
    status, info = run_job(torch_server, MERGE, {**fields, "background_music_volume": "0.2"})
    assert status["status"] == "ready", status
    assert info["background_music_volume"] == 0.2 and (info["width"], info["height"]) == (640, 360)
    with_music = download(torch_server, status["file_id"], tmp_path)
    check_video(with_music, 640, 360, 2.0, tolerance=0.2)
    quiet = mean_volume(with_music)
    status, _ = run_job(torch_server, MERGE, {**fields, "background_music_volume": "1.0"})
    loud = mean_volume(download(torch_server, status["file_id"], tmp_path))
    assert quiet > -60, quiet
    assert abs((loud - quiet) - 20 * math.log10(1 / 0.2)) < 2, (loud, quiet)  # 0.2 is 14 dB below 1.0


def test_bad_video_requests_are_refused_before_admission(torch_server: RunningServer, ids: dict[str, str]) -> None:
    unknown = "0123456789abcdef0123456789abcdef"
    ok = {"background_id": ids["png"], "text": "Hello.", "width": W, "height": H}
    captioned_cases = [
        ({**ok, "background_id": unknown}, 404, unknown),
        ({**ok, "background_id": "nope"}, 404, "nope"),
        ({**ok, "text": "", "audio_id": unknown}, 404, unknown),
        ({**ok, "background_id": ids["wav"]}, 400, "audio"),
        ({**ok, "text": "", "audio_id": ids["png"]}, 400, "image"),
        ({**ok, "audio_id": ids["wav"], "captions": SRT}, 400, "not both"),
        ({**ok, "text": ""}, 400, "audio_id"),
        ({**ok, "captions": SRT}, 400, "captions"),
        ({**ok, "text": "", "audio_id": ids["wav"], "captions": "not captions"}, 400, "captions"),
        ({**ok, "caption_config_font_name": "Comic Sans"}, 422, "Lato"),
        ({**ok, "caption_config_font_color": "red"}, 400, "colour"),
        ({**ok, "caption_config_line_count": "9"}, 400, "line_count"),
        ({**ok, "caption_config_shadow_transparency": "2"}, 400, "shadow_transparency"),
        ({**ok, "caption_config_subtitle_position": "left"}, 400, "position"),
        ({**ok, "caption_config_font_size": "big"}, 422, "caption_config_font_size"),
        ({**ok, "image_effect": "zoom"}, 422, "ken_burns"),
        ({**ok, "width": "361"}, 400, "width"),
        ({**ok, "kokoro_voice": "zz_nobody"}, 422, "af_heart"),
        ({**ok, "kokoro_speed": "5"}, 422, "speed"),
        ({**ok, "lang_code": "q"}, 422, "lang_code"),
        ({"text": "Hello."}, 422, "background_id"),
    ]
    merge_cases = [
        ({"video_ids": " , "}, 400, "video_ids"),
        ({"video_ids": f"{ids['short']},{unknown}"}, 404, unknown),
        ({"video_ids": f"{ids['short']},{ids['png']}"}, 400, "image"),
        ({"video_ids": ids["short"], "background_music_id": ids["png"]}, 400, "background_music_id"),
        ({"video_ids": ids["short"], "background_music_id": unknown}, 404, unknown),
        ({"video_ids": ids["short"], "background_music_volume": "1.5"}, 422, "background_music_volume"),
    ]
    before = video_jobs(torch_server)
    for path, cases in ((CAPTIONED, captioned_cases), (MERGE, merge_cases)):
        for fields, code, mentions in cases:
            response = torch_server.client.post(path, data=fields)
            assert response.status_code == code, (fields, response.text)
            assert mentions in response.json()["error"], (fields, response.json())
    assert video_jobs(torch_server) == before
    fonts = torch_server.client.get("/api/v1/media/fonts").json()["fonts"]
    assert "Lato" in fonts


def test_video_job_while_tts_is_saturated_stays_within_caps(server_factory, media: dict[str, Path]) -> None:
    server = server_factory(
        max_concurrent_tts=1, max_concurrent_video=1, max_concurrent_heavy_tasks=2, max_queued_jobs=10
    )
    png = upload_id(server, media["png"], "image")
    tts = "/api/v1/media/audio-tools/tts/kokoro"
    job_ids = [
        server.client.post(tts, data={"text": f"Busy speaker number {i}. " + TEXT}).json()["file_id"] for i in (1, 2)
    ]
    fields = {"background_id": png, "text": TEXT, "width": 240, "height": 426, "image_effect": "none"}
    response = server.client.post(CAPTIONED, data=fields)
    assert response.status_code == 202, response.text
    job_ids.append(response.json()["file_id"])
    job_ids.append(server.client.post(tts, data={"text": "One more. " + TEXT}).json()["file_id"])
    deadline = time.monotonic() + WAIT_S
    peaks = []
    while time.monotonic() < deadline:
        snapshot = server.services.admission.snapshot()
        peaks.append((snapshot["kinds"]["tts"]["running"], snapshot["heavy"]["running"]))
        if all(server.client.get(f"{UPLOAD}/{i}/status").json()["status"] in ("ready", "failed") for i in job_ids):
            break
        time.sleep(0.05)
    assert [server.wait_for(i)["status"] for i in job_ids] == ["ready"] * 4
    snapshot = server.services.admission.snapshot()
    assert snapshot["kinds"]["tts"]["peak_running"] == 1
    assert snapshot["kinds"]["video"]["peak_running"] == 1
    assert snapshot["heavy"]["peak_running"] <= 2
    assert max(tts for tts, _ in peaks) <= 1 and max(heavy for _, heavy in peaks) <= 2
    assert snapshot["kinds"]["tts"]["running"] == 0 and snapshot["heavy"]["running"] == 0
