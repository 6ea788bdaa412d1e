"""Tests for the Whisper-based hearing helpers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile as sf

from .hearing import (
    BASE_JSON_FILES,
    align_word_starts,
    assemble_base_model,
    base_cache_dir,
    base_multilingual_model,
    load_audio,
    normalize,
    tiny_en_model,
    transcribe,
    wer,
)

FOX = "the quick brown fox jumps over the lazy dog"


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("Hello, World!", "en", ["hello", "world"]),
        ("I don\u2019t know -- 'really'.", "en", ["i", "don't", "know", "really"]),
        ("3 cats", "en", ["three", "cats"]),
        ("1,500", "en", ["one", "thousand", "five", "hundred"]),
        ("1500", "en", ["one", "thousand", "five", "hundred"]),
        (
            "a well-known café, déjà vu",
            "en",
            ["a", "well", "known", "café", "déjà", "vu"],
        ),
        ("the 1st and 22nd", "en", ["the", "first", "and", "twenty", "second"]),
        ("$5 and 10%", "en", ["five", "dollars", "and", "ten", "percent"]),
        ("3.5", "en", ["three", "point", "five"]),
        ("J'ai 21 ans.", "fr", ["j'ai", "vingt", "et", "un", "ans"]),
        (
            "Drei Komma fünf: 3,5",
            "de",
            ["drei", "komma", "fünf", "drei", "komma", "fünf"],
        ),
        ("", "en", []),
    ],
)
def test_normalize(text: str, lang: str, expected: list[str]) -> None:
    assert normalize(text, lang) == expected


@pytest.mark.parametrize(
    ("reference", "hypothesis", "expected"),
    [
        (FOX, FOX, 0.0),
        ("one two three four", "one two tree four", 0.25),
        ("one two three four", "one two four", 0.25),
        (
            "I have 3 cats and 1,500 dogs",
            "i have three cats and one thousand five hundred dogs",
            0.0,
        ),
        ("Hello, World! How are you?", "hello world how are you", 0.0),
        ("hi", "this is a much longer hypothesis than the reference", 1.0),
        (FOX, "", 1.0),
        (FOX, "...", 1.0),
        ("", "", 0.0),
        ("", "something", 1.0),
    ],
)
def test_wer(reference: str, hypothesis: str, expected: float) -> None:
    assert wer(reference, hypothesis) == pytest.approx(expected)


def test_align_word_starts() -> None:
    expected = [
        ("Hello,", 0.0),
        ("big", 0.5),
        ("world", 0.9),
        ("1500", 1.5),
        ("times", 2.6),
    ]
    heard = [
        ("hello", 0.1, 0.4),
        ("world.", 1.0, 1.3),
        ("one", 1.45, 1.6),
        ("thousand", 1.6, 1.9),
        ("five", 1.9, 2.1),
        ("hundred", 2.1, 2.4),
        ("extra", 2.4, 2.5),
        ("times", 2.7, 3.0),
    ]
    assert align_word_starts(expected, heard) == pytest.approx([0.1, 0.1, 0.05, 0.1])
    assert align_word_starts([], heard) == []
    assert align_word_starts(expected, []) == []


def test_load_audio_resamples_and_decodes_mp3(tmp_path: Path) -> None:
    t = np.arange(int(44_100 * 1.5)) / 44_100
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    wav = tmp_path / "tone.wav"
    sf.write(wav, np.stack([tone, tone], axis=1), 44_100)
    audio = load_audio(wav)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 24_000) <= 160
    assert 0.15 < float(np.abs(audio).max()) < 0.45

    mp3 = tmp_path / "tone.mp3"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-loglevel",
            "error",
            "-i",
            str(wav),
            "-c:a",
            "libmp3lame",
            str(mp3),
        ],
        check=True,
    )
    assert abs(len(load_audio(mp3)) - 24_000) <= 2_000

    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"not audio at all")
    with pytest.raises(RuntimeError, match="ffmpeg could not decode"):
        load_audio(broken)


@pytest.mark.slow
def test_white_noise_is_not_heard_as_speech(tmp_path: Path) -> None:
    noise = np.clip(np.random.default_rng(0).normal(0.0, 0.3, 3 * 16_000), -1.0, 1.0).astype(np.float32)
    path = tmp_path / "noise.wav"
    sf.write(path, noise, 16_000)
    heard = transcribe(path, tiny_en_model())
    assert len(normalize(heard.text)) <= 2, heard.text
    assert wer(FOX, heard.text) == 1.0


@pytest.mark.slow
def test_silence_is_not_heard_as_speech(tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(3 * 44_100, dtype=np.float32), 44_100)
    heard = transcribe(path, tiny_en_model())
    assert heard.text == "" and heard.words == []
    assert wer(FOX, heard.text) == 1.0


def test_assemble_base_model_is_idempotent_and_repairs(tmp_path: Path) -> None:
    target = assemble_base_model(tmp_path / "base")
    names = ["model.bin", *BASE_JSON_FILES]
    stamps = {name: (target / name).stat().st_mtime_ns for name in names}
    assert (target / "model.bin").stat().st_size > 100_000_000
    assert assemble_base_model(target) == target
    assert {name: (target / name).stat().st_mtime_ns for name in names} == stamps

    size = (target / "config.json").stat().st_size
    (target / "config.json").write_text("{}")
    assemble_base_model(target)
    assert (target / "config.json").stat().st_size == size
    assert not [p for p in target.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.slow
def test_base_multilingual_model_loads(tmp_path: Path) -> None:
    model = base_multilingual_model()
    assert model.model.is_multilingual
    for name in ["model.bin", *BASE_JSON_FILES]:
        assert (base_cache_dir() / name).is_file()
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(2 * 16_000, dtype=np.float32), 16_000)
    assert transcribe(path, model, language="en").text == ""
