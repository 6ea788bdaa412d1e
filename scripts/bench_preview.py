"""Time the short's preview (`POST /api/v1/media/video-tools/preview`) on the real int8 ONNX engine.

Usage: python scripts/bench_preview.py [--runs 7] [--preset small|medium] [--sizes 1080x1920,360x640]

A server with the README's preset (small: MAX_CPU_THREADS=1, CPU_USAGE_LIMIT=0.5, one job of each kind at a
time) previews a one-scene body (an uploaded 1600x1200 image with ken_burns, two English sentences, the
default `bold-word` captions) at each frame size, `--runs` times after one untimed call; each request's wall
time and the median per size are printed. Target: under 2 s on the small preset. The preview synthesizes
nothing (the first sentence's words are timed by the model's duration predictor alone). Alternated with each
run, as a baseline under the same load, the old path: the first sentence synthesized through the TTS route
(wait=true), then the preview of the same scene given that speech as an uploaded narration with its words as
`captions` (the frame alone).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import imageio_ffmpeg

from app.config import Settings
from tests.support.local_server import RunningServer

PREVIEW = "/api/v1/media/video-tools/preview"
TTS = "/api/v1/media/audio-tools/tts/kokoro"
TEXT = "Small steps every day add up to something big. Nobody sees the work, only the result."
PRESETS = {
    "small": {"max_cpu_threads": 1, "cpu_usage_limit": 0.5, "max_concurrent_tts": 1, "max_concurrent_heavy_tasks": 1},
    "medium": {"max_cpu_threads": 2, "cpu_usage_limit": 0.75, "max_concurrent_tts": 2, "max_concurrent_heavy_tasks": 3},
}
"""The README's presets (both run one video job at a time and keep 50 places)."""


def upload_background(server: RunningServer, work: Path) -> str:
    """A 1600x1200 test picture stored on the server; its file_id."""
    image = work / "background.png"
    ffmpeg = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"]
    subprocess.run([*ffmpeg, "-i", "testsrc2=s=1600x1200", "-frames:v", "1", str(image)], check=True)
    with image.open("rb") as file:
        response = server.client.post(
            "/api/v1/media/storage", files={"file": (image.name, file)}, data={"media_type": "image"}
        )
    response.raise_for_status()
    return str(response.json()["file_id"])


def time_preview(server: RunningServer, body: dict) -> float:
    """Wall seconds of one preview request (checked to answer a PNG)."""
    start = time.perf_counter()
    response = server.client.post(PREVIEW, json=body, timeout=120)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200 and response.content[:4] == b"\x89PNG", response.text
    return elapsed


def time_speech(server: RunningServer, text: str) -> float:
    """Wall seconds of the TTS route speaking `text` (wait=true, a new job each time)."""
    start = time.perf_counter()
    form = {"text": text, "lang_code": "a", "format": "wav", "wait": "true", "dedup": "false"}
    response = server.client.post(TTS, data=form)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.text
    return elapsed


def spoken_scene(server: RunningServer, text: str, background: str) -> dict:
    """A scene whose narration is `text` already spoken (an audio_id) with its words as captions."""
    response = server.client.post(TTS, data={"text": text, "lang_code": "a", "format": "wav", "wait": "true"})
    assert response.status_code == 200, response.text
    file_id = response.headers["x-file-id"]
    info = server.client.get(f"/api/v1/media/storage/{file_id}/info").json()
    print(f"  (the first sentence is {info['duration']:.2f} s of speech)")
    words = info["words"]
    captions = json.dumps([{"word": w["word"], "start": w["start"], "end": w["end"]} for w in words])
    return {"audio_id": file_id, "captions": captions, "background_id": background, "image_effect": "ken_burns"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--preset", choices=list(PRESETS), default="small")
    parser.add_argument("--sizes", default="1080x1920,360x640")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-preview-"))
    settings = Settings(
        storage_path=work / "media",
        tts_engine="onnx",
        max_concurrent_video=1,
        log_level="WARNING",
        **PRESETS[args.preset],
    )
    server = RunningServer(settings)
    try:
        background = upload_background(server, work)
        scene = {"text": TEXT, "lang_code": "a", "background_id": background, "image_effect": "ken_burns"}
        first_sentence = TEXT.split(". ")[0] + "."
        spoken = spoken_scene(server, first_sentence, background)
        print(f"preview of a one-scene short, {args.preset} preset, {os.cpu_count()} cores, {args.runs} runs per size")
        for size in args.sizes.split(","):
            width, height = (int(n) for n in size.split("x"))
            body = {"scenes": [scene], "width": width, "height": height}
            first = time_preview(server, body)
            frame_body = {"scenes": [spoken], "width": width, "height": height}
            time_preview(server, frame_body)
            new, old, synth, frame = [], [], [], []
            for _ in range(args.runs):  # alternated, so that both paths see the same load
                new.append(time_preview(server, body))
                synth.append(time_speech(server, first_sentence))
                frame.append(time_preview(server, frame_body))
                old.append(synth[-1] + frame[-1])
            median = statistics.median(new)
            print(f"{size:>9}: first {first:.2f} s; runs {shown(new)} s; median {median:.2f} s (target < 2 s)")
            baseline = statistics.median(old)
            print(f"{'':>9}  old path (first sentence synthesized, then the frame): median {baseline:.2f} s")
            print(f"{'':>9}    synthesis of the first sentence via the TTS route: runs {shown(synth)} s")
            print(f"{'':>9}    the frame alone (audio_id + captions): runs {shown(frame)} s")
    finally:
        server.stop()


def shown(times: list[float]) -> str:
    return " ".join(f"{t:.2f}" for t in times)


if __name__ == "__main__":
    main()
