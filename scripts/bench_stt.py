"""Benchmark transcription: faster-whisper called directly against the same file as a job through the HTTP API
and through the OpenAI-compatible route (`POST /v1/audio/transcriptions`, the file uploaded with each request).

Usage: python scripts/bench_stt.py [--threads 2] [--model base] [--runs 3] [--audio FILE]

The audio is 60 s of real speech from the ONNX engine (made once, or `--audio`). The direct call loads the same
model with the same options and threads, in a thread at the heavy work's nice and cores, as the server's Whisper
process does; the job is posted with wait=true (dedup off), so its answer is the transcript; the OpenAI route
answers with the transcript itself (json). Runs rotate which goes first; medians are compared.
Prints the times (wall and CPU), each route's ratio to the direct call (target <= 1.05), the real-time factors and
the peak RSS of the Whisper process. On a machine shared with other work the wall times swing; the CPU ratio and
the ratio of the runs side by side swing less.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings
from app.limits import CpuBudget
from app.services.ffmpeg import Ffmpeg
from app.services.stt.engine_process import DECODE_OPTIONS
from app.services.stt.model import prepare_model
from tests.support.local_server import RunningServer

SECONDS = 60.0
TTS = "/api/v1/media/audio-tools/tts/kokoro"
ROUTE = "/api/v1/media/audio-tools/transcribe"
OPENAI_ROUTE = "/v1/audio/transcriptions"
STORAGE = "/api/v1/media/storage"
TEXT = (
    "Every morning the small town wakes up slowly. The baker opens his shop before sunrise and the smell of fresh "
    "bread fills the quiet street. Children walk to school with their bags on their backs, talking about games and "
    "homework. At the corner, an old man sells newspapers and greets everyone by name. Later, the market square "
    "becomes busy with farmers selling vegetables, fruit and flowers. People stop to chat, to buy a coffee, or to "
    "sit on a bench in the sun. In the afternoon the library is full of students who read and write in silence. "
    "When the evening comes, families gather for dinner and share the news of the day. The lights in the windows "
    "go out one by one, and the town falls asleep again, ready for another ordinary and beautiful day."
)


def speech_file(server: RunningServer, folder: Path) -> Path:
    """60 s of the ONNX engine's English speech (looped if the text is shorter), as a 16-bit WAV."""
    response = server.client.post(TTS, data={"text": TEXT, "lang_code": "a", "wait": "true"})
    response.raise_for_status()
    spoken = folder / "spoken.wav"
    spoken.write_bytes(response.content)
    out = folder / "speech-60s.wav"
    Ffmpeg.locate().run(["-stream_loop", "-1", "-i", str(spoken), "-t", f"{SECONDS:g}", str(out)], SECONDS, 2)
    return out


def upload(server: RunningServer, path: Path) -> str:
    with path.open("rb") as file:
        response = server.client.post(STORAGE, data={"media_type": "audio"}, files={"file": (path.name, file)})
    response.raise_for_status()
    return str(response.json()["file_id"])


def api_job(server: RunningServer, audio_id: str) -> float:
    """Seconds from the POST to the transcript in hand (wait=true: the answer is the file; dedup off)."""
    start = time.perf_counter()
    response = server.client.post(ROUTE, data={"audio_id": audio_id, "dedup": "false", "wait": "true"})
    assert response.status_code == 200 and response.content, response.text
    return time.perf_counter() - start


def openai_route(server: RunningServer, audio: Path) -> float:
    """Seconds from the POST (the file sent with it, as OpenAI clients do) to the transcript in hand."""
    start = time.perf_counter()
    with audio.open("rb") as file:
        response = server.client.post(OPENAI_ROUTE, data={"model": "whisper-1"}, files={"file": (audio.name, file)})
    assert response.status_code == 200 and response.json()["text"], response.text
    return time.perf_counter() - start


def direct_caller(settings: Settings, threads: int) -> tuple[ThreadPoolExecutor, Callable[[Path], float]]:
    """faster-whisper in a thread placed like the Whisper process (nice, cores); a call times one transcription."""
    budget = CpuBudget.from_limits(settings.max_cpu_threads, settings.cpu_usage_limit, settings.heavy_nice)
    pool = ThreadPoolExecutor(1, initializer=budget.enter_heavy_thread)

    def build() -> object:
        from faster_whisper import WhisperModel

        source = prepare_model(settings.whisper_model, settings.model_cache_dir)
        return WhisperModel(source, device="cpu", compute_type="int8", cpu_threads=threads)

    model = pool.submit(build).result()

    def transcribe(audio: Path) -> float:
        start = time.perf_counter()
        segments, _ = model.transcribe(str(audio), **DECODE_OPTIONS)  # type: ignore[attr-defined]
        assert list(segments)
        return time.perf_counter() - start

    return pool, lambda audio: pool.submit(transcribe, audio).result()


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) used so far by this process, or by process `pid`."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(run: Callable[[], float], whisper_pid: int) -> tuple[float, float]:
    """(wall s, CPU s of this process and the Whisper process) of one run."""
    before = cpu_seconds() + cpu_seconds(whisper_pid)
    wall = run()
    return wall, cpu_seconds() + cpu_seconds(whisper_pid) - before


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of a process in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmHWM"].split()[0]) / 1024, int(fields["VmRSS"].split()[0]) / 1024


def rotated(runs: int, sides: dict[str, Callable[[], tuple[float, float]]]) -> dict[str, list[tuple[float, float]]]:
    """Each run takes every side once, each side first in turn, so all see the same load on a shared machine."""
    names = list(sides)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for run in range(runs):
        for name in names[run % len(names) :] + names[: run % len(names)]:
            results[name].append(sides[name]())
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", default="base", help="WHISPER_MODEL (default: base)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--audio", type=Path, help="a 60 s speech file (made with the ONNX engine when absent)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-stt-"))
    settings = Settings(
        storage_path=work / "media",
        tts_engine="onnx",
        whisper_model=args.model,
        max_cpu_threads=args.threads,
        cpu_usage_limit=1.0,
        log_level="WARNING",
    )
    server = RunningServer(settings)
    try:
        audio = args.audio or speech_file(server, work)
        audio_id = upload(server, audio)
        duration = server.client.get(f"{STORAGE}/{audio_id}/info").json()["duration"]
        pool, direct = direct_caller(settings, args.threads)
        direct(audio), api_job(server, audio_id), openai_route(server, audio)  # warm-up: one-time costs
        pid = server.client.get("/health").json()["stt"]["pid"]
        results = rotated(
            args.runs,
            {
                "faster-whisper direct": lambda: measured(lambda: direct(audio), pid),
                "job via the API": lambda: measured(lambda: api_job(server, audio_id), pid),
                "OpenAI route": lambda: measured(lambda: openai_route(server, audio), pid),
            },
        )
        pool.shutdown()
        peak, rss = peak_rss_mb(pid)
    finally:
        server.stop()
    report(args, duration, results)
    print(f"audio: {audio} (again with --audio)")
    print(f"Whisper process {pid}: peak RSS {peak:.0f} MB (now {rss:.0f} MB)")


def report(args: argparse.Namespace, duration: float, results: dict[str, list[tuple[float, float]]]) -> None:
    walls = {name: statistics.median(wall for wall, _ in runs) for name, runs in results.items()}
    cpus = {name: statistics.median(cpu for _, cpu in runs) for name, runs in results.items()}
    print(f"\nmodel {args.model}, audio {duration:.1f} s, threads {args.threads}, {args.runs} runs each (medians)")
    for name, runs in results.items():
        each = ", ".join(f"{run_wall:.2f}" for run_wall, _ in runs)
        print(f"{name:22}: {walls[name]:6.2f} s wall, {cpus[name]:6.2f} s CPU (walls {each})")
    direct = "faster-whisper direct"
    for name in [name for name in results if name != direct]:
        pairs = statistics.median(
            route[0] / base[0] for base, route in zip(results[direct], results[name], strict=True)
        )
        print(
            f"{name} / direct: {walls[name] / walls[direct]:.3f} wall (target <= 1.05), "
            f"{cpus[name] / cpus[direct]:.3f} CPU; median of the runs side by side {pairs:.3f} wall; "
            f"real-time factor {walls[name] / duration:.3f} (direct {walls[direct] / duration:.3f})"
        )


if __name__ == "__main__":
    main()
