#!/usr/bin/env bash
# Builds an ONNX-only venv (requirements-onnx.txt: no torch, no kokoro) and proves it speaks.
# Usage: scripts/check_onnx_only.sh [VENV_DIR]   (prints the venv size as pip installed it)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-/tmp/media-api-onnx-venv}"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q -r requirements-onnx.txt
du -sh "$venv"
HF_HUB_OFFLINE=1 "$venv/bin/python" - <<'PY'
import sys
from pathlib import Path
from tempfile import mkdtemp

from app.config import Settings
from app.services.tts.loader import build_tts_service

service = build_tts_service(Settings(tts_engine="auto", warmup=False))
assert service.describe()["engine"] == "onnx", service.unavailable_reason
for text, lang in (("Hello from an install without torch.", None), ("Olá, sem torch aqui.", "p")):
    request = service.validate(text, None, 1.0, lang)
    result = service.synthesize_to_wav(request, Path(mkdtemp()) / "x.wav", lambda: 2)
    print(f"{request.lang_code}: {result.duration_s:.2f} s, {len(result.words)} words")
import numpy as np

from app.services.tts.torch_file import read_tensor
from app.services.tts.voices import as_pack

voice = as_pack(read_tensor(Path("tests/support/data/tiny_voice.pt")))  # written by torch.save (voices/NAME.pt)
assert np.array_equal(voice.reshape(-1), np.arange(4 * 256, dtype=np.float32) / 1024), "a .pt voice misread"
print("a torch-saved .pt voice is read without torch")
assert "torch" not in sys.modules and "kokoro" not in sys.modules
print("ONNX-only install speaks; torch and kokoro were never imported")
PY
