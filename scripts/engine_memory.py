"""The speech engine process's memory and speed: RSS idle after start, peak and after work, seconds per audio second.

Usage: python scripts/engine_memory.py [--runs 3] [--engine onnx] [--threads 2]

Starts the engine process as the server does (TTS_ENGINE and the other settings from the environment, WARMUP
as set), reads its RSS with psutil once it is ready, then synthesizes the same English text `--runs` times
(sampling the RSS every 10 ms) and one Portuguese sentence, and prints each figure. Nothing is asserted.
"""

import argparse
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil

from app.config import Settings
from app.limits import CpuBudget
from app.services.child_process import ChildProcess
from app.services.tts.chunking import SAMPLE_RATE
from app.services.tts.engine_process import start_engine_process, tts_service_on
from app.services.tts.service import TtsService

TEXT = (
    "Every morning the small town wakes up slowly. The baker opens his shop before sunrise and the smell of fresh "
    "bread fills the quiet street. Children walk to school with their bags on their backs, talking about games and "
    "homework. At the corner, an old man sells newspapers and greets everyone by name. Later, the market square "
    "becomes busy with farmers selling vegetables, fruit and flowers. People stop to chat, or to buy a coffee."
)
PORTUGUESE = "O gato dorme no sofá da sala enquanto a chuva cai lá fora."
MB = 1024 * 1024


class PeakRss:
    """The highest RSS of one process, sampled from a thread while the block runs."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / MB


def speak(tts: TtsService, text: str, lang_code: str | None, threads: int) -> tuple[float, float]:
    """Wall seconds and audio seconds of one synthesis of `text`."""
    request = tts.validate(text, None, 1.0, lang_code)
    start = time.perf_counter()
    samples = sum(len(audio) for audio, *_ in tts.stream(request, lambda: threads))
    return time.perf_counter() - start, samples / SAMPLE_RATE


def loaded_languages(tts: TtsService) -> str:
    assert tts.g2p is not None
    return ",".join(item["code"] for item in tts.g2p.languages() if item.get("loaded")) or "(not reported)"


def measure(engine: ChildProcess, settings: Settings, runs: int, threads: int) -> None:
    pid = engine.pid
    assert pid is not None
    tts = tts_service_on(engine, settings)
    time.sleep(1.0)
    print(f"idle after start: {rss_mb(pid):.0f} MB (languages loaded: {loaded_languages(tts)})")
    per_audio_s = []
    with PeakRss(pid) as peak:
        for _ in range(runs):
            wall, audio = speak(tts, TEXT, "a", threads)
            per_audio_s.append(wall / audio)
    print(f"English x{runs}: {', '.join(f'{r:.3f}' for r in per_audio_s)} s per audio second")
    print(f"peak during English: {peak.peak / MB:.0f} MB; after: {rss_mb(pid):.0f} MB")
    with PeakRss(pid) as peak:
        wall, audio = speak(tts, PORTUGUESE, "p", threads)
    print(f"Portuguese first use: {wall:.2f} s for {audio:.1f} s of audio; peak {peak.peak / MB:.0f} MB")
    print(f"after Portuguese: {rss_mb(pid):.0f} MB (languages loaded: {loaded_languages(tts)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engine", default=os.environ.get("TTS_ENGINE", "onnx"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    settings = Settings(tts_engine=args.engine)
    budget = CpuBudget.from_limits(settings.max_cpu_threads, settings.cpu_usage_limit, settings.heavy_nice)
    started = time.perf_counter()
    engine = start_engine_process(settings, budget)
    print(f"engine {args.engine}: started in {time.perf_counter() - started:.1f} s, warmup={settings.warmup}")
    try:
        measure(engine, settings, args.runs, args.threads)
    finally:
        engine.close()


if __name__ == "__main__":
    main()
