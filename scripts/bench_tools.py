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
from app.services.video.captions import default_fonts_dir
from app.tools.catalog import all_tools
from app.tools.table import Tool
from tests.support.local_server import RunningServer

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
TARGET = 1.10
CLIP_MAX_S = 30.0
"""The video inputs last half as long as the audio ones, at most this (640x360 at 25 fps)."""


@dataclass
class Corpus:
    """The benchmark's input files, made once with lavfi, and their ids once uploaded to the server."""

    folder: Path
    seconds: float
    paths: dict[str, Path] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def path(self, name: str) -> str:
        return str(self.paths[name])

    @property
    def clip_seconds(self) -> float:
        return min(self.seconds / 2, CLIP_MAX_S)


class Hand:
    """ffmpeg as a person types it, with the benchmark's threads, at the nice level and on the cores of the server's
    heavy work (on a busy machine a niced job would otherwise lose to it); each call returns the log."""

    def __init__(self, threads: int, budget: CpuBudget, out: Path) -> None:
        self.threads = str(threads)
        self.budget = budget
        self.out = out

    def __call__(self, *args: str, out: Path | None = None) -> str:
        """Run `args` (inputs, filters, output options) into `out` (default `self.out`), or into nothing when
        they end with `-`."""
        n = self.threads
        *options, last = args if args[-1] == "-" else (*args, str(out or self.out))
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

    def beside(self, name: str) -> Path:
        """Another output next to `self.out`, for work that writes several files."""
        return self.out.with_name(f"{self.out.stem}-{name}")


Fields = dict[str, str]
Upload = dict[str, tuple[str, bytes]]
FIXED_COSTS = (
    "the request, the input checks (lookups, probes), admission, the job record, a probe of the output, the "
    "file's move into storage and its download over HTTP (what a small job cannot hide)"
)


def plus(extra: str) -> str:
    """The fixed costs and what else one tool does that its hand-written commands do not."""
    return f"{FIXED_COSTS}; and {extra}"


@dataclass(frozen=True)
class Baseline:
    """One tool's API request (form fields, optional file parts) and its hand-written equivalent."""

    ext: str
    fields: Callable[[Corpus], Fields]
    hand: Callable[[Corpus, Hand], object]
    upload: Callable[[Corpus], Upload] | None = None
    overhead: str = FIXED_COSTS


# The corpus: what every baseline draws from.


def lavfi(out: Path, source: str, *options: str) -> Path:
    command = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source, *options, str(out)]
    subprocess.run(command, check=True)
    return out


def make_corpus(folder: Path, seconds: float) -> Corpus:
    """Speech-like audio with pauses, music, a quiet mix, three parts to merge, three images, raw PCM, and the
    video inputs (`make_videos`)."""
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
    make_videos(corpus)
    return corpus


H264 = ("-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p")
LOGO = "color=c=0xff8000@0.6:s=160x90,format=rgba,drawbox=x=10:y=10:w=60:h=40:color=white@0.9:t=fill"
"""A half-transparent orange logo with an almost opaque white block: an overlay PNG with alpha."""


def make_videos(corpus: Corpus) -> None:
    """A clip with sound (H.264 and AAC), a logo with alpha, a green-screen clip and SRT captions for the clip."""
    folder, clip = corpus.folder, corpus.clip_seconds
    picture_and_sound = f"testsrc2=s=640x360:r=25:d={clip}[out0];sine=frequency=440:d={clip}[out1]"
    green = (
        f"color=c=0x00ff00:s=320x180:r=25:d={clip}[screen];color=c=red:s=48x48:r=25[box];"
        "[screen][box]overlay=x='mod(t*60,272)':y=66:shortest=1[out0]"
    )
    corpus.paths.update(
        video=lavfi(folder / "video.mp4", picture_and_sound, *H264, "-c:a", "aac"),
        logo=lavfi(folder / "logo.png", LOGO, "-frames:v", "1"),
        green=lavfi(folder / "green.mp4", green, *H264),
        captions=folder / "captions.srt",
    )
    corpus.paths["captions"].write_text(srt_cues(clip))


def srt_cues(seconds: float) -> str:
    """One cue every 2 s, each too long to share its screen with the next one's first word."""
    cues = [
        f"{i + 1}\n{srt_time(2 * i)} --> {srt_time(2 * i + 1.8)}\nHere comes caption number {i + 1:02d}\n"
        for i in range(int(seconds // 2))
    ]
    return "\n".join(cues)


def srt_time(at: float) -> str:
    ms = round(at * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


MEDIA_TYPES = {"wav": "audio", "mp3": "audio", "flac": "audio", "png": "image", "jpg": "image", "mp4": "video"}


def upload_corpus(server: RunningServer, corpus: Corpus) -> None:
    for name, path in corpus.paths.items():
        kind = MEDIA_TYPES.get(path.suffix.lstrip("."))
        if kind is None:
            continue  # raw PCM is sent with its request, the captions as a field
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
    pieces: list[tuple[float, float | None]] = [(edges[i], edges[i + 1]) for i in range(0, len(edges) - 1, 2)]
    pieces.append((edges[-1], None))
    graph = f"[0:a]asplit={len(pieces)}" + "".join(f"[s{i}]" for i in range(len(pieces)))
    for i, (keep_from, keep_to) in enumerate(pieces):
        kept = f"atrim=start={keep_from}" + (f":end={keep_to}" if keep_to else "")
        graph += f";[s{i}]{kept},asetpts=PTS-STARTPTS[k{i}]"
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


MP4 = ("-movflags", "+faststart")


def x264(crf: int) -> tuple[str, ...]:
    return ("-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p")


def accurate_cut(corpus: Corpus, hand: Hand, start: float, length: float, out: Path | None = None) -> None:
    """A piece re-encoded from the exact frame, as the cut tool's default (accurate=true) does."""
    piece = ("-ss", f"{start:.3f}", "-i", corpus.path("video"), "-t", f"{length:.3f}")
    hand(*piece, *x264(18), "-c:a", "aac", "-b:a", "128k", *MP4, out=out)


def cut_window(corpus: Corpus) -> tuple[float, float]:
    """Start and duration of the cut: the middle half of the clip."""
    return corpus.clip_seconds / 4, corpus.clip_seconds / 2


def cut_fields(corpus: Corpus) -> Fields:
    start, length = cut_window(corpus)
    return {"video_id": corpus.ids["video"], "start": f"{start:.3f}", "duration": f"{length:.3f}"}


def thirds(corpus: Corpus) -> list[tuple[float, float]]:
    """The clip in three back-to-back pieces, (start, duration) each."""
    third = corpus.clip_seconds / 3
    return [(i * third, third) for i in range(3)]


def split_fields(corpus: Corpus) -> Fields:
    segments = ",".join(f"{start:.3f}-{start + length:.3f}" for start, length in thirds(corpus))
    return {"video_id": corpus.ids["video"], "segments": segments}


def split_by_hand(corpus: Corpus, hand: Hand) -> None:
    """One frame-accurate cut per piece."""
    for number, (start, length) in enumerate(thirds(corpus), start=1):
        accurate_cut(corpus, hand, start, length, hand.beside(f"{number}.mp4"))


def gif_window(corpus: Corpus) -> tuple[str, str]:
    """Start and duration of the GIF: 5 s from a quarter of the clip (less on a short clip)."""
    return f"{corpus.clip_seconds / 4:g}", f"{min(5.0, corpus.clip_seconds / 2):g}"


def gif_fields(corpus: Corpus) -> Fields:
    start, length = gif_window(corpus)
    return {"video_id": corpus.ids["video"], "start": start, "duration": length}


def gif_by_hand(corpus: Corpus, hand: Hand) -> None:
    """The usual palette recipe: one pass, palettegen and paletteuse on a split of the frames."""
    graph = (
        "fps=12,scale=480:-1:flags=lanczos,split[a][b];[b]palettegen=stats_mode=diff[p];"
        "[a][p]paletteuse=dither=bayer:bayer_scale=5:diff_mode=rectangle"
    )
    start, length = gif_window(corpus)
    window = ("-ss", start, "-t", length)
    hand(*window, "-i", corpus.path("video"), "-filter_complex", graph, "-loop", "0")


def frames_by_hand(corpus: Corpus, hand: Hand) -> None:
    """A frame every 2 s into numbered PNGs."""
    folder = hand.beside("frames")
    folder.mkdir(exist_ok=True)
    hand("-i", corpus.path("video"), "-vf", "fps=1/2", out=folder / "frame-%04d.png")


def thumbnail_by_hand(corpus: Corpus, hand: Hand) -> None:
    """16 evenly spaced frames, 320 px wide, tiled 4x4 (the clip's length is known)."""
    sheet = f"fps=16/{corpus.clip_seconds:g},scale=320:-1,tile=4x4"
    hand("-i", corpus.path("video"), "-vf", sheet, "-frames:v", "1", "-update", "1")


def looping_by_hand(corpus: Corpus, hand: Hand) -> None:
    """The still scaled once and repeated at 25 fps (as the tool does, not `-loop 1`, which decodes it each frame)."""
    still = "[0:v]scale=640:360,setsar=1,loop=loop=-1:size=1,fps=25,format=yuv420p[v]"
    inputs = ("-i", corpus.path("image1"), "-i", corpus.path("part1"), "-filter_complex", still)
    encode = (*x264(23), "-c:a", "aac", "-b:a", "192k", "-shortest", *MP4)
    hand(*inputs, "-map", "[v]", "-map", "1:a", *encode)


def captions_by_hand(corpus: Corpus, hand: Hand) -> None:
    """The SRT burned with the subtitles filter, styled like the tool's default (sizes on the SRT's 288-line canvas)."""
    style = "FontName=Lato,Bold=1,FontSize=33,Outline=1.4,Shadow=1.7,MarginV=29"
    burn = f"subtitles=filename={corpus.path('captions')}:fontsdir={default_fonts_dir()}:force_style='{style}'"
    hand("-i", corpus.path("video"), "-vf", burn, *x264(20), "-c:a", "copy", *MP4)


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
    "video_transcode": Baseline(
        "mp4",
        lambda c: {"video_id": c.ids["video"], "format": "mp4", "width": "480", "preset": "veryfast"},
        lambda c, hand: hand("-i", c.path("video"), "-vf", "scale=480:-2", *x264(23), "-c:a", "copy", *MP4),
        overhead=plus("a probe in the job to choose what is stream-copied"),
    ),
    "video_cut": Baseline(
        "mp4",
        cut_fields,
        lambda c, hand: accurate_cut(c, hand, *cut_window(c)),
    ),
    "video_split": Baseline(
        "zip",
        split_fields,
        split_by_hand,
        overhead=plus("a probe and a stored file for each piece, and the zip of the pieces that is downloaded"),
    ),
    "video_gif_preview": Baseline("gif", gif_fields, gif_by_hand),
    "video_extract_frames": Baseline(
        "zip",
        lambda c: {"video_id": c.ids["video"], "every_s": "2"},
        frames_by_hand,
        overhead=plus("a probe in the job for the duration, and the zip of the frames that is downloaded"),
    ),
    "video_thumbnail": Baseline(
        "png",
        lambda c: {"video_id": c.ids["video"]},
        thumbnail_by_hand,
        overhead=plus("a probe in the job for the duration (the hand-written command is given it)"),
    ),
    "video_add_audio": Baseline(
        "mp4",
        lambda c: {"video_id": c.ids["video"], "audio_id": c.ids["music"]},
        lambda c, hand: hand(
            *("-i", c.path("video"), "-i", c.path("music"), "-map", "0:v", "-map", "1:a", "-c:v", "copy"),
            *("-c:a", "aac", "-b:a", "192k", "-t", f"{c.clip_seconds:g}", *MP4),
        ),
        overhead=plus("both inputs probed again in the job (the video is stream-copied: little work to hide it)"),
    ),
    "video_match_duration": Baseline(
        "mp4",
        lambda c: {"video_id": c.ids["video"], "duration": f"{c.seconds:g}", "mode": "loop"},
        lambda c, hand: hand("-stream_loop", "-1", "-i", c.path("video"), "-c", "copy", "-t", f"{c.seconds:g}", *MP4),
        overhead=plus("a probe in the job; the work is a stream copy, so the fixed costs are most of the time"),
    ),
    "video_add_overlay": Baseline(
        "mp4",
        lambda c: {"video_id": c.ids["video"], "overlay_id": c.ids["logo"], "position": "bottom-right", "margin": "20"},
        lambda c, hand: hand(
            *("-i", c.path("video"), "-i", c.path("logo"), "-filter_complex", "overlay=W-w-20:H-h-20"),
            *(*x264(23), "-c:a", "copy", *MP4),
        ),
    ),
    "video_add_colorkey_overlay": Baseline(
        "mp4",
        lambda c: {"video_id": c.ids["video"], "overlay_id": c.ids["green"], "position": "center"},
        lambda c, hand: hand(
            *("-i", c.path("video"), "-i", c.path("green"), "-filter_complex"),
            *("[1:v]colorkey=0x00ff00:0.3:0.1[key];[0:v][key]overlay=(W-w)/2:(H-h)/2", *x264(23), "-c:a", "copy", *MP4),
        ),
    ),
    "video_create_looping": Baseline(
        "mp4",
        lambda c: {"image_id": c.ids["image1"], "audio_id": c.ids["part1"], "width": "640", "height": "360"},
        looping_by_hand,
        overhead=plus("the audio probed again in the job for the length"),
    ),
    "video_add_captions": Baseline(
        "mp4",
        lambda c: {"video_id": c.ids["video"], "captions": c.paths["captions"].read_text()},
        captions_by_hand,
        overhead=plus("the captions parsed and written as ASS, and a probe in the job"),
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
    print(f"{'operation':26} {'route':46} {'API s':>8} {'hand s':>8} {'ratio':>7}")
    for tool, api_s, hand_s in rows:
        flag = "" if api_s / hand_s <= TARGET else "  > target"
        print(f"{tool.operation:26} {tool.path:46} {api_s:8.3f} {hand_s:8.3f} {api_s / hand_s:7.3f}{flag}")
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
