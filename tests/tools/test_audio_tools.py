"""audio-tools merge, trim-pauses, extend-audio, normalize and info: each checked on what the output holds."""

import re
from pathlib import Path

import pytest

from tests.conftest import ServerFactory
from tests.support.local_server import RunningServer
from tests.tools.conftest import download, ffmpeg_log, job_count, make_media, progress_of, run_tool, submit, upload_id

TOOLS = "/api/v1/media/audio-tools"
TTS = f"{TOOLS}/tts/kokoro"
PAUSES_S = (1.5, 2.0)
"""The silences inserted between three 1 s tones of the speech stand-in."""


def tone(path: Path, rate: int, seconds: float, *options: str) -> Path:
    make_media("-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={rate}:duration={seconds}", *options, str(path))
    return path


def speech_with_pauses(path: Path) -> Path:
    """Three 1 s tones with the PAUSES_S silences between them: 6.5 s."""
    first, second = (f"[1]atrim=duration={pause}[s{i}]" for i, pause in enumerate(PAUSES_S))
    graph = f"{first};{second};[0]asplit=3[t0][t1][t2];[t0][s0][t1][s1][t2]concat=n=5:v=0:a=1"
    make_media(
        *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=24000:duration=1"),
        *("-f", "lavfi", "-i", "anullsrc=r=24000:cl=mono", "-filter_complex", graph, str(path)),
    )
    return path


@pytest.fixture(scope="module")
def inputs(torch_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("audio-tools")
    image, clip = folder / "still.png", folder / "clip.mp4"
    make_media("-f", "lavfi", "-i", "testsrc2=s=160x120", "-frames:v", "1", str(image))
    make_media(
        *("-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip))
    )
    audio = {
        "mono16k": tone(folder / "mono16k.wav", 16000, 1.5),
        "stereo44k": tone(folder / "stereo44k.mp3", 44100, 2, "-ac", "2", "-b:a", "128k"),
        "stereo48k": tone(folder / "stereo48k.flac", 48000, 1, "-ac", "2"),
        "quiet": tone(folder / "quiet.wav", 44100, 4, "-af", "volume=0.05", "-ac", "2"),
        "speech": speech_with_pauses(folder / "speech.wav"),
    }
    ids = {name: upload_id(torch_server, path, "audio") for name, path in audio.items()}
    return {**ids, "image": upload_id(torch_server, image, "image"), "clip": upload_id(torch_server, clip, "video")}


def exact_duration(path: Path) -> float:
    """Seconds from the decoded sample count (not the container's rounded figure)."""
    log = ffmpeg_log(
        "-i", str(path), "-map", "0:a:0", "-af", "astats=measure_overall=Number_of_samples", "-f", "null", "-"
    )
    samples = int(float(re.findall(r"Number of samples: ([\d.]+)", log)[-1]))
    rate = int(re.findall(r"(\d+) Hz", log)[0])
    return samples / rate


def mean_volume_db(path: Path, start: float, length: float) -> float:
    log = ffmpeg_log("-ss", str(start), "-t", str(length), "-i", str(path), "-af", "volumedetect", "-f", "null", "-")
    value = re.findall(r"mean_volume: (-?[\d.]+|-inf) dB", log)[-1]
    return float(value)


def test_three_files_of_different_rates_merge_into_their_sum_plus_the_gaps(
    torch_server: RunningServer, inputs: dict[str, str], tmp_path: Path
) -> None:
    ids = ",".join(inputs[name] for name in ("mono16k", "stereo44k", "stereo48k"))
    info = run_tool(torch_server, f"{TOOLS}/merge", {"audio_ids": ids, "gap_ms": 250, "format": "wav"})
    assert (info["sample_rate"], info["channels"], info["audio_codec"]) == (48000, 2, "pcm_s16le")
    merged = download(torch_server, info["file_id"], tmp_path, "wav")
    assert exact_duration(merged) == pytest.approx(1.5 + 2 + 1 + 2 * 0.25, abs=0.005)
    assert mean_volume_db(merged, 1.55, 0.15) < -80, "the first gap is silent"


def test_a_crossfade_overlaps_each_join_by_its_length(
    torch_server: RunningServer, inputs: dict[str, str], tmp_path: Path
) -> None:
    ids = ",".join(inputs[name] for name in ("mono16k", "stereo44k", "stereo48k"))
    info = run_tool(torch_server, f"{TOOLS}/merge", {"audio_ids": ids, "crossfade_ms": 300, "format": "flac"})
    merged = download(torch_server, info["file_id"], tmp_path, "flac")
    assert exact_duration(merged) == pytest.approx(1.5 + 2 + 1 - 2 * 0.3, abs=0.005)


def test_trim_pauses_removes_the_inserted_silence_but_what_it_keeps(
    torch_server: RunningServer, inputs: dict[str, str], tmp_path: Path
) -> None:
    fields = {"audio_id": inputs["speech"], "min_silence_ms": 500, "keep_silence_ms": 150}
    info = run_tool(torch_server, f"{TOOLS}/trim-pauses", fields)
    expected_removed = sum(PAUSES_S) - len(PAUSES_S) * 0.15
    assert info["removed_s"] == pytest.approx(expected_removed, abs=0.1)
    assert info["pauses_shortened"] == len(PAUSES_S)
    trimmed = download(torch_server, info["file_id"], tmp_path, "wav")
    assert exact_duration(trimmed) == pytest.approx(6.5 - expected_removed, abs=0.1)
    log = ffmpeg_log("-i", str(trimmed), "-af", "silencedetect=noise=-40dB:duration=0.3", "-f", "null", "-")
    assert "silence_start" not in log, "no pause longer than what was kept is left"


def test_the_servers_own_speech_joined_with_a_pause_loses_all_of_it_but_what_is_kept(
    torch_server: RunningServer, tmp_path: Path
) -> None:
    speech = submit(torch_server, TTS, {"text": "Automation users want one node that just works."})
    assert torch_server.wait_for(speech)["status"] == "ready"
    said = exact_duration(download(torch_server, speech, tmp_path, "wav"))
    joined = run_tool(torch_server, f"{TOOLS}/merge", {"audio_ids": f"{speech},{speech}", "gap_ms": 1500})

    info = run_tool(torch_server, f"{TOOLS}/trim-pauses", {"audio_id": joined["file_id"]})

    assert info["pauses_shortened"] == 1
    assert info["removed_s"] == pytest.approx(1.5 - 0.15, abs=0.1)
    trimmed = exact_duration(download(torch_server, info["file_id"], tmp_path, "wav"))
    assert trimmed == pytest.approx(2 * said + 0.15, abs=0.1)


@pytest.mark.parametrize("mode", ["pad", "loop"])
def test_extend_audio_lasts_exactly_the_length_asked(
    torch_server: RunningServer, inputs: dict[str, str], tmp_path: Path, mode: str
) -> None:
    info = run_tool(torch_server, f"{TOOLS}/extend-audio", {"audio_id": inputs["mono16k"], "duration": 4, "mode": mode})
    extended = download(torch_server, info["file_id"], tmp_path, "wav")
    assert exact_duration(extended) == pytest.approx(4.0, abs=0.001)
    tail_db = mean_volume_db(extended, 3.2, 0.8)
    assert tail_db < -80 if mode == "pad" else tail_db > -40, f"{mode}: the last second is at {tail_db} dB"


def test_normalize_lands_on_the_target_loudness(
    torch_server: RunningServer, inputs: dict[str, str], tmp_path: Path
) -> None:
    info = run_tool(torch_server, f"{TOOLS}/normalize", {"audio_id": inputs["quiet"], "target_lufs": -16})
    normalized = download(torch_server, info["file_id"], tmp_path, "wav")
    summary = ffmpeg_log("-i", str(normalized), "-af", "ebur128=peak=true", "-f", "null", "-").split("Summary:")[-1]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))  # type: ignore[union-attr]
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))  # type: ignore[union-attr]
    assert integrated == pytest.approx(-16, abs=1.0)
    assert peak <= -1 + 0.5
    assert info["loudness_before"]["integrated_lufs"] < -35
    assert info["loudness_after"]["integrated_lufs"] == pytest.approx(-16, abs=1.0)
    assert info["loudness_after"]["true_peak_db"] == pytest.approx(peak, abs=0.5)
    assert info["normalization"] == "linear"


def test_normalize_reports_progress_through_both_of_its_passes(
    torch_server: RunningServer, inputs: dict[str, str]
) -> None:
    fields = {"audio_id": inputs["quiet"], "target_lufs": -20, "dedup": "false"}
    progress = progress_of(torch_server, f"{TOOLS}/normalize", fields)
    assert progress == sorted(progress) and progress[-1] == 100, progress
    assert any(45 <= value <= 50 for value in progress), f"the measuring pass ends half-way: {progress}"
    assert any(50 < value < 100 for value in progress), f"the second pass reports its own: {progress}"


def test_audio_info_gives_the_stream_facts_at_once(torch_server: RunningServer, inputs: dict[str, str]) -> None:
    response = torch_server.client.get(f"{TOOLS}/info/{inputs['stereo44k']}")
    assert response.status_code == 200, response.text
    info = response.json()
    assert (info["codec"], info["sample_rate"], info["channels"]) == ("mp3", 44100, 2)
    assert info["duration"] == pytest.approx(2.0, abs=0.06)
    assert info["bitrate"] == pytest.approx(128_000, rel=0.1)


def bad_requests(inputs: dict[str, str]) -> list[tuple[str, dict[str, object], int, str]]:
    """(tool, fields, status, field named) for inputs each tool must refuse before admission."""
    one, two = inputs["mono16k"], inputs["stereo44k"]
    return [
        ("merge", {"audio_ids": one}, 400, "audio_ids"),
        ("merge", {"audio_ids": f"{one},{inputs['image']}"}, 400, "audio_ids"),
        ("merge", {"audio_ids": f"{one},nope"}, 404, "audio_ids"),
        ("merge", {"audio_ids": f"{one},{two}", "gap_ms": -1}, 422, "gap_ms"),
        ("merge", {"audio_ids": f"{one},{two}", "gap_ms": 100, "crossfade_ms": 100}, 400, "crossfade_ms"),
        ("merge", {"audio_ids": f"{one},{two}", "crossfade_ms": 1600}, 400, "crossfade_ms"),
        ("trim-pauses", {"audio_id": one, "keep_silence_ms": 600}, 400, "keep_silence_ms"),
        ("trim-pauses", {"audio_id": one, "threshold_db": 5}, 422, "threshold_db"),
        ("trim-pauses", {"audio_id": inputs["clip"]}, 400, "audio_id"),
        ("extend-audio", {"audio_id": one, "duration": 0}, 422, "duration"),
        ("extend-audio", {"audio_id": one, "duration": 5, "mode": "stretch"}, 422, "mode"),
        ("extend-audio", {"audio_id": inputs["image"], "duration": 5}, 400, "audio_id"),
        ("normalize", {"audio_id": one, "target_lufs": 0}, 422, "target_lufs"),
        ("normalize", {"audio_id": one, "true_peak_db": 3}, 422, "true_peak_db"),
        ("normalize", {"audio_id": one, "format": "ogg"}, 422, "format"),
    ]


def test_bad_audio_tool_requests_name_the_field_and_start_nothing(
    torch_server: RunningServer, inputs: dict[str, str]
) -> None:
    jobs_before = job_count(torch_server)
    for tool, fields, code, field in bad_requests(inputs):
        response = torch_server.client.post(f"{TOOLS}/{tool}", data={k: str(v) for k, v in fields.items()})
        assert response.status_code == code, (tool, fields, response.text)
        assert field in response.json()["error"], (tool, response.text)
    for file_id, code in ((inputs["image"], 400), ("0" * 32, 404)):
        response = torch_server.client.get(f"{TOOLS}/info/{file_id}")
        assert response.status_code == code and "file_id" in response.json()["error"], response.text
    assert job_count(torch_server) == jobs_before


def test_an_audio_tool_on_a_busy_server_gets_429_with_retry_after(server_factory: ServerFactory) -> None:
    server = server_factory(max_concurrent_audio=1, max_queued_jobs=0)
    with server.hold_slot("audio"):
        response = server.client.post(f"{TOOLS}/merge", data={"audio_ids": f"{'a' * 32},{'b' * 32}"})
    assert response.status_code == 429, response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert job_count(server) == 0
