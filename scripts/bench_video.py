"""Benchmark a 30 s 1080x1920 captioned video: through the API against one hand-written ffmpeg command.

Usage: python scripts/bench_video.py [--seconds 30] [--threads 2] [--effect ken_burns]

Both render the same inputs (an image, a narration WAV, word captions) at the same threads: the API
through upload + `tts-captioned-video` with `audio_id` and `captions` (wait=true), the baseline as
one ffmpeg command written here by hand (cover scale, zoom, ASS captions, H.264 + AAC). Prints both
wall times and their ratio; targets: ratio <= 1.15, and under 30 s for 30 s of video on 2 cores.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import imageio_ffmpeg

from app.config import Settings
from app.services.video.captions import CaptionStyle, Word, build_ass, default_fonts_dir
from tests.support.local_server import RunningServer

WIDTH, HEIGHT, FPS = 1080, 1920, 25
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def make_inputs(work: Path, seconds: float) -> tuple[Path, Path, list[dict]]:
    image, audio = work / "background.png", work / "narration.wav"
    run = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"]
    subprocess.run([*run, "-i", "testsrc2=s=1600x1200", "-frames:v", "1", str(image)], check=True)
    tone = f"sine=frequency=220:duration={seconds}:sample_rate=24000"
    subprocess.run([*run, "-i", tone, "-ac", "1", str(audio)], check=True)
    vocabulary = "automation runs every morning and sends a short summary to the whole team".split()  # noqa: SIM905
    words = []
    t, i = 0.2, 0
    while t + 0.35 < seconds:
        words.append({"word": vocabulary[i % len(vocabulary)], "start": round(t, 3), "end": round(t + 0.3, 3)})
        t, i = t + 0.4, i + 1
    return image, audio, words


def hand_written(image: Path, audio: Path, words: list[dict], seconds: float, threads: int, out: Path) -> float:
    """The same work as one ffmpeg command: cover to 1.25x, zoom to 1.15x, burn ASS captions, encode."""
    ass = out.with_suffix(".ass")
    ass.write_text(build_ass([Word(**w) for w in words], CaptionStyle(), WIDTH, HEIGHT), encoding="utf-8")
    frames = int(seconds * FPS)
    graph = (
        "[0:v]scale=1350:2400:force_original_aspect_ratio=increase,crop=1350:2400,setsar=1,"
        f"loop=loop=-1:size=1,fps={FPS},"
        f"zoompan=z='1+0.15*on/{frames}':x='(iw-iw/zoom)/2':y='(ih-ih/zoom)/2':d=1:fps={FPS}:s={WIDTH}x{HEIGHT},"
        f"format=yuv420p,ass=filename={ass}:fontsdir={default_fonts_dir()}[v]"
    )
    command = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-i", str(image), "-i", str(audio)]
    command += ["-filter_complex", graph, "-map", "[v]", "-map", "1:a:0"]
    command += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-r", str(FPS)]
    command += ["-c:a", "aac", "-b:a", "192k", "-t", f"{seconds:.3f}", "-movflags", "+faststart"]
    command += ["-threads", str(threads), "-filter_complex_threads", str(threads), str(out)]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def through_api(image: Path, audio: Path, words: list[dict], threads: int, effect: str, work: Path) -> float:
    settings = Settings(
        storage_path=work / "media",
        tts_engine="onnx",
        max_cpu_threads=threads,
        cpu_usage_limit=1.0,
        log_level="WARNING",
        warmup=False,
    )
    server = RunningServer(settings)
    try:
        ids = {}
        for path, kind in ((image, "image"), (audio, "audio")):
            with path.open("rb") as f:
                response = server.client.post(
                    "/api/v1/media/storage", files={"file": (path.name, f)}, data={"media_type": kind}
                )
            response.raise_for_status()
            ids[kind] = response.json()["file_id"]
        form = {
            "background_id": ids["image"],
            "audio_id": ids["audio"],
            "captions": json.dumps(words),
            "width": str(WIDTH),
            "height": str(HEIGHT),
            "image_effect": effect,
            "wait": "true",
        }
        start = time.perf_counter()
        response = server.client.post("/api/v1/media/video-tools/generate/tts-captioned-video", data=form, timeout=600)
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, response.text
        (work / "api.mp4").write_bytes(response.content)
        return elapsed
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--effect", default="ken_burns", choices=["ken_burns", "pan", "none"])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-video-"))
    image, audio, words = make_inputs(work, args.seconds)
    baseline = hand_written(image, audio, words, args.seconds, args.threads, work / "hand.mp4")
    api = through_api(image, audio, words, args.threads, args.effect, work)
    print(f"\n{args.seconds:.0f} s of {WIDTH}x{HEIGHT} captioned video ({args.effect}), threads {args.threads}")
    print(f"hand-written ffmpeg command : {baseline:7.2f} s")
    print(f"through the API (wait=true) : {api:7.2f} s")
    print(f"ratio API / hand-written    : {api / baseline:7.3f}  (target <= 1.15)")
    print(f"wall time per video second  : {api / args.seconds:7.3f}  (target < 1.0)")


if __name__ == "__main__":
    main()
