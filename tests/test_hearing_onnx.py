"""The real int8 Kokoro model through the HTTP API, heard by Whisper: the speech says the text."""

import statistics
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.conftest import RunningServer
from tests.support.hearing import (
    align_word_starts,
    base_multilingual_model,
    tiny_en_model,
    transcribe,
    wer,
)

TTS = "/api/v1/media/audio-tools/tts/kokoro"
SENTENCES = [
    "The weather is nice today, so we will walk to the park.",
    "Please send the report to my office before noon on Friday.",
    "She bought three apples and a loaf of bread at the market.",
]
LONG_TEXT = (
    "Every morning the small town wakes up slowly. The baker opens his shop before sunrise and the smell of fresh "
    "bread fills the quiet street. Children walk to school with their bags on their backs, talking about games and "
    "homework. At the corner, an old man sells newspapers and greets everyone by name. Later, the market square "
    "becomes busy with farmers selling vegetables, fruit and flowers. People stop to chat, to buy a coffee, or to "
    "sit on a bench in the sun. In the afternoon the library is full of students who read and write in silence. "
    "When the evening comes, families gather for dinner and share the news of the day. The lights in the windows "
    "go out one by one, and the town falls asleep again, ready for another ordinary and beautiful day. Nobody "
    "there is in a hurry, and visitors often say that time seems to move more gently in that place. Some of them "
    "come back every summer, and a few decide to stay for good, opening a shop of their own or a small cafe by "
    "the river, where the water is calm and the boats drift past in the warm light of the setting sun. On Sundays "
    "the bells of the old church ring at ten, and the streets fill with people in their best clothes. After the "
    "service they walk along the river, feed the ducks, and talk about the harvest, the weather and the football "
    "match. In winter the snow covers the roofs and the hills, and the children build snowmen in the park while "
    "their parents drink hot chocolate and watch them play. Life there is simple, and most people like it that way."
)
PORTUGUESE = "O gato dorme no sofá da sala enquanto a chuva cai lá fora."


def speak_to_file(server: RunningServer, path: Path, **fields) -> dict:
    response = server.client.post(TTS, data={**fields, "wait": "true"})
    assert response.status_code == 200, response.text
    path.write_bytes(response.content)
    return server.client.get(f"/api/v1/media/storage/{response.headers['x-file-id']}/info").json()


def test_onnx_engine_is_chosen_and_reports_its_voices(onnx_server: RunningServer) -> None:
    tts = onnx_server.client.get("/health").json()["tts"]
    assert tts["available"] and tts["engine"] == "onnx" and tts["default_voice"] == "jf_alpha"
    voices = onnx_server.client.get(f"{TTS}/voices").json()["voices"]
    installed = {v["name"] for v in voices if v["installed"]}
    assert installed == {"jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"}


def test_plain_english_sentences_are_heard(onnx_server: RunningServer, tmp_path: Path) -> None:
    scores = []
    for i, sentence in enumerate(SENTENCES):
        fields = {"text": sentence} if i == 0 else {"text": sentence, "voice": "jf_alpha", "lang_code": "a"}
        speak_to_file(onnx_server, tmp_path / f"s{i}.wav", **fields)
        scores.append(wer(sentence, transcribe(tmp_path / f"s{i}.wav", tiny_en_model()).text))
    assert max(scores) <= 0.5, scores
    assert statistics.mean(scores) <= 0.2, scores


def test_portuguese_is_heard_by_multilingual_whisper(onnx_server: RunningServer, tmp_path: Path) -> None:
    speak_to_file(onnx_server, tmp_path / "pt.wav", text=PORTUGUESE, voice="jf_alpha", lang_code="p")
    heard = transcribe(tmp_path / "pt.wav", base_multilingual_model(), language="pt").text
    assert wer(PORTUGUESE, heard, lang="pt") <= 0.3, heard


def test_long_english_text_is_heard_entirely_and_timestamps_match_the_ear(
    onnx_server: RunningServer, tmp_path: Path
) -> None:
    assert len(LONG_TEXT) >= 1500
    info = speak_to_file(onnx_server, tmp_path / "long.wav", text=LONG_TEXT, lang_code="a")
    heard = transcribe(tmp_path / "long.wav", tiny_en_model())
    assert wer(LONG_TEXT, heard.text) <= 0.25, heard.text
    expected = [(w["word"], w["start"]) for w in info["words"]]
    distances = align_word_starts(expected, heard.words)
    assert len(distances) >= 0.6 * len(expected)
    assert statistics.median(distances) <= 0.1, statistics.median(distances)


def test_faster_speech_is_still_heard(onnx_server: RunningServer, tmp_path: Path) -> None:
    text = SENTENCES[1]
    speak_to_file(onnx_server, tmp_path / "fast.wav", text=text, lang_code="a", speed="1.2")
    assert wer(text, transcribe(tmp_path / "fast.wav", tiny_en_model()).text) <= 0.3


@pytest.mark.parametrize("fmt", ["mp3", "opus"])
def test_compressed_outputs_are_heard(onnx_server: RunningServer, tmp_path: Path, fmt: str) -> None:
    text = SENTENCES[2]
    path = tmp_path / f"speech.{fmt}"
    speak_to_file(onnx_server, path, text=text, lang_code="a", format=fmt)
    assert wer(text, transcribe(path, tiny_en_model()).text) <= 0.3


def test_white_noise_of_the_same_length_is_not_heard_as_the_text(onnx_server: RunningServer, tmp_path: Path) -> None:
    info = speak_to_file(onnx_server, tmp_path / "ref.wav", text=SENTENCES[0], lang_code="a")
    noise = np.random.default_rng(7).normal(0, 0.3, int(info["duration"] * 24_000)).astype(np.float32)
    soundfile.write(tmp_path / "noise.wav", noise, 24_000)
    assert wer(SENTENCES[0], transcribe(tmp_path / "noise.wav", tiny_en_model()).text) == 1.0


def test_onnx_engine_adds_voices_from_the_model_dir_and_an_archive(server_factory, test_model_dir, tmp_path) -> None:
    archive = tmp_path / "voices-extra.npz"
    np.savez(archive, bm_extra=np.random.default_rng(3).normal(0, 0.3, (510, 1, 256)).astype(np.float32))
    server = server_factory(tts_engine="onnx", kokoro_model_dir=test_model_dir, kokoro_onnx_voices=archive)
    health = server.client.get("/health").json()["tts"]
    assert health["engine"] == "onnx" and health["default_voice"] == "af_heart"
    voices = {v["name"]: v["lang_code"] for v in server.client.get(f"{TTS}/voices").json()["voices"]}
    assert voices["af_heart"] == "a" and voices["bm_extra"] == "b" and voices["jf_alpha"] == "j"
    response = server.client.post(TTS, data={"text": "Extra voices work too.", "voice": "bm_extra", "wait": "true"})
    assert response.status_code == 200 and response.content[:4] == b"RIFF"
