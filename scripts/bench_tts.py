"""Benchmark both TTS engines: the raw library loop against the same text through the HTTP job API.

Usage: python scripts/bench_tts.py [--threads 2] [--model-dir DIR]

torch: kokoro's own `KPipeline` over the text on the random-weight test model (real architecture),
then the server's HTTP job (post, poll, download). onnx: the real int8 model driven by the engine
without HTTP, then the same HTTP job. Prints times, real-time factors and ratios; target for the
HTTP overhead ratio: <= 1.05.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings
from tests.support.local_server import RunningServer
from tests.support.make_test_model import make_test_model

TEXT = (
    "Automation tools call this server all day long. Each request turns a few sentences into speech, "
    "and the server must stay fast and stable while it does so. This paragraph is long enough to need "
    "several chunks, so the benchmark measures the whole text path: grapheme to phoneme conversion, "
    "chunking, synthesis and writing the file. The result should sound natural and arrive quickly."
)
SAMPLE_RATE = 24_000


def torch_library_loop(model_dir: Path, threads: int) -> tuple[float, float]:
    """kokoro's KPipeline over the text (its English G2P given the installed spaCy model)."""
    import torch
    from kokoro import KModel, KPipeline

    from app.services.tts.g2p import offline_english_g2p

    torch.set_num_threads(threads)
    model = KModel(
        repo_id="hexgrad/Kokoro-82M", config=str(model_dir / "config.json"), model=str(model_dir / "kokoro-v1_0.pth")
    )
    pipeline = KPipeline(lang_code="p", repo_id="hexgrad/Kokoro-82M", model=model.eval())
    pipeline.lang_code, pipeline.g2p = "a", offline_english_g2p(british=False)
    voice = torch.load(model_dir / "voices" / "af_heart.pt", weights_only=True)
    for _ in pipeline("Warm up.", voice=voice):
        pass
    start = time.perf_counter()
    samples = sum(len(result.audio) for result in pipeline(TEXT, voice=voice))
    return time.perf_counter() - start, samples / SAMPLE_RATE


def engine_loop(settings: Settings, threads: int) -> tuple[float, float]:
    """The loaded engine and text path with no HTTP and no job around them."""
    from app.services.tts.loader import build_tts_service

    service = build_tts_service(settings)
    request = service.validate(TEXT, None, 1.0, "a")
    start = time.perf_counter()
    samples = sum(len(audio) for audio, *_ in service.stream(request, lambda: threads))
    return time.perf_counter() - start, samples / SAMPLE_RATE


def http_job(settings: Settings) -> tuple[float, float]:
    server = RunningServer(settings)
    try:
        server.client.post(
            "/api/v1/media/audio-tools/tts/kokoro", data={"text": "Warm up.", "lang_code": "a", "wait": "true"}
        )
        start = time.perf_counter()
        file_id = server.client.post(
            "/api/v1/media/audio-tools/tts/kokoro", data={"text": TEXT, "lang_code": "a"}
        ).json()["file_id"]
        while server.client.get(f"/api/v1/media/storage/{file_id}/status").json()["status"] not in ("ready", "failed"):
            time.sleep(0.02)
        audio = server.client.get(f"/api/v1/media/storage/{file_id}").content
        elapsed = time.perf_counter() - start
        duration = server.client.get(f"/api/v1/media/storage/{file_id}/info").json()["duration"]
        assert len(audio) > 0
        return elapsed, duration
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model-dir", type=Path, help="a test model dir (built in a temp dir when absent)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-tts-"))
    model_dir = args.model_dir or make_test_model(work / "model")
    common = {"max_cpu_threads": args.threads, "cpu_usage_limit": 1.0, "log_level": "WARNING"}
    rows = []
    torch_settings = Settings(
        tts_engine="torch", kokoro_model_dir=model_dir, storage_path=work / "torch-media", **common
    )
    raw = torch_library_loop(model_dir, args.threads)
    rows.append(("torch (random weights)", "KPipeline loop", raw, http_job(torch_settings)))
    onnx_settings = Settings(tts_engine="onnx", storage_path=work / "onnx-media", **common)
    raw = engine_loop(onnx_settings, args.threads)
    rows.append(("onnx int8 (real weights)", "engine loop", raw, http_job(onnx_settings)))
    print(f"\ntext: {len(TEXT)} characters, threads: {args.threads}")
    header = ("engine", "baseline", "raw s", "http s", "ratio", "audio s", "RTF raw", "RTF http")
    print(f"{header[0]:26} {header[1]:15} " + " ".join(f"{h:>8}" for h in header[2:]))
    for name, baseline, (raw_s, raw_audio), (http_s, http_audio) in rows:
        print(
            f"{name:26} {baseline:15} {raw_s:8.2f} {http_s:8.2f} {http_s / raw_s:8.3f} {http_audio:8.2f} "
            f"{raw_s / raw_audio:8.3f} {http_s / http_audio:8.3f}"
        )
    torch_rtf = rows[0][2][0] / rows[0][2][1]
    onnx_rtf = rows[1][2][0] / rows[1][2][1]
    print(f"real-time factor torch / onnx: {torch_rtf / onnx_rtf:.2f}x")


if __name__ == "__main__":
    main()
