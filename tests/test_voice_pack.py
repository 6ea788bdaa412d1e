"""Every Kokoro voice from a registry package: the kokoro-js tarball (here a real .tgz of random voices on
loopback) is checked against its integrity, installed once into MODEL_CACHE_DIR, resumed after a cut, read by
both engines' loaders, fetched in the background at a server's first start, and offline says why not."""

import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.services.tts.onnx_engine import assemble_packaged_model, load_onnx_engine
from app.services.tts.torch_engine import load_torch_engine
from app.services.tts.voice_pack import MARKER, VoicePack, VoicePackError, pack_dir
from app.services.tts.voice_source import PackInstall
from tests.conftest import ROOT, ServerFactory
from tests.support.local_registry import LocalRegistry, integrity_of, pack_tarball, random_voices
from tests.support.waits import WAIT_S

REPO = "hexgrad/Kokoro-82M"
TTS = "/api/v1/media/audio-tools/tts/kokoro"
VOICES = random_voices(("af_nova", "bm_george", "pm_santa", "zf_xiaoyi"))
TARBALL = pack_tarball(VOICES)
INTEGRITY = integrity_of(TARBALL)


@pytest.fixture
def registry() -> Iterator[LocalRegistry]:
    local = LocalRegistry(TARBALL)
    yield local
    local.stop()


def pack_from(registry: LocalRegistry, cache: Path, integrity: str = INTEGRITY) -> VoicePack:
    return VoicePack(cache, registry.url, integrity, backoff_s=0.0, sleep=lambda _: None)


def closed_port_url() -> str:
    """A loopback URL nothing listens on: what an offline machine's connection meets."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/kokoro-js-1.2.1.tgz"


def leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir() if not p.name.endswith(".lock")) if cache.is_dir() else []


def test_the_pack_is_checked_then_installed_once_and_a_second_run_fetches_nothing(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    pack = pack_from(registry, tmp_path)

    first = pack.install()
    asked = len(registry.requests)
    again = pack.install()

    assert first.voices == sorted(VOICES) and not first.already
    assert again.already and again.voices == first.voices and len(registry.requests) == asked == 1
    assert leftovers(tmp_path) == ["kokoro-voices"]  # the download removed, no temp directory left
    assert sorted(p.name for p in (pack_dir(tmp_path) / "voices").iterdir()) == [f"{n}.bin" for n in sorted(VOICES)]
    assert (pack_dir(tmp_path) / MARKER).is_file()


def test_a_tarball_that_does_not_match_its_integrity_is_refused_and_nothing_is_installed(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    pack = pack_from(registry, tmp_path, integrity=integrity_of(TARBALL + b"another version"))

    with pytest.raises(VoicePackError) as refused:
        pack.install()

    assert "does not match its integrity" in str(refused.value) and refused.value.permanent
    assert leftovers(tmp_path) == [] and not pack.installed
    assert len(registry.requests) == 1  # a whole download that does not match is not fetched again


def test_a_download_cut_short_is_resumed_where_it_stopped(registry: LocalRegistry, tmp_path: Path) -> None:
    registry.cut_next(1)

    result = pack_from(registry, tmp_path).install()

    half = len(TARBALL) // 2
    assert [(r, s) for _, r, s in registry.requests] == [(None, 200), (f"bytes={half}-", 206)]
    assert result.voices == sorted(VOICES)


def test_a_partial_download_left_by_an_earlier_run_is_resumed(registry: LocalRegistry, tmp_path: Path) -> None:
    pack = pack_from(registry, tmp_path)
    pack.download_path.write_bytes(TARBALL[:1000])

    pack.install()

    assert [(r, s) for _, r, s in registry.requests] == [("bytes=1000-", 206)]
    assert pack.installed and not pack.download_path.exists()


def test_the_installed_voices_load_in_both_engines_with_their_shape(
    registry: LocalRegistry, tmp_path: Path, test_model_dir: Path
) -> None:
    pack_from(registry, tmp_path).install()
    model = assemble_packaged_model(Path(os.environ["MODEL_CACHE_DIR"]))  # the real int8 model, assembled once

    onnx = load_onnx_engine(model, None, None, tmp_path, REPO).voices.voices
    torch = load_torch_engine(test_model_dir, REPO, tmp_path).voices.voices

    for name, array in VOICES.items():
        for voices in (onnx, torch):
            assert voices[name].shape == (510, 1, 256) and voices[name].dtype == np.float32
            np.testing.assert_array_equal(voices[name][:, 0, :], array)
    assert "jf_alpha" in onnx and "af_bella" in torch  # beside the packaged and the model's own voices


def test_offline_the_install_fails_with_a_clear_reason_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pack = VoicePack(tmp_path, closed_port_url(), INTEGRITY, backoff_s=0.0, sleep=lambda _: None)

    with caplog.at_level(logging.WARNING, logger="app.tts.voices"):
        install = PackInstall(pack).start()
        install.wait()

    assert install.error is not None and install.error.startswith("cannot reach 127.0.0.1:")
    assert "Connection refused" in install.error and install.error.endswith("(attempt 3 of 3)")
    final = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Kokoro voice pack not installed")]
    assert len(final) == 1 and "`make voices` installs it" in final[0]
    assert not pack.installed and leftovers(tmp_path) == []


def run_script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "scripts/fetch_voices.py", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=WAIT_S)


def test_make_install_installs_the_pack_and_offline_says_why_without_installing_anything(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    env = {**os.environ, "MODEL_CACHE_DIR": str(tmp_path), "KOKORO_VOICES_INTEGRITY": INTEGRITY}

    offline = run_script({**env, "KOKORO_VOICES_URL": closed_port_url()}, "--pack")
    first = run_script({**env, "KOKORO_VOICES_URL": registry.url}, "--pack")
    again = run_script({**env, "KOKORO_VOICES_URL": registry.url}, "--pack")

    assert offline.returncode == 1 and "Voice pack not installed: cannot reach 127.0.0.1:" in offline.stdout
    assert first.returncode == 0 and f"Voice pack: 4 voices in {tmp_path / 'kokoro-voices'}" in first.stdout
    assert again.returncode == 0 and "(already installed)" in again.stdout and len(registry.requests) == 1


def test_a_server_started_without_the_pack_fetches_it_in_the_background_and_speaks_its_voices(
    registry: LocalRegistry, server_factory: ServerFactory, tmp_path: Path
) -> None:
    settings = {"tts_engine": "torch", "model_cache_dir": tmp_path / "cache", "kokoro_voices_integrity": INTEGRITY}
    server = server_factory(kokoro_voices_url=registry.url, default_voice="bm_george", **settings)

    named = server.client.post(TTS, data={"text": "From the pack.", "voice": "pm_santa", "wait": "true"})
    default = server.client.post(TTS, data={"text": "The default voice.", "wait": "true"})

    assert named.status_code == 200 and named.headers["x-file-id"], named.text
    info = server.client.get(f"/api/v1/media/storage/{default.headers['x-file-id']}/info").json()
    assert info["voice"] == "bm_george"
    assert pack_dir(tmp_path / "cache").is_dir() and len(registry.requests) == 1

    restarted = server_factory(kokoro_voices_url=registry.url, **settings)
    voices = restarted.client.get(f"{TTS}/voices").json()["voices"]
    assert {v["name"] for v in voices if v["installed"]} >= set(VOICES)
    assert len(registry.requests) == 1
