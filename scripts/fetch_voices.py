"""Install Kokoro v1.0 voices into MODEL_CACHE_DIR now, for a server that goes offline later (`make voices`).

Usage: python scripts/fetch_voices.py [--pack] [NAME ...]
First the voice pack: all 54 voices from the npm registry's kokoro-js 1.2.1 tarball (KOKORO_VOICES_URL, checked
against KOKORO_VOICES_INTEGRITY; nothing is fetched when it is installed). `--pack`: only that (what `make install`
runs). Then any voice named (or, with no name, any of the 54) that is still missing, from the hub
(KOKORO_REPO_ID, HF_ENDPOINT). Honours MODEL_CACHE_DIR as the server does, from the environment or .env.
Exit status 1 when a voice could not be installed.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings  # after the project root is put on the path
from app.services.tts.voice_fetch import HubVoices
from app.services.tts.voice_pack import VoicePack, VoicePackError, pack_dir
from app.services.tts.voices import KNOWN_VOICES


def install_pack(settings: Settings) -> set[str]:
    """The voices the pack holds once installed (none when it could not be, with the reason printed)."""
    pack = VoicePack(settings.model_cache_dir, settings.kokoro_voices_url, settings.kokoro_voices_integrity)
    started = time.monotonic()
    try:
        result = pack.install()
    except VoicePackError as exc:
        print(f"Voice pack not installed: {exc}.")
        return set()
    how = "already installed" if result.already else f"installed in {time.monotonic() - started:.1f} s"
    print(f"Voice pack: {len(result.voices)} voices in {pack_dir(settings.model_cache_dir)} ({how}).")
    return set(result.voices)


def fetch_from_hub(settings: Settings, names: list[str]) -> int:
    """Each voice from the hub (cached ones are skipped); 1 when one failed."""
    hub = HubVoices(settings.model_cache_dir, settings.kokoro_repo_id)
    if hub.unavailable_reason is not None:
        print(f"Voices cannot be fetched from the hub: {hub.unavailable_reason}.")
        return 1
    failed = []
    started = time.monotonic()
    for name in names:
        cached = hub.path(name).is_file()
        result = hub.fetch(name)
        if result.pack is None:
            print(f"{name}: FAILED: {result.error}")
            failed.append(name)
            continue
        print(f"{name}: {'already cached' if cached else 'fetched'} ({hub.path(name).stat().st_size // 1024} KiB)")
    done = len(names) - len(failed)
    print(f"{done} voices in {hub.path('x').parent} ({time.monotonic() - started:.1f} s)")
    return 1 if failed else 0


def main(args: list[str]) -> int:
    only_pack = "--pack" in args
    names = [arg for arg in args if arg != "--pack"]
    unknown = [name for name in names if name not in KNOWN_VOICES]
    if unknown:
        print(f"Not Kokoro v1.0 voices: {', '.join(unknown)}. Known: {', '.join(sorted(KNOWN_VOICES))}.")
        return 2
    settings = Settings()
    in_pack = install_pack(settings)
    if only_pack:
        return 0 if in_pack else 1
    missing = [name for name in names or sorted(KNOWN_VOICES) if name not in in_pack]
    status = fetch_from_hub(settings, missing) if missing else 0
    print("A running server loads new voices at its next start (or fetches them on first use while online).")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
