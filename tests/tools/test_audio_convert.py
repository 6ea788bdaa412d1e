"""audio-tools/convert: any stored audio, or a video's sound, to another format, rate and channel count."""

from pathlib import Path

import pytest

from tests.support.local_server import RunningServer
from tests.tools.conftest import FFMPEG, download, job_count, make_media, packets, run_tool, upload_id

ROUTE = "/api/v1/media/audio-tools/convert"


@pytest.fixture(scope="module")
def inputs(torch_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("convert")
    tone, clip, silent, image = folder / "tone.wav", folder / "clip.mp4", folder / "silent.mp4", folder / "still.png"
    make_media("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=2", "-ac", "2", str(tone))
    make_media(
        *("-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=1.5", "-f", "lavfi", "-i", "sine=d=1.5"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(clip)),
    )
    make_media(
        "-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(silent)
    )
    make_media("-f", "lavfi", "-i", "testsrc2=s=160x120", "-frames:v", "1", str(image))
    return {
        "tone": upload_id(torch_server, tone, "audio"),
        "clip": upload_id(torch_server, clip, "video"),
        "silent": upload_id(torch_server, silent, "video"),
        "image": upload_id(torch_server, image, "image"),
    }


def test_a_stereo_wav_becomes_a_mono_16k_mp3_of_the_same_length(
    torch_server: RunningServer, inputs: dict[str, str], tmp_path: Path
) -> None:
    info = run_tool(
        torch_server, ROUTE, {"file_id": inputs["tone"], "format": "mp3", "sample_rate": 16000, "channels": 1}
    )
    assert (info["media_type"], info["audio_codec"], info["sample_rate"], info["channels"]) == (
        "audio",
        "mp3",
        16000,
        1,
    )
    assert abs(info["duration"] - 2.0) < 0.1 and info["stream_copy"] is False
    probed = FFMPEG.probe(download(torch_server, info["file_id"], tmp_path, "mp3"))
    assert (probed.audio_codec, probed.sample_rate, probed.channels) == ("mp3", 16000, 1)


def test_a_video_gives_its_sound_as_flac(torch_server: RunningServer, inputs: dict[str, str]) -> None:
    info = run_tool(torch_server, ROUTE, {"file_id": inputs["clip"], "format": "flac"})
    assert (info["media_type"], info["audio_codec"]) == ("audio", "flac")
    assert abs(info["duration"] - 1.5) < 0.1


def test_a_videos_aac_sound_goes_into_m4a_as_it_is_packet_for_packet(
    torch_server: RunningServer, inputs: dict[str, str], tmp_path: Path
) -> None:
    info = run_tool(torch_server, ROUTE, {"file_id": inputs["clip"], "format": "m4a"})
    assert (info["stream_copy"], info["audio_codec"]) == (True, "aac")
    sound = download(torch_server, info["file_id"], tmp_path, "m4a")
    assert packets(sound, "a:0") == packets(download(torch_server, inputs["clip"], tmp_path, "mp4"), "a:0")


def test_bad_convert_requests_name_the_field_and_start_nothing(
    torch_server: RunningServer, inputs: dict[str, str]
) -> None:
    jobs_before = job_count(torch_server)
    cases = [
        ({"file_id": inputs["image"]}, 400, "file_id"),
        ({"file_id": inputs["silent"]}, 400, "file_id"),
        ({"file_id": "nope"}, 404, "file_id"),
        ({"file_id": inputs["tone"], "format": "ogg"}, 422, "format"),
        ({"file_id": inputs["tone"], "sample_rate": 100}, 422, "sample_rate"),
        ({"file_id": inputs["tone"], "bitrate": "loud"}, 422, "bitrate"),
    ]
    for fields, code, field in cases:
        response = torch_server.client.post(ROUTE, data=fields)
        assert response.status_code == code, (fields, response.text)
        assert field in response.json()["error"], response.text
    assert job_count(torch_server) == jobs_before
