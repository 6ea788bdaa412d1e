"""ONNX Runtime session choices for the int8 Kokoro model, each measured against a baseline in the same run.

Usage: python scripts/bench_sessions.py [--runs 3] [--cores 0,1] [--busy]

In this process (pinned to `--cores`, default: the cores the heavy work gets), on the server's model file and the
packaged voice jf_alpha, the same English text (G2P'd once) is synthesized, alternating, by:
- the baseline: one session of as many threads as cores, chunks of 300 phonemes one after another (ONNX
  Runtime's defaults, as the server did before);
- `1 thread`; `arena off`, `basic graph`, `no spinning`: the baseline with one choice changed;
- `side by side`: the chunks cut for as many at once as there are cores (`side_by_side_chunks`), each on a
  1-thread session (Python threads); the same with shorter chunks; and serial runs with shorter chunks;
- the server's choice: side by side on sessions made by `onnx_engine.session_options`, chunks of
  `TARGET_PHONEMES`.
Every run but `arena off` gives its arena back after it ends (`onnx_engine.run_options`), as the server does.
Prints the wall seconds per audio second of each, the baseline's best over its best, and the CPU seconds per
audio second (what spinning threads burn shows there) (the memory is measured
per process by `scripts/engine_memory.py` and `scripts/bench_peers.py`), then the first words of a streamed
answer (`first_words`) alone, on the whole width and on 1 thread. With `--busy`, a process burning the first
core runs beside it, as another job would (where thread spinning matters). Nothing is asserted.
"""

import argparse
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import onnxruntime as ort
from bench_peers import TEXT  # the same text as against kokoro-onnx

from app.config import Settings
from app.limits import CpuBudget
from app.services.tts.chunking import (
    SAMPLE_RATE,
    TARGET_PHONEMES,
    Chunk,
    first_words,
    pack_chunks,
    side_by_side_chunks,
    split_sentences,
)
from app.services.tts.engine import style_for, token_ids
from app.services.tts.g2p import G2pRegistry
from app.services.tts.onnx_engine import (
    assemble_packaged_model,
    package_data,
    run_options,
    session_options,
    with_duration_output,
)
from app.services.tts.voices import load_npz_voices


def options(threads: int, arena: bool = True, graph: str = "all", spinning: bool = True) -> ort.SessionOptions:
    chosen = ort.SessionOptions()
    chosen.intra_op_num_threads = threads
    chosen.inter_op_num_threads = 1
    chosen.enable_cpu_mem_arena = arena
    chosen.graph_optimization_level = {
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[graph]
    if not spinning:
        chosen.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return chosen


class Model:
    """The server's model file, the voice pack and the chunks' token ids."""

    def __init__(self, settings: Settings) -> None:
        data = package_data()
        self.vocab: dict[str, int] = __import__("json").loads((data / "vocab.json").read_text())["vocab"]
        source = assemble_packaged_model(settings.model_cache_dir)
        self.path, _ = with_duration_output(source, settings.model_cache_dir)
        self.pack = load_npz_voices(data / "voices_ja.npz")["jf_alpha"]
        g2p = G2pRegistry(self.vocab)
        g2p.probe()
        self.sentences = [g2p.phonemize(sentence, "a") for sentence in split_sentences(TEXT)]
        self.run_options = run_options(ort)  # the arena shrinks after each run, as in the server

    def session(self, chosen: ort.SessionOptions) -> ort.InferenceSession:
        return ort.InferenceSession(str(self.path), sess_options=chosen, providers=["CPUExecutionProvider"])

    def run(self, session: ort.InferenceSession, chunk: Chunk) -> int:
        """Synthesize one chunk; its samples."""
        ids = token_ids(chunk.phonemes, self.vocab)
        names = [i.name for i in session.get_inputs()]
        feeds = dict(
            zip(
                names,
                (
                    np.array([[0, *ids, 0]], dtype=np.int64),
                    style_for(self.pack, len(ids)),
                    np.array([1.0], dtype=np.float32),
                ),
                strict=True,
            )
        )
        shrinks = session.get_session_options().enable_cpu_mem_arena  # only an arena can shrink
        outputs: list[Any] = session.run(None, feeds, self.run_options if shrinks else None)
        return int(np.asarray(outputs[0]).size)


def serial(model: Model, session: ort.InferenceSession, target: int = 300) -> Callable[[], int]:
    chunks = pack_chunks(model.sentences, target)
    return lambda: sum(model.run(session, chunk) for chunk in chunks)


def side_by_side(model: Model, session: ort.InferenceSession, width: int, target: int = 300) -> Callable[[], int]:
    chunks = side_by_side_chunks(model.sentences, width, target)
    pool = ThreadPoolExecutor(width)
    return lambda: sum(pool.map(lambda chunk: model.run(session, chunk), chunks))


def burn(core: int) -> subprocess.Popen[bytes]:
    """A process spinning on one core, as another job would."""
    return subprocess.Popen(
        ["taskset", "-c", str(core), sys.executable, "-c", "while True: pass"], stdout=subprocess.DEVNULL
    )


def main() -> None:
    settings = Settings()
    budget = CpuBudget.from_limits(0, 1.0, settings.heavy_nice)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cores", default=",".join(map(str, budget.pinned_cores or (0,))))
    parser.add_argument("--busy", action="store_true", help="a process burns the first core meanwhile")
    args = parser.parse_args()
    cores = [int(core) for core in args.cores.split(",")]
    os.sched_setaffinity(0, cores)
    width = len(cores)
    model = Model(settings)
    one, whole = model.session(options(1)), model.session(options(width))
    variants: dict[str, Callable[[], int]] = {
        f"{width} threads, chunks of 300 (baseline)": serial(model, whole),
        "1 thread": serial(model, one),
        "arena off": serial(model, model.session(options(width, arena=False))),
        "basic graph": serial(model, model.session(options(width, graph="basic"))),
        "no spinning": serial(model, model.session(options(width, spinning=False))),
        f"side by side, {width} x 1 thread, chunks of 300": side_by_side(model, one, width),
        **{f"chunks of {target}": serial(model, whole, target) for target in (200, 100)},
        **{f"side by side, chunks of {target}": side_by_side(model, one, width, target) for target in (200, 100)},
        f"the server's (session_options, run_options, chunks of {TARGET_PHONEMES})": side_by_side(
            model, model.session(session_options(ort, 1)), width, TARGET_PHONEMES
        ),
    }
    for run in variants.values():
        run()  # warm up every session once
    burner = burn(cores[0]) if args.busy else None
    times: dict[str, list[float]] = {name: [] for name in variants}
    cpu_s: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for _ in range(args.runs):
            for name, run in variants.items():
                start, cpu = time.perf_counter(), time.process_time()
                samples = run()
                times[name].append((time.perf_counter() - start) / (samples / SAMPLE_RATE))
                cpu_s[name].append((time.process_time() - cpu) / (samples / SAMPLE_RATE))
    finally:
        if burner is not None:
            burner.kill()
    report(times, cpu_s, cores, args)
    head, _ = first_words(model.sentences[0])
    for name, session in ((f"{width} threads", model.session(session_options(ort, width))), ("1 thread", one)):
        model.run(session, Chunk(head))
        start = time.perf_counter()
        samples = model.run(session, Chunk(head))
        print(
            f"  first words ({len(Chunk(head).phonemes)} phonemes, {samples / SAMPLE_RATE:.2f} s of audio) on"
            f" {name}: {time.perf_counter() - start:.3f} s"
        )


def report(
    times: dict[str, list[float]], cpu_s: dict[str, list[float]], cores: list[int], args: argparse.Namespace
) -> None:
    print(f"\n{len(TEXT)}-character text, cores {cores}, {args.runs} alternating runs, busy={args.busy}")
    print(f"load average {os.getloadavg()[0]:.2f}")
    baseline = min(next(iter(times.values())))
    for name, values in times.items():
        best = min(values)
        print(
            f"  {name:50} s per audio s: {', '.join(f'{v:.3f}' for v in values)}"
            f"   baseline/this (bests) {baseline / best:.2f}x   CPU s per audio s {min(cpu_s[name]):.3f}"
        )


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
