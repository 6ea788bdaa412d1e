"""Benchmark the toolbox: each tool through the API against the same ffmpeg work written by hand.

Usage: python scripts/bench_tools.py [--threads 2] [--runs 5] [--seconds 300] [--only OPERATION,...]

Every tool registered in `all_tools()` when the script runs is looked up in BASELINES by its operation. A
baseline gives the API request and the ffmpeg commands a person would type for the same result: the same input
files, the same threads, and the nice level and cores of the server's heavy work. The API side is one request
with wait=true and dedup=false (answered with the file, so upload, admission, the job, storage and the download
are all inside its time); the hand side runs its commands one after the other. The two alternate (one untimed
warm-up each, then API, hand, API, hand, ...); the ratio of their medians is printed (target <= 1.10), then the
tools past the target with what the API does that the hand-written commands do not, and the tools with no
baseline yet.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import imageio_ffmpeg

from app.config import Settings
from app.limits import CpuBudget
from app.tools.catalog import all_tools
from app.tools.table import Tool
from tests.support.local_server import RunningServer

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
TARGET = 1.10


@dataclass
class Corpus:
    """The benchmark's input files, made once with lavfi, and their ids once uploaded to the server."""

    folder: Path
    seconds: float
    paths: dict[str, Path] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def path(self, name: str) -> str:
        return str(self.paths[name])


class Hand:
    """ffmpeg as a person types it, with the benchmark's threads, at the nice level and on the cores of the server's
    heavy work (on a busy machine a niced job would otherwise lose to it); each call returns the log."""

    def __init__(self, threads: int, budget: CpuBudget, out: Path) -> None:
        self.threads = str(threads)
        self.budget = budget
        self.out = out

    def __call__(self, *args: str) -> str:
        """Run `args` (inputs, filters, output options; the output is `self.out` unless args end with `-`)."""
        n = self.threads
        *options, last = args if args[-1] == "-" else (*args, str(self.out))
        command = [FFMPEG, "-hide_banner", "-nostdin", "-y", "-filter_threads", n, "-filter_complex_threads", n]
        done = subprocess.run(
            [*command, *options, "-threads", n, last],
            capture_output=True,
            text=True,
            preexec_fn=self.budget.enter_heavy_process,
        )
        if done.returncode != 0:
            raise RuntimeError(f"hand-written ffmpeg failed: {done.stderr[-600:]}")
        return done.stderr


Fields = dict[str, str]
Upload = dict[str, tuple[str, bytes]]


@dataclass(frozen=True)
class Baseline:
    """One tool's API request (form fields, optional file parts) and its hand-written equivalent."""

    ext: str
    fields: Callable[[Corpus], Fields]
    hand: Callable[[Corpus, Hand], None]
    upload: Callable[[Corpus], Upload] | None = None
    overhead: str = (
        "the request, the input checks (lookups, probes), admission, the job record, a probe of the output, the "
        "file's move into storage and its download over HTTP (what a small job cannot hide)"
    )


# The corpus: what every baseline draws from.


def lavfi(out: Path, source: str, *options: str) -> Path:
    command = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source, *options, str(out)]
    subprocess.run(command, check=True)
    return out


def make_corpus(folder: Path, seconds: float) -> Corpus:
    """Speech-like audio with pauses, music, a quiet mix, three parts to merge, three images, raw PCM, a video."""
    corpus = Corpus(folder, seconds)
    third = seconds / 3
    pauses = f"aevalsrc='0.3*sin(2*PI*300*t)*lt(mod(t\\,2.8)\\,2)':s=24000:d={seconds}"
    corpus.paths.update(
        speech=lavfi(folder / "speech.wav", pauses),
        music=lavfi(folder / "music.wav", f"sine=frequency=440:sample_rate=44100:duration={seconds}", "-ac", "2"),
        quiet=lavfi(folder / "quiet.wav", f"anoisesrc=r=44100:a=0.05:d={seconds}", "-af", "volume=0.3", "-ac", "2"),
        part1=lavfi(folder / "part1.wav", f"sine=frequency=300:sample_rate=16000:duration={third}"),
        part2=lavfi(folder / "part2.mp3", f"sine=frequency=500:sample_rate=44100:duration={third}", "-ac", "2"),
        part3=lavfi(folder / "part3.flac", f"sine=frequency=700:sample_rate=48000:duration={third}", "-ac", "2"),
        image1=lavfi(folder / "image1.png", "testsrc2=s=1280x720", "-frames:v", "1"),
        image2=lavfi(folder / "image2.jpg", "testsrc2=s=640x480", "-frames:v", "1"),
        image3=lavfi(folder / "image3.png", "testsrc2=s=800x800", "-frames:v", "1"),
        pcm=lavfi(folder / "speech.pcm", f"sine=frequency=220:sample_rate=24000:duration={seconds}", "-f", "s16le"),
    )
    video = folder / "video.mp4"
    command = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25"]
    command += ["-f", "lavfi", "-i", "sine=frequency=440", "-t", f"{min(seconds, 60)}", "-c:v", "libx264"]
    subprocess.run([*command, "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(video)], check=True)
    corpus.paths["video"] = video
    return corpus


MEDIA_TYPES = {"wav": "audio", "mp3": "audio", "flac": "audio", "png": "image", "jpg": "image", "mp4": "video"}


def upload_corpus(server: RunningServer, corpus: Corpus) -> None:
    for name, path in corpus.paths.items():
        kind = MEDIA_TYPES.get(path.suffix.lstrip("."))
        if kind is None:
            continue  # raw PCM is sent with its request
        with path.open("rb") as file:
            response = server.client.post(
                "/api/v1/media/storage", data={"media_type": kind}, files={"file": (path.name, file)}
            )
        response.raise_for_status()
        corpus.ids[name] = response.json()["file_id"]


# The hand-written equivalents, one per operation.


def merge_graph(rate: int, gap_s: float) -> str:
    layout = f"aformat=sample_fmts=fltp:sample_rates={rate}:channel_layouts=stereo"
    return (
        f"[0:a]{layout},apad=pad_dur={gap_s}[a];[1:a]{layout},apad=pad_dur={gap_s}[b];[2:a]{layout}[c];"
        "[a][b][c]concat=n=3:v=0:a=1[out]"
    )


def trim_by_hand(corpus: Corpus, hand: Hand) -> None:
    """silencedetect, then keep all but the middle of each pause (150 ms left) with atrim and concat."""
    log = hand("-i", corpus.path("speech"), "-af", "silencedetect=noise=-40dB:duration=0.5", "-f", "null", "-")
    starts = [float(x) for x in re.findall(r"silence_start: ([\d.]+)", log)]
    ends = [float(x) for x in re.findall(r"silence_end: ([\d.]+)", log)] + [corpus.seconds]
    edges = [0.0]
    for start, end in zip(starts, ends, strict=False):
        edges += [start + 0.075, end - 0.075]
    pieces = [(edges[i], edges[i + 1]) for i in range(0, len(edges) - 1, 2)] + [(edges[-1], None)]
    graph = f"[0:a]asplit={len(pieces)}" + "".join(f"[s{i}]" for i in range(len(pieces)))
    for i, (start, end) in enumerate(pieces):
        graph += f";[s{i}]atrim=start={start}" + (f":end={end}" if end else "") + f",asetpts=PTS-STARTPTS[k{i}]"
    graph += ";" + "".join(f"[k{i}]" for i in range(len(pieces))) + f"concat=n={len(pieces)}:v=0:a=1[out]"
    script = corpus.folder / "trim.graph"
    script.write_text(graph)
    hand("-i", corpus.path("speech"), "-/filter_complex", str(script), "-map", "[out]", "-c:a", "pcm_s16le")


def normalize_by_hand(corpus: Corpus, hand: Hand) -> None:
    """loudnorm measures, then applies with the measured values (linear when it can), back to 44.1 kHz."""
    target = "loudnorm=I=-16:TP=-1"
    log = hand("-i", corpus.path("quiet"), "-af", f"{target}:print_format=json", "-f", "null", "-")
    found = dict(re.findall(r'"(input_i|input_tp|input_lra|input_thresh|target_offset)" : "(-?[\d.]+)"', log))
    measured = (
        f"LRA={max(11.0, float(found['input_lra'])):.2f}:measured_I={found['input_i']}:measured_TP={found['input_tp']}"
        f":measured_LRA={max(0.01, float(found['input_lra'])):.2f}:measured_thresh={found['input_thresh']}"
        f":offset={found['target_offset']}:linear=true:print_format=json"
    )
    hand("-i", corpus.path("quiet"), "-af", f"{target}:{measured},aresample=44100", "-c:a", "pcm_s16le")


def stitch_by_hand(corpus: Corpus, hand: Hand) -> None:
    sizes = [(1280, 720), (640, 480), (800, 800)]
    cells = ";".join(f"[{i}:v]format=rgba,pad={w}:800:0:(oh-ih)/2:color=white[c{i}]" for i, (w, _) in enumerate(sizes))
    graph = f"{cells};[c0][c1][c2]xstack=inputs=3:layout=0_0|1290_0|1940_0:fill=white[out]"
    images = [arg for name in ("image1", "image2", "image3") for arg in ("-i", corpus.path(name))]
    hand(*images, "-filter_complex", graph, "-map", "[out]", "-frames:v", "1", "-update", "1", "-c:v", "png")


BASELINES: dict[str, Baseline] = {
    "audio_convert": Baseline(
        "mp3",
        lambda c: {"file_id": c.ids["music"], "format": "mp3", "sample_rate": "16000", "channels": "1"},
        lambda c, hand: hand("-i", c.path("music"), "-vn", "-ar", "16000", "-ac", "1", "-c:a", "libmp3lame"),
    ),
    "audio_merge": Baseline(
        "mp3",
        lambda c: {"audio_ids": ",".join(c.ids[f"part{i}"] for i in (1, 2, 3)), "gap_ms": "300", "format": "mp3"},
        lambda c, hand: hand(
            *[arg for i in (1, 2, 3) for arg in ("-i", c.path(f"part{i}"))],
            *("-filter_complex", merge_graph(48000, 0.3), "-map", "[out]", "-c:a", "libmp3lame"),
        ),
    ),
    "audio_trim_pauses": Baseline("wav", lambda c: {"audio_id": c.ids["speech"]}, trim_by_hand),
    "audio_extend": Baseline(
        "wav",
        lambda c: {"audio_id": c.ids["part1"], "duration": f"{c.seconds}", "mode": "loop"},
        lambda c, hand: hand(
            *("-stream_loop", "-1", "-i", c.path("part1"), "-af", f"atrim=duration={c.seconds}", "-c:a", "pcm_s16le")
        ),
    ),
    "audio_normalize": Baseline("wav", lambda c: {"audio_id": c.ids["quiet"], "target_lufs": "-16"}, normalize_by_hand),
    "stitch_images": Baseline(
        "png",
        lambda c: {"image_ids": ",".join(c.ids[f"image{i}"] for i in (1, 2, 3)), "gap": "10"},
        stitch_by_hand,
    ),
    "pcm_to_wav": Baseline(
        "wav",
        lambda c: {"sample_rate": "24000", "channels": "1", "sample_format": "s16le"},
        lambda c, hand: hand("-f", "s16le", "-ar", "24000", "-ac", "1", "-i", c.path("pcm"), "-c:a", "pcm_s16le"),
        upload=lambda c: {"file": ("speech.pcm", c.paths["pcm"].read_bytes())},
        overhead="the PCM's upload over HTTP, its copy into scratch and the WAV's download (the work is a copy)",
    ),
}
"""Hand-written equivalents by operation; a tool added to the table without one is listed as "no baseline yet"."""


# Running and reporting.


def through_api(server: RunningServer, tool: Tool, baseline: Baseline, corpus: Corpus, out: Path) -> float:
    fields = {**baseline.fields(corpus), "wait": "true", "dedup": "false"}
    files = baseline.upload(corpus) if baseline.upload else None
    start = time.perf_counter()
    response = server.client.post(tool.path, data=fields, files=files, timeout=900)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"{tool.path} answered {response.status_code}: {response.text[:300]}")
    out.write_bytes(response.content)
    return elapsed


def by_hand(baseline: Baseline, corpus: Corpus, hand: Hand) -> float:
    start = time.perf_counter()
    baseline.hand(corpus, hand)
    return time.perf_counter() - start


def measure(server: RunningServer, tool: Tool, corpus: Corpus, threads: int, runs: int) -> tuple[float, float]:
    """Median seconds (API, hand) over `runs` alternating runs after one untimed warm-up of each."""
    baseline = BASELINES[tool.operation]
    api_out = corpus.folder / f"{tool.operation}-api.{baseline.ext}"
    hand = Hand(threads, server.services.budget, corpus.folder / f"{tool.operation}-hand.{baseline.ext}")
    api_times, hand_times = [], []
    for run in range(runs + 1):
        api_s = through_api(server, tool, baseline, corpus, api_out)
        hand_s = by_hand(baseline, corpus, hand)
        if run > 0:
            api_times.append(api_s)
            hand_times.append(hand_s)
    return statistics.median(api_times), statistics.median(hand_times)


def start_server(folder: Path, threads: int) -> RunningServer:
    settings = Settings(
        storage_path=folder / "media",
        tts_engine="onnx",
        max_cpu_threads=threads,
        cpu_usage_limit=1.0,
        max_upload_mb=2000,
        log_level="WARNING",
        warmup=False,
    )
    return RunningServer(settings)


def report(rows: list[tuple[Tool, float, float]], missing: list[Tool], threads: int, seconds: float) -> None:
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\nthe toolbox through the API against hand-written ffmpeg: {seconds:g} s inputs, threads {threads}")
    print(f"load average now: {load} on {os.cpu_count()} cores (a shared machine makes every figure noisier)")
    print(f"{'operation':22} {'route':46} {'API s':>8} {'hand s':>8} {'ratio':>7}")
    for tool, api_s, hand_s in rows:
        flag = "" if api_s / hand_s <= TARGET else "  > target"
        print(f"{tool.operation:22} {tool.path:46} {api_s:8.3f} {hand_s:8.3f} {api_s / hand_s:7.3f}{flag}")
    over = [(tool, api_s - hand_s) for tool, api_s, hand_s in rows if api_s / hand_s > TARGET]
    print(f"\npast the target ({TARGET:.2f}): {', '.join(tool.operation for tool, _ in over) or 'none'}")
    for tool, extra in over:
        print(f"  {tool.operation}: +{extra:.3f} s for {BASELINES[tool.operation].overhead}")
    print(f"no baseline yet: {', '.join(tool.operation for tool in missing) or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=300.0, help="length of the audio inputs")
    parser.add_argument("--only", default="", help="comma-separated operations to run (default: all)")
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}
    tools = [tool for tool in all_tools() if not only or tool.operation in only]
    missing = [tool for tool in tools if tool.operation not in BASELINES]
    folder = Path(tempfile.mkdtemp(prefix="bench-tools-"))
    corpus = make_corpus(folder, args.seconds)
    server = start_server(folder, args.threads)
    try:
        upload_corpus(server, corpus)
        rows = []
        for tool in (tool for tool in tools if tool.operation in BASELINES):
            api_s, hand_s = measure(server, tool, corpus, args.threads, args.runs)
            print(f"{tool.operation}: API {api_s:.3f} s, hand {hand_s:.3f} s", flush=True)
            rows.append((tool, api_s, hand_s))
    finally:
        server.stop()
    report(rows, missing, args.threads, args.seconds)


if __name__ == "__main__":
    main()
