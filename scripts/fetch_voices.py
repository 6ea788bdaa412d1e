"""Fetch Kokoro v1.0 voices into MODEL_CACHE_DIR now, for a server that goes offline later (`make voices`).

Usage: python scripts/fetch_voices.py [NAME ...]   (no name: all 54; voices already cached are skipped)
Honours MODEL_CACHE_DIR and KOKORO_REPO_ID (as the server does, from the environment or .env) and HF_ENDPOINT.
Exit status 1 when a voice could not be fetched.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings  # after the project root is put on the path
from app.services.tts.voice_fetch import HubVoices
from app.services.tts.voices import KNOWN_VOICES


def main(names: list[str]) -> int:
    settings = Settings()
    hub = HubVoices(settings.model_cache_dir, settings.kokoro_repo_id)
    unknown = [name for name in names if name not in KNOWN_VOICES]
    if unknown:
        print(f"Not Kokoro v1.0 voices: {', '.join(unknown)}. Known: {', '.join(sorted(KNOWN_VOICES))}.")
        return 2
    if hub.unavailable_reason is not None:
        print(f"Voices cannot be fetched: {hub.unavailable_reason}.")
        return 1
    failed = []
    started = time.monotonic()
    for name in names or sorted(KNOWN_VOICES):
        cached = hub.path(name).is_file()
        result = hub.fetch(name)
        if result.pack is None:
            print(f"{name}: FAILED: {result.error}")
            failed.append(name)
            continue
        print(f"{name}: {'already cached' if cached else 'fetched'} ({hub.path(name).stat().st_size // 1024} KiB)")
    done = len(names or KNOWN_VOICES) - len(failed)
    print(f"{done} voices in {hub.path('x').parent} ({time.monotonic() - started:.1f} s); a running server loads new")
    print("ones at its next start (or fetches them on first use while online).")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
