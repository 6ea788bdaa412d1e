"""Kokoro-82M on torch through the `kokoro` package's `KModel`, loaded once per process."""

import json
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.errors import EngineUnavailable
from app.services.tts.engine import LoadedEngine, token_ids
from app.services.tts.voice_fetch import load_cached_voices
from app.services.tts.voices import VoiceLibrary, load_pt_voices

if TYPE_CHECKING:
    from kokoro import KModel

log = logging.getLogger("app.tts.torch")

WEIGHTS_NAME = "kokoro-v1_0.pth"
WEIGHT_KEYS = {"bert", "bert_encoder", "predictor", "text_encoder", "decoder"}


class TorchKokoroEngine:
    """`KModel` on the CPU; torch's thread count is set to the job's share before each call."""

    name = "torch"
    side_by_side = False  # torch's thread count is the process's: one chunk at a time, on the whole share

    def __init__(self, model: "KModel", vocab: dict[str, int]) -> None:
        import torch

        self._torch = torch
        self.model = model
        self.vocab = vocab
        self._lock = threading.Lock()

    def synthesize(self, phonemes: str, style: np.ndarray, speed: float, threads: int) -> tuple[np.ndarray, list[int]]:
        torch = self._torch
        n = len(token_ids(phonemes, self.vocab))
        ids = torch.LongTensor([[0, *token_ids(phonemes, self.vocab), 0]])
        with self._lock:
            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
        with torch.inference_mode():
            audio, durations = self.model.forward_with_tokens(ids, torch.from_numpy(style), speed)
        durations = durations.reshape(-1).tolist()
        if len(durations) != n + 2:
            raise RuntimeError(f"model returned {len(durations)} durations for {n + 2} tokens")
        return audio.reshape(-1).float().numpy(), durations

    def durations(self, phonemes: str, style: np.ndarray, speed: float, threads: int) -> list[int]:
        """`KModel.forward_with_tokens` as far as the durations: BERT, the prosody encoder and the duration head."""
        torch = self._torch
        model = self.model
        ids = torch.LongTensor([[0, *token_ids(phonemes, self.vocab), 0]])
        with self._lock:
            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
        with torch.inference_mode():
            lengths = torch.full((1,), ids.shape[-1], dtype=torch.long)
            mask = torch.gt(torch.arange(ids.shape[-1]).unsqueeze(0) + 1, lengths.unsqueeze(1))
            encoded = model.bert_encoder(model.bert(ids, attention_mask=(~mask).int())).transpose(-1, -2)
            prosody = model.predictor.text_encoder(encoded, torch.from_numpy(style)[:, 128:], lengths, mask)
            hidden, _ = model.predictor.lstm(prosody)
            frames = torch.sigmoid(model.predictor.duration_proj(hidden)).sum(axis=-1) / speed
        counts: list[int] = torch.round(frames).clamp(min=1).long().reshape(-1).tolist()
        return counts


def find_model_dir(model_dir: Path | None, repo_id: str, allow_download: bool) -> Path:
    """KOKORO_MODEL_DIR, or the hub repo through huggingface_hub's own cache (and download when allowed)."""
    if model_dir is not None:
        if not (model_dir / "config.json").is_file() or not (model_dir / WEIGHTS_NAME).is_file():
            raise EngineUnavailable(f"KOKORO_MODEL_DIR={model_dir} must hold config.json and {WEIGHTS_NAME}.")
        return model_dir
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise EngineUnavailable("huggingface_hub is not installed (an ONNX-only install).") from exc
    try:
        return Path(
            snapshot_download(
                repo_id,
                allow_patterns=["config.json", WEIGHTS_NAME, "voices/*.pt"],
                local_files_only=not allow_download,
            )
        )
    except Exception as exc:
        where = "downloaded" if allow_download else "found in the Hugging Face cache"
        raise EngineUnavailable(
            f"Kokoro torch weights for {repo_id} could not be {where} ({type(exc).__name__}); "
            "set KOKORO_MODEL_DIR to a directory with config.json, kokoro-v1_0.pth and voices/."
        ) from exc


def load_torch_engine(model_dir: Path, repo_id: str, cache_dir: Path | None = None) -> LoadedEngine:
    """KModel on the weights of `model_dir`, with its voices and those fetched before into `cache_dir`."""
    try:
        import torch
        from kokoro import KModel
    except ImportError as exc:
        raise EngineUnavailable("torch and kokoro are not installed (an ONNX-only install).") from exc

    weights_path = model_dir / WEIGHTS_NAME
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    weights = torch.load(weights_path, map_location="cpu", weights_only=True, mmap=True)
    if set(weights) != WEIGHT_KEYS:
        raise EngineUnavailable(f"{weights_path} is not a Kokoro weights file (keys: {sorted(weights)}).")
    model = KModel(repo_id=repo_id, config=config, model=str(weights_path)).eval()
    for key, state in weights.items():
        state = {k.removeprefix("module."): v for k, v in state.items()}
        result = getattr(model, key).load_state_dict(state, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise EngineUnavailable(f"{weights_path} does not match the Kokoro architecture in part '{key}'.")
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        log.debug("torch inter-op threads were already fixed")
    voices = load_pt_voices(model_dir / "voices")
    if cache_dir is not None:
        voices = {**load_cached_voices(cache_dir, repo_id), **voices}
    if not voices:
        raise EngineUnavailable(f"No voices found under {model_dir / 'voices'}.")
    engine = TorchKokoroEngine(model, config["vocab"])
    return LoadedEngine(engine, VoiceLibrary(voices), weights=str(weights_path))
