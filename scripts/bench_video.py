"""Benchmark a 30 s 1080x1920 captioned video: through the API against one hand-written ffmpeg command.

Usage: python scripts/bench_video.py [--seconds 30] [--threads 2] [--effect ken_burns] [--short]

Both render the same inputs (an image, a narration WAV, word captions) at the same threads: the API
through upload + `tts-captioned-video` with `audio_id` and `captions` (wait=true), the baseline as
one ffmpeg command written here by hand (cover scale, zoom, ASS captions, H.264 + AAC). Prints both
wall times and their ratio; targets: ratio <= 1.15, and under 30 s for 30 s of video on 2 cores.

With --short (default 60 s): a 6-scene short with music in one `generate/short` call against the same work
as 6 `tts-captioned-video` calls plus a `merge` with the music; render time per second of video and the
peak RSS of the ffmpeg processes each way (target: the short is faster).
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
import psutil

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


class PeakRss:
    """The largest summed RSS of this process's ffmpeg children, sampled every 50 ms while in the block."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = False

    def __enter__(self) -> "PeakRss":
        import threading

        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop:
            total = 0
            for child in me.children(recursive=True):
                try:
                    if "ffmpeg" in child.name():
                        total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self._thread.join()


def bench_short(seconds: float, threads: int, effect: str, work: Path) -> None:
    """One 6-scene short call against 6 captioned-video calls and a merge, on the same inputs and music."""
    scene_s = seconds / 6
    image, audio, words = make_inputs(work, scene_s)
    music = work / "music.wav"
    subprocess.run(
        [FFMPEG, "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=110:duration=7", str(music)]
    )
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
        for path, kind in ((image, "image"), (audio, "audio"), (music, "music")):
            with path.open("rb") as f:
                response = server.client.post(
                    "/api/v1/media/storage",
                    files={"file": (path.name, f)},
                    data={"media_type": "audio" if kind == "music" else kind},
                )
            response.raise_for_status()
            ids[kind] = response.json()["file_id"]
        scene = {
            "audio_id": ids["audio"],
            "captions": json.dumps(words),
            "background_id": ids["image"],
            "image_effect": effect,
        }
        body = {
            "scenes": [scene] * 6,
            "width": WIDTH,
            "height": HEIGHT,
            "music_id": ids["music"],
            "music_volume": 0.2,
            "caption_preset": "subtitle",
            "wait": True,
            "dedup": False,
        }
        with PeakRss() as short_rss:
            start = time.perf_counter()
            response = server.client.post("/api/v1/media/video-tools/generate/short", json=body, timeout=1800)
            short_s = time.perf_counter() - start
        assert response.status_code == 200, response.text
        form = {
            "background_id": ids["image"],
            "audio_id": ids["audio"],
            "captions": json.dumps(words),
            "width": str(WIDTH),
            "height": str(HEIGHT),
            "image_effect": effect,
            "wait": "true",
            "dedup": "false",
        }
        with PeakRss() as separate_rss:
            start = time.perf_counter()
            clips = []
            for _ in range(6):
                done = server.client.post(
                    "/api/v1/media/video-tools/generate/tts-captioned-video", data=form, timeout=1800
                )
                assert done.status_code == 200, done.text
                clips.append(done.headers["x-file-id"])
            merge = {
                "video_ids": ",".join(clips),
                "background_music_id": ids["music"],
                "background_music_volume": "0.2",
                "wait": "true",
            }
            merged = server.client.post("/api/v1/media/video-tools/merge", data=merge, timeout=1800)
            separate_s = time.perf_counter() - start
        assert merged.status_code == 200, merged.text
    finally:
        server.stop()
    mib = 1024 * 1024
    print(f"\n{seconds:.0f} s 6-scene {WIDTH}x{HEIGHT} short with music ({effect}), threads {threads}")
    print(
        f"one generate/short call      : {short_s:7.2f} s  {short_s / seconds:6.3f} s per video second  "
        f"peak ffmpeg RSS {short_rss.peak / mib:6.0f} MiB"
    )
    print(
        f"6 captioned calls + merge    : {separate_s:7.2f} s  {separate_s / seconds:6.3f} s per video second  "
        f"peak ffmpeg RSS {separate_rss.peak / mib:6.0f} MiB"
    )
    print(f"ratio short / separate       : {short_s / separate_s:7.3f}  (target < 1)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--effect", default="ken_burns", choices=["ken_burns", "pan", "none"])
    parser.add_argument("--short", action="store_true", help="the 6-scene short vs captioned calls plus a merge")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-video-"))
    if args.short:
        bench_short(args.seconds if args.seconds != 30.0 else 60.0, args.threads, args.effect, work)
        return
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
