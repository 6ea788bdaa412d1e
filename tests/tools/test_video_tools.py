"""The video tools through the real API, each checked on its output: lengths, packets, frames, pixels."""

import io
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ServerFactory
from tests.support.local_server import RunningServer
from tests.tools.conftest import FFMPEG, download, info_of, job_count, make_media, packets, run_tool, upload_id

TOOLS = "/api/v1/media/video-tools"
FRAME = 1 / 25
KEYFRAMES = ["-g", "25", "-keyint_min", "25", "-sc_threshold", "0"]
"""The clip has a keyframe every second (25 frames)."""


def make_clip(path: Path, *extra: str) -> Path:
    """4 s of testsrc2 at 160x120 and 25 fps with a sine track, H.264 + AAC."""
    make_media(
        *("-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=4", "-f", "lavfi", "-i", "sine=frequency=330:d=4"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *KEYFRAMES, "-c:a", "aac", "-shortest"),
        *extra,
        str(path),
    )
    return path


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("video-tools") / "clip.mp4")


@pytest.fixture(scope="module")
def inputs(torch_server: RunningServer, clip_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = clip_path.parent
    image, rotated = folder / "still.png", folder / "rotated.mp4"
    make_media("-f", "lavfi", "-i", "testsrc2=s=160x120", "-frames:v", "1", str(image))
    make_media("-display_rotation", "90", "-i", str(clip_path), "-c", "copy", str(rotated))
    return {
        "clip": upload_id(torch_server, clip_path, "video"),
        "rotated": upload_id(torch_server, rotated, "video"),
        "image": upload_id(torch_server, image, "image"),
    }


def decoded_frames(path: Path) -> list[str]:
    """The md5 of each decoded frame's pixels, in RGB (as a PNG holds them)."""
    cmd = FFMPEG.command(
        "-loglevel", "error", "-i", str(path), "-map", "0:v:0", "-pix_fmt", "rgb24", "-f", "framemd5", "-"
    )
    lines = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    return [line.rsplit(",", 1)[1].strip() for line in lines if line and not line.startswith("#")]


def tile_digest(image: Path, x: int, y: int) -> str:
    """The md5 of the pixels of a 100x75 tile at (x, y)."""
    cmd = FFMPEG.command("-loglevel", "error", "-i", str(image), "-vf", f"crop=100:75:{x}:{y}", "-f", "framemd5", "-")
    lines = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    return next(line for line in lines if not line.startswith("#")).rsplit(",", 1)[1].strip()


def unzip(server: RunningServer, file_id: str, folder: Path) -> list[Path]:
    """The archive a job made, extracted; its members in order."""
    response = server.client.get(f"/api/v1/media/storage/{file_id}")
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        archive.extractall(folder)
        return [folder / name for name in archive.namelist()]


def test_a_change_of_container_alone_is_a_stream_copy_with_the_same_packets(
    torch_server: RunningServer, inputs: dict[str, str], clip_path: Path, tmp_path: Path
) -> None:
    info = run_tool(torch_server, f"{TOOLS}/transcode", {"video_id": inputs["clip"], "format": "mkv"})

    assert (info["stream_copy"], info["video_stream"], info["audio_stream"]) == (True, "copied", "copied")
    output = download(torch_server, info["file_id"], tmp_path, "mkv")
    assert packets(output) == packets(clip_path)
    assert packets(output, "a:0") == packets(clip_path, "a:0")


def test_a_transcode_to_webm_at_a_given_width_keeps_the_aspect(
    torch_server: RunningServer, inputs: dict[str, str], tmp_path: Path
) -> None:
    fields = {"video_id": inputs["clip"], "format": "webm", "width": 80, "fps": 10, "preset": "ultrafast"}
    info = run_tool(torch_server, f"{TOOLS}/transcode", fields)

    assert (info["video_codec"], info["audio_codec"], info["stream_copy"]) == ("vp9", "opus", False)
    probed = FFMPEG.probe(download(torch_server, info["file_id"], tmp_path, "webm"))
    assert (probed.width, probed.height, probed.fps) == (80, 60, 10)
    assert abs(probed.duration - 4.0) < 0.1


def test_an_accurate_cut_lasts_what_was_asked_to_the_frame(
    torch_server: RunningServer, inputs: dict[str, str], tmp_path: Path
) -> None:
    info = run_tool(torch_server, f"{TOOLS}/cut", {"video_id": inputs["clip"], "start": 1.3, "end": 2.5})

    output = download(torch_server, info["file_id"], tmp_path, "mp4")
    assert abs(len(packets(output)) - 30) <= 1
    assert abs(info["duration"] - 1.2) <= FRAME
    assert (info["start"], info["end"], info["accurate"], info["stream_copy"]) == (1.3, 2.5, True, False)


def test_a_keyframe_cut_copies_the_packets_from_the_keyframe_before_start(
    torch_server: RunningServer, inputs: dict[str, str], clip_path: Path, tmp_path: Path
) -> None:
    fields = {"video_id": inputs["clip"], "start": 1.4, "duration": 1.0, "accurate": "false"}
    info = run_tool(torch_server, f"{TOOLS}/cut", fields)

    copied = packets(download(torch_server, info["file_id"], tmp_path, "mp4"))
    assert copied == packets(clip_path)[25 : 25 + len(copied)], "the copy starts at the keyframe at 1 s"
    assert abs(len(copied) - 35) <= 1  # from 1.0 s to 2.4 s
    assert info["stream_copy"] is True


def test_a_split_stores_each_segment_under_its_own_id_and_zips_them(
    torch_server: RunningServer, inputs: dict[str, str], tmp_path: Path
) -> None:
    segments = [(0.0, 1.5), (1.5, 2.5), (3.0, 4.0)]
    fields = {"video_id": inputs["clip"], "segments": "0-1.5, 1.5-2.5,3-4", "name": "talk"}
    info = run_tool(torch_server, f"{TOOLS}/split", fields)

    listed = info["files"]
    assert [entry["name"] for entry in listed] == ["talk-01", "talk-02", "talk-03"]
    assert info["format"] == "zip" and "3 segments" in info["archive"]
    members = unzip(torch_server, info["file_id"], tmp_path / "zip")
    assert len(members) == 3
    for (start, end), entry, member in zip(segments, listed, members, strict=True):
        segment = info_of(torch_server, entry["file_id"])
        assert (segment["start"], segment["end"], segment["media_type"]) == (start, end, "video")
        assert abs(segment["duration"] - (end - start)) <= FRAME
        assert abs(len(packets(member)) - round((end - start) * 25)) <= 1
        assert download(torch_server, entry["file_id"], tmp_path, "mp4").read_bytes() == member.read_bytes()


def test_deleting_a_splits_file_deletes_its_segments_with_their_bytes(
    torch_server: RunningServer, inputs: dict[str, str]
) -> None:
    fields = {"video_id": inputs["clip"], "segments": "0-1,2-3", "accurate": "false", "dedup": "false"}
    info = run_tool(torch_server, f"{TOOLS}/split", fields)
    files = torch_server.services.files
    segments = [files.get(entry["file_id"]) for entry in info["files"]]
    stored = [files.path(segment) for segment in segments if segment is not None]
    assert len(stored) == 2

    response = torch_server.client.delete(f"/api/v1/media/storage/{info['file_id']}")

    assert response.status_code == 200, response.text
    for entry, path in zip(info["files"], stored, strict=True):
        assert torch_server.client.get(f"/api/v1/media/storage/{entry['file_id']}").status_code == 404
        assert not path.exists(), "the segment's bytes went with its record"


def test_a_tool_asked_to_wait_answers_the_file_itself_and_keeps_its_name(
    torch_server: RunningServer, inputs: dict[str, str], tmp_path: Path
) -> None:
    fields = {"video_id": inputs["clip"], "end": 1, "name": "opening", "wait": "true", "dedup": "false"}
    response = torch_server.client.post(f"{TOOLS}/cut", data=fields)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "video/mp4"
    cut = tmp_path / "opening.mp4"
    cut.write_bytes(response.content)
    assert abs(FFMPEG.probe(cut).duration - 1.0) <= FRAME
    stored = info_of(torch_server, response.headers["X-File-Id"])
    assert (stored["name"], stored["size"]) == ("opening", len(response.content))


def test_a_gif_preview_has_duration_times_fps_frames_at_the_asked_width(
    torch_server: RunningServer, inputs: dict[str, str], tmp_path: Path
) -> None:
    fields = {"video_id": inputs["clip"], "start": 0.5, "duration": 2, "fps": 10, "width": 120}
    info = run_tool(torch_server, f"{TOOLS}/gif-preview", fields)

    gif = download(torch_server, info["file_id"], tmp_path, "gif")
    probed = FFMPEG.probe(gif)
    assert (probed.video_codec, probed.width, probed.height) == ("gif", 120, 90)
    assert len(decoded_frames(gif)) == 20
    assert info["media_type"] == "image"


def test_frames_at_timestamps_are_the_videos_frames_at_those_times(
    torch_server: RunningServer, inputs: dict[str, str], clip_path: Path, tmp_path: Path
) -> None:
    fields = {"video_id": inputs["clip"], "timestamps": "0,1.5,3.99"}
    info = run_tool(torch_server, f"{TOOLS}/extract-frames", fields)

    assert [frame["timestamp"] for frame in info["frames"]] == [0, 1.5, 3.99]
    images = unzip(torch_server, info["file_id"], tmp_path)
    every_frame = decoded_frames(clip_path)
    expected = [every_frame[0], every_frame[38], every_frame[-1]]  # 1.5 s falls between frames 37 and 38
    assert [decoded_frames(image)[0] for image in images] == expected
    assert all(FFMPEG.probe(image).video_codec == "png" for image in images)


def test_one_frame_every_second_gives_a_webp_for_each_second(
    torch_server: RunningServer, inputs: dict[str, str], tmp_path: Path
) -> None:
    info = run_tool(
        torch_server, f"{TOOLS}/extract-frames", {"video_id": inputs["clip"], "every_s": 1, "format": "webp"}
    )

    images = unzip(torch_server, info["file_id"], tmp_path)
    assert [image.name for image in images] == [f"frame-000{n}.webp" for n in range(1, 5)]
    assert [frame["timestamp"] for frame in info["frames"]] == [0, 1, 2, 3]
    assert {(probed.width, probed.height) for probed in map(FFMPEG.probe, images)} == {(160, 120)}


def test_a_thumbnail_sheet_has_the_grids_size_and_a_different_frame_in_each_tile(
    torch_server: RunningServer, inputs: dict[str, str], tmp_path: Path
) -> None:
    fields = {"video_id": inputs["clip"], "columns": 3, "rows": 2, "width": 300}
    info = run_tool(torch_server, f"{TOOLS}/thumbnail", fields)

    sheet = download(torch_server, info["file_id"], tmp_path, "png")
    probed = FFMPEG.probe(sheet)
    assert (probed.width, probed.height) == (300, 150)  # tiles of 100x75
    tiles = {tile_digest(sheet, column * 100, row * 75) for row in range(2) for column in range(3)}
    assert len(tiles) == 6
    assert len(info["timestamps"]) == 6


def test_the_info_route_gives_size_rate_codecs_bitrate_and_rotation(
    torch_server: RunningServer, inputs: dict[str, str]
) -> None:
    response = torch_server.client.get(f"{TOOLS}/info/{inputs['clip']}")
    assert response.status_code == 200, response.text
    info = response.json()
    assert (info["width"], info["height"], info["fps"]) == (160, 120, 25)
    assert (info["video_codec"], info["audio_codec"], info["has_audio"], info["rotation"]) == ("h264", "aac", True, 0)
    assert abs(info["duration"] - 4.0) < 0.1
    assert info["bitrate"] > 0
    rotated = torch_server.client.get(f"{TOOLS}/info/{inputs['rotated']}").json()
    assert rotated["rotation"] == 270  # turned 90 degrees counter-clockwise


@pytest.mark.parametrize(("fmt", "media_type"), [("png", "image/png"), ("jpg", "image/jpeg"), ("webp", "image/webp")])
def test_extract_frame_answers_the_image_itself(
    torch_server: RunningServer, inputs: dict[str, str], clip_path: Path, tmp_path: Path, fmt: str, media_type: str
) -> None:
    response = torch_server.client.get(
        f"{TOOLS}/extract-frame/{inputs['clip']}", params={"timestamp": 2, "format": fmt}
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    image = tmp_path / f"frame.{fmt}"
    image.write_bytes(response.content)
    probed = FFMPEG.probe(image)
    assert (probed.width, probed.height) == (160, 120)
    if fmt == "png":
        assert decoded_frames(image) == [decoded_frames(clip_path)[50]]


REQUIRED = {"split": {"segments": "0-1"}}
"""A valid value for each tool's other required fields."""
BAD_POSTS = [
    ("cut", {"start": 5}, 400, "start"),
    ("cut", {"end": 4.5}, 400, "end"),
    ("cut", {"start": 2, "end": 1}, 400, "end"),
    ("cut", {"end": 2, "duration": 1}, 400, "end"),
    ("cut", {"start": 3, "duration": 2}, 400, "duration"),
    ("cut", {"video_id": "image"}, 400, "video_id"),
    ("cut", {"video_id": "0" * 32}, 404, "video_id"),
    ("split", {"segments": "0-2,1-3"}, 400, "segments"),
    ("split", {"segments": "2-1"}, 400, "segments"),
    ("split", {"segments": "3-5"}, 400, "segments"),
    ("split", {"segments": "start-end"}, 400, "segments"),
    ("gif-preview", {"duration": 31}, 422, "duration"),
    ("gif-preview", {"start": 4.5}, 400, "start"),
    ("extract-frames", {"timestamps": "1,9"}, 400, "timestamps"),
    ("extract-frames", {}, 400, "timestamps"),
    ("extract-frames", {"timestamps": "1", "every_s": 1}, 400, "timestamps"),
    ("extract-frames", {"every_s": 0.01}, 400, "every_s"),
    ("extract-frames", {"every_s": 0.03}, 400, "every_s"),
    ("thumbnail", {"columns": 10, "rows": 10}, 400, "rows"),
    ("thumbnail", {"columns": 10, "width": 64}, 400, "width"),
    ("transcode", {"width": 81}, 422, "width"),
    ("transcode", {"format": "avi"}, 422, "format"),
    ("transcode", {"webhook_url": "ftp://example.org/hook"}, 400, "webhook_url"),
    ("split", {"folder": "../up"}, 400, "folder"),
]


def test_bad_video_tool_requests_name_the_field_and_start_nothing(
    torch_server: RunningServer, inputs: dict[str, str]
) -> None:
    jobs_before = job_count(torch_server)
    for tool, fields, code, field in BAD_POSTS:
        body = {"video_id": "clip", **REQUIRED.get(tool, {}), **fields}
        body["video_id"] = inputs.get(body["video_id"], body["video_id"])
        response = torch_server.client.post(f"{TOOLS}/{tool}", data=body)
        assert response.status_code == code, (tool, fields, response.text)
        assert f"'{field}'" in response.json()["error"], (tool, fields, response.text)
    assert job_count(torch_server) == jobs_before


@pytest.mark.parametrize(
    ("path", "params", "code", "field"),
    [
        ("extract-frame/{clip}", {"timestamp": 9}, 400, "timestamp"),
        ("extract-frame/{clip}", {"format": "gif"}, 422, "format"),
        ("extract-frame/{image}", {}, 400, "video_id"),
        ("info/{image}", {}, 400, "file_id"),
        ("info/" + "0" * 32, {}, 404, "file_id"),
    ],
)
def test_bad_frame_and_info_requests_name_the_field(
    torch_server: RunningServer, inputs: dict[str, str], path: str, params: dict[str, object], code: int, field: str
) -> None:
    response = torch_server.client.get(f"{TOOLS}/{path.format(**inputs)}", params=params)

    assert response.status_code == code, response.text
    assert f"'{field}'" in response.json()["error"]


def test_a_video_tool_on_a_busy_server_gets_429_with_retry_after(
    server_factory: ServerFactory, clip_path: Path
) -> None:
    server = server_factory(max_concurrent_video=1, max_queued_jobs=0)
    clip = upload_id(server, clip_path, "video")

    with server.hold_slot("video"):
        posted = server.client.post(f"{TOOLS}/cut", data={"video_id": clip, "end": 1})
        got = server.client.get(f"{TOOLS}/extract-frame/{clip}", params={"timestamp": 1})
        for response in (posted, got):
            assert response.status_code == 429, response.text
            assert int(response.headers["Retry-After"]) >= 1
    assert job_count(server) == 0

    assert server.client.get(f"{TOOLS}/extract-frame/{clip}", params={"timestamp": 1}).status_code == 200
