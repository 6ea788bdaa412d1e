"""utils/stitch-images and utils/convert/pcm/wav: sizes and pixels of the stitched image, samples of the WAV."""

import random
import struct
import subprocess
from pathlib import Path

import httpx
import pytest

from app.tools.catalog import all_tools
from tests.conftest import ServerFactory
from tests.support.local_server import RunningServer
from tests.tools.conftest import FFMPEG, download, job_count, make_media, run_tool, upload_id

STITCH = "/api/v1/utils/stitch-images"
PCM = "/api/v1/utils/convert/pcm/wav"
SIZES = [(160, 120), (100, 80), (64, 200)]


@pytest.fixture(scope="module")
def inputs(torch_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("utils-tools")
    first, second, third = folder / "a.png", folder / "b.jpg", folder / "c.png"
    make_media("-f", "lavfi", "-i", "testsrc2=s=160x120", "-frames:v", "1", str(first))
    make_media("-f", "lavfi", "-i", "color=c=yellow:s=100x80", "-frames:v", "1", str(second))
    make_media("-f", "lavfi", "-i", "color=c=blue:s=64x200,format=rgba", "-frames:v", "1", str(third))
    tone = folder / "tone.wav"
    make_media("-f", "lavfi", "-i", "sine=duration=1", str(tone))
    ids = [upload_id(torch_server, path, "image") for path in (first, second, third)]
    return {"images": ",".join(ids), "first": ids[0], "tone": upload_id(torch_server, tone, "audio")}


def pixel(image: Path, x: int, y: int) -> tuple[int, int, int]:
    """The RGB of one pixel, decoded by ffmpeg."""
    command = FFMPEG.command("-loglevel", "error", "-i", str(image), "-vf", f"crop=1:1:{x}:{y}", "-f", "rawvideo")
    raw = subprocess.run([*command, "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return raw[0], raw[1], raw[2]


def near(color: tuple[int, int, int], expected: tuple[int, int, int]) -> bool:
    """Equal within what a JPEG input's decoding changes."""
    return all(abs(a - b) <= 4 for a, b in zip(color, expected, strict=True))


def test_side_by_side_the_width_is_the_widths_and_gaps_summed(
    torch_server: RunningServer, inputs: dict[str, str], tmp_path: Path
) -> None:
    fields = {"image_ids": inputs["images"], "gap": 10, "background": "#ff0000"}
    info = run_tool(torch_server, STITCH, fields)
    assert (info["media_type"], info["width"], info["height"]) == ("image", 160 + 100 + 64 + 2 * 10, 200)
    stitched = download(torch_server, info["file_id"], tmp_path, "png")
    assert pixel(stitched, 165, 100) == (255, 0, 0), "the gap has the background colour"
    assert near(pixel(stitched, 170 + 50, 100), (255, 255, 0)), "the second (JPEG) image, centred in its cell"
    assert pixel(stitched, 170 + 50, 10) == (255, 0, 0), "above the shorter image: background"


def test_one_above_the_other_the_height_is_the_heights_and_gaps_summed(
    torch_server: RunningServer, inputs: dict[str, str]
) -> None:
    info = run_tool(torch_server, STITCH, {"image_ids": inputs["images"], "direction": "vertical", "gap": 4})
    assert (info["width"], info["height"]) == (160, 120 + 80 + 200 + 2 * 4)


def test_a_grid_of_two_columns_has_two_rows_of_the_largest_cells_as_jpg(
    torch_server: RunningServer, inputs: dict[str, str], tmp_path: Path
) -> None:
    fields = {"image_ids": inputs["images"], "direction": "grid", "columns": 2, "gap": 6, "format": "jpg"}
    info = run_tool(torch_server, STITCH, fields)
    assert (info["width"], info["height"], info["video_codec"]) == (2 * 160 + 6, 2 * 200 + 6, "mjpeg")
    stitched = download(torch_server, info["file_id"], tmp_path, "jpg")
    red, green, blue = pixel(stitched, 80, 300)
    assert blue > 200 and red < 60 and green < 60, "the third image opens the second row"


def pcm_samples(sample_format: str, count: int) -> bytes:
    """Random samples: every bit pattern of a 16-bit integer may occur; floats within -1..1."""
    rng = random.Random(14)
    if sample_format == "s16le":
        return rng.randbytes(2 * count)
    return struct.pack(f"<{count}f", *(rng.uniform(-1, 1) for _ in range(count)))


def wav_data(path: Path) -> tuple[int, int, bytes]:
    """(sample rate, channels, the bytes of the data chunk) of a RIFF WAV."""
    blob = path.read_bytes()
    assert blob[:4] == b"RIFF" and blob[8:12] == b"WAVE"
    position, rate, channels = 12, 0, 0
    while position < len(blob):
        chunk, size = blob[position : position + 4], struct.unpack("<I", blob[position + 4 : position + 8])[0]
        body = blob[position + 8 : position + 8 + size]
        if chunk == b"fmt ":
            channels, rate = struct.unpack("<HI", body[2:8])
        if chunk == b"data":
            return rate, channels, body
        position += 8 + size + size % 2
    raise AssertionError("no data chunk")


@pytest.mark.parametrize(("sample_format", "rate", "channels"), [("s16le", 24000, 1), ("f32le", 16000, 2)])
def test_pcm_becomes_a_wav_holding_exactly_the_same_samples(
    torch_server: RunningServer, tmp_path: Path, sample_format: str, rate: int, channels: int
) -> None:
    samples = pcm_samples(sample_format, rate * channels // 2)
    fields = {"sample_rate": str(rate), "channels": str(channels), "sample_format": sample_format}
    response = torch_server.client.post(PCM, data=fields, files={"file": ("speech.pcm", samples)})
    assert response.status_code == 202, response.text
    file_id = response.json()["file_id"]
    assert torch_server.wait_for(file_id)["status"] == "ready"
    assert wav_data(download(torch_server, file_id, tmp_path, "wav")) == (rate, channels, samples)
    scratch = torch_server.services.jobs.get(file_id).params["scratch_id"]  # type: ignore[union-attr]
    assert not (torch_server.services.files.storage.scratch_root() / scratch).exists(), "the PCM copy is gone"


def scratch_folders(server: RunningServer) -> set[str]:
    return {path.name for path in server.services.files.storage.scratch_root().iterdir()}


def test_bad_stitch_requests_name_the_field_and_start_nothing(
    torch_server: RunningServer, inputs: dict[str, str]
) -> None:
    images, first = inputs["images"], inputs["first"]
    cases = [
        ({"image_ids": first}, 400, "image_ids"),
        ({"image_ids": f"{first},{inputs['tone']}"}, 400, "image_ids"),
        ({"image_ids": images, "columns": 2}, 400, "columns"),
        ({"image_ids": images, "direction": "grid", "columns": 4}, 400, "columns"),
        ({"image_ids": images, "background": "plaid"}, 400, "background"),
        ({"image_ids": images, "gap": -1}, 422, "gap"),
        ({"image_ids": images, "format": "gif"}, 422, "format"),
    ]
    jobs_before = job_count(torch_server)
    for fields, code, field in cases:
        response = torch_server.client.post(STITCH, data={k: str(v) for k, v in fields.items()})
        assert response.status_code == code, (fields, response.text)
        assert field in response.json()["error"], response.text
    assert job_count(torch_server) == jobs_before


def test_bad_pcm_requests_name_the_field_and_leave_no_job_or_scratch(torch_server: RunningServer) -> None:
    cases = [
        ({}, b"\x01\x02\x03", 400, "file"),
        ({}, b"", 400, "file"),
        ({"channels": "2"}, b"\x00" * 6, 400, "file"),
        ({"sample_format": "u8"}, b"\x00" * 4, 422, "sample_format"),
        ({"sample_rate": "100"}, b"\x00" * 4, 422, "sample_rate"),
        ({"webhook_url": "ftp://example.com/hook"}, b"\x00" * 4, 400, "webhook_url"),
        ({"folder": "../up"}, b"\x00" * 4, 400, "folder"),
    ]
    jobs_before, scratch_before = job_count(torch_server), scratch_folders(torch_server)
    for fields, body, code, field in cases:
        response = torch_server.client.post(PCM, data=fields, files={"file": ("x.pcm", body)})
        assert response.status_code == code, (fields, response.text)
        assert field in response.json()["error"], response.text
    response = torch_server.client.post(PCM, data={"sample_rate": "24000"})
    assert response.status_code == 422 and "file" in response.json()["error"], response.text
    assert job_count(torch_server) == jobs_before
    assert scratch_folders(torch_server) == scratch_before


def test_a_pcm_upload_past_max_upload_mb_gets_413_and_leaves_nothing(server_factory: ServerFactory) -> None:
    server = server_factory(max_upload_mb=1)
    response = server.client.post(PCM, files={"file": ("big.pcm", b"\x00" * (1024 * 1024 + 2))})
    assert response.status_code == 413, response.text
    assert "file" in response.json()["error"] and "MAX_UPLOAD_MB" in response.json()["error"]
    assert job_count(server) == 0
    assert scratch_folders(server) == set()


def pcm_request(server: RunningServer, key: str) -> httpx.Response:
    """A small PCM upload sent with an Idempotency-Key (which passes the door's load shedding to the route)."""
    files = {"file": ("x.pcm", pcm_samples("s16le", 2400))}
    return server.client.post(PCM, files=files, headers={"Idempotency-Key": key})


def test_a_pcm_upload_refused_as_busy_or_answered_by_an_earlier_job_leaves_no_scratch(
    server_factory: ServerFactory,
) -> None:
    server = server_factory(max_concurrent_audio=1, max_queued_jobs=0)
    first = pcm_request(server, "speech-1")
    assert first.status_code == 202, first.text
    assert server.wait_for(first.json()["file_id"])["status"] == "ready"

    again = pcm_request(server, "speech-1")
    assert (again.status_code, again.headers["X-Reused"]) == (202, "true"), again.text
    with server.hold_slot("audio"):
        busy = pcm_request(server, "speech-2")
    assert busy.status_code == 429 and int(busy.headers["Retry-After"]) >= 1, busy.text

    assert job_count(server) == 1
    assert scratch_folders(server) == set()


def test_every_tool_documents_its_fields_with_name_webhook_url_and_wait_and_answers_202(
    torch_server: RunningServer,
) -> None:
    spec = torch_server.client.get("/openapi.json").json()
    for tool in all_tools():
        operation = spec["paths"][tool.path]["post"]
        [(media_type, content)] = operation["requestBody"]["content"].items()
        form = spec["components"]["schemas"][content["schema"]["$ref"].rsplit("/", 1)[1]]
        assert {"name", "webhook_url", "wait"} <= form["properties"].keys(), tool.path
        assert "202" in operation["responses"] and "429" in operation["responses"], tool.path
        expected = "multipart/form-data" if tool.path == PCM else "application/x-www-form-urlencoded"
        assert media_type == expected, tool.path
    pcm_file = spec["components"]["schemas"]["PcmForm"]["properties"]["file"]
    assert pcm_file["type"] == "string" and "file" in spec["components"]["schemas"]["PcmForm"]["required"]
