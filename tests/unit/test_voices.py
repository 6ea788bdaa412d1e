"""Voice packs and blends: names, languages, weights and the errors a client sees."""

import socket
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from app.errors import DomainError, UnprocessableInput
from app.services.tts.torch_file import TorchFileError, read_tensor
from app.services.tts.voice_fetch import HubVoices, fetch_unavailable_reason, load_cached_voices
from app.services.tts.voices import (
    KNOWN_VOICES,
    KOKORO_V1_VOICES,
    FetchResult,
    VoiceLibrary,
    as_pack,
    load_npz_voices,
    load_pt_voices,
    voice_language,
)

if TYPE_CHECKING:
    import torch

ROOT = Path(__file__).resolve().parents[2]


def pack(value: float) -> np.ndarray:
    return np.full((510, 1, 256), value, dtype=np.float32)


@pytest.fixture
def library() -> VoiceLibrary:
    return VoiceLibrary({"bf_emma": pack(5.0), "af_sky": pack(0.0), "af_bella": pack(3.0), "zf_xiaobei": pack(1.0)})


def message(library: VoiceLibrary, spec: str) -> str:
    with pytest.raises(UnprocessableInput) as caught:
        library.resolve(spec)
    assert caught.value.status_code == 422
    return caught.value.message


def test_voices_are_listed_by_name() -> None:
    assert VoiceLibrary({"bf_emma": pack(0), "af_sky": pack(0), "af_bella": pack(0)}).names() == [
        "af_bella",
        "af_sky",
        "bf_emma",
    ]


def test_a_single_voice_resolves_to_its_own_pack(library: VoiceLibrary) -> None:
    assert library.resolve("af_bella") is library.voices["af_bella"]


def test_a_weighted_blend_is_the_weighted_mean_of_its_packs(library: VoiceLibrary) -> None:
    blended = library.resolve("af_bella(2)+af_sky(1)")

    assert blended.shape == (510, 1, 256)
    assert blended.dtype == np.float32
    np.testing.assert_allclose(blended, pack(2.0))


def test_blend_weights_are_normalised_so_only_their_ratio_matters(library: VoiceLibrary) -> None:
    np.testing.assert_allclose(library.resolve("af_bella(4)+af_sky(2)"), library.resolve("af_bella(2)+af_sky(1)"))
    np.testing.assert_allclose(library.resolve("af_bella(0.5)+af_sky(0.25)"), pack(2.0))


def test_unweighted_parts_count_once_and_commas_join_like_plus(library: VoiceLibrary) -> None:
    np.testing.assert_allclose(library.resolve("af_bella,bf_emma"), pack(4.0))
    np.testing.assert_allclose(library.resolve("af_bella + af_sky + zf_xiaobei"), pack(4.0 / 3))
    np.testing.assert_allclose(library.resolve(" af_bella ( 3 ) + af_sky "), pack(2.25))


def test_a_blend_is_computed_once_and_reused(library: VoiceLibrary) -> None:
    assert library.resolve("af_bella(2)+af_sky(1)") is library.resolve("af_bella(2)+af_sky(1)")


UNKNOWN_NOPE = (
    "Unknown voice 'af_nope': it is neither installed nor a Kokoro v1.0 voice. Installed voices: af_bella, af_sky, "
    "bf_emma, zf_xiaobei. GET /api/v1/media/audio-tools/tts/kokoro/voices lists every voice."
)


def test_an_unknown_voice_is_refused_with_the_installed_voices_listed(library: VoiceLibrary) -> None:
    assert message(library, "af_nope") == UNKNOWN_NOPE
    assert message(library, "af_bella+af_nope(2)") == UNKNOWN_NOPE


def test_an_empty_library_says_no_voice_is_installed() -> None:
    assert message(VoiceLibrary({}), "xx_nothing").startswith("Unknown voice 'xx_nothing'")
    assert "Installed voices: none." in message(VoiceLibrary({}), "xx_nothing")


@pytest.mark.parametrize("spec", ["af_bella(", "af_bella(-1)", "af bella", "", "af_bella++af_sky"])
def test_a_spec_that_is_not_a_name_or_blend_is_refused_with_the_expected_form(library: VoiceLibrary, spec: str) -> None:
    assert message(library, spec) == f"Voice '{spec}' is not a voice name or a blend like 'a(2)+b(1)'."


def test_a_zero_weight_is_refused(library: VoiceLibrary) -> None:
    assert message(library, "af_bella(0)+af_sky") == "Voice weight for 'af_bella' must be above 0."


def test_parse_names_each_part_and_its_weight(library: VoiceLibrary) -> None:
    assert library.parse("af_bella(2)+af_sky,bf_emma(0.5)") == [("af_bella", 2.0), ("af_sky", 1.0), ("bf_emma", 0.5)]


@pytest.mark.parametrize(
    ("spec", "language"),
    [("af_bella", "a"), ("bf_emma", "b"), ("zf_xiaobei", "z"), ("bf_emma(1)+af_bella(3)", "b")],
)
def test_the_language_of_a_voice_or_blend_is_its_first_voices_letter(
    library: VoiceLibrary, spec: str, language: str
) -> None:
    assert library.language_of(spec) == language


def test_a_voice_whose_first_letter_is_no_language_has_none() -> None:
    library = VoiceLibrary({"custom": pack(0.0)})

    assert library.language_of("custom") is None
    assert voice_language("") is None
    assert {"name": "custom", "lang_code": None, "language": None, "installed": True} in library.describe()


def test_the_default_voice_is_the_preferred_one_when_installed_else_the_first_by_name(library: VoiceLibrary) -> None:
    assert library.default("bf_emma") == "bf_emma"
    assert library.default("af_heart") == "af_bella"
    assert VoiceLibrary({}).default("af_heart") is None


def test_describe_lists_installed_and_fetchable_voices_with_their_language(library: VoiceLibrary) -> None:
    every = library.describe()
    assert len(every) == 54
    assert [v for v in every if v["installed"]] == [
        {"name": "af_bella", "lang_code": "a", "language": "American English", "installed": True},
        {"name": "af_sky", "lang_code": "a", "language": "American English", "installed": True},
        {"name": "bf_emma", "lang_code": "b", "language": "British English", "installed": True},
        {"name": "zf_xiaobei", "lang_code": "z", "language": "Mandarin Chinese", "installed": True},
    ]
    assert {"name": "af_heart", "lang_code": "a", "language": "American English", "installed": False} in every
    assert [(v["name"], v["installed"]) for v in library.describe("e")] == [
        ("ef_dora", False),
        ("em_alex", False),
        ("em_santa", False),
    ]
    assert [v["name"] for v in library.describe("b") if v["installed"]] == ["bf_emma"]


def test_npz_voices_load_as_float32_packs_and_two_dimensional_arrays_gain_the_middle_axis(tmp_path: Path) -> None:
    archive = tmp_path / "voices.npz"
    np.savez(archive, af_bella=np.ones((510, 1, 256)), bf_emma=np.full((510, 256), 2.0))

    voices = load_npz_voices(archive)

    assert sorted(voices) == ["af_bella", "bf_emma"]
    assert {name: (v.shape, v.dtype) for name, v in voices.items()} == {
        "af_bella": ((510, 1, 256), np.float32),
        "bf_emma": ((510, 1, 256), np.float32),
    }
    np.testing.assert_array_equal(voices["bf_emma"], pack(2.0))


def test_an_npz_voice_of_the_wrong_width_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "voices.npz"
    np.savez(archive, af_small=np.zeros((510, 1, 128), dtype=np.float32))

    with pytest.raises(ValueError, match=r"^a voice pack must be N x 1 x 256, got \(510, 1, 128\)$"):
        load_npz_voices(archive)


def test_a_folder_without_pt_voices_gives_none(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no voices here")

    assert load_pt_voices(tmp_path) == {}


class Hub:
    """A voice source answering from a dict (the network side is tested in tests/test_voice_fetch.py)."""

    def __init__(self, answers: dict[str, FetchResult], unavailable_reason: str | None = None) -> None:
        self.answers = answers
        self.unavailable_reason = unavailable_reason
        self.asked: list[str] = []

    def fetch(self, name: str) -> FetchResult:
        self.asked.append(name)
        return self.answers[name]


def test_the_kokoro_v1_catalogue_names_54_voices_each_under_its_own_language() -> None:
    assert len(KNOWN_VOICES) == sum(len(names) for names in KOKORO_V1_VOICES.values()) == 54
    assert all(name[0] == code for code, names in KOKORO_V1_VOICES.items() for name in names)
    assert {"af_heart", "bf_emma", "ef_dora", "ff_siwis", "hf_alpha", "if_sara", "jf_alpha", "pf_dora"} <= set(
        KNOWN_VOICES
    )
    assert KNOWN_VOICES["zm_yunyang"] == "z"


def test_a_known_voice_that_is_not_installed_and_cannot_be_fetched_says_how_to_get_it(library: VoiceLibrary) -> None:
    library.source = Hub({}, unavailable_reason="HF_HUB_OFFLINE=1")

    with pytest.raises(UnprocessableInput) as caught:
        library.missing("af_bella+af_heart")

    assert caught.value.message == (
        "Voice 'af_heart' is not installed, and voices cannot be fetched here (HF_HUB_OFFLINE=1). Installed voices: "
        "af_bella, af_sky, bf_emma, zf_xiaobei. To get more: `make voices` fetches all 54 Kokoro v1.0 voices into "
        "MODEL_CACHE_DIR while the machine is online; or run the server online (without HF_HUB_OFFLINE=1) and name "
        "the voice once: it is fetched on first use."
    )
    assert message(library, "af_heart") == caught.value.message


def test_missing_names_the_voices_to_fetch_once_each_when_fetching_works(library: VoiceLibrary) -> None:
    library.source = Hub({})

    assert library.missing("af_heart(2)+af_bella+af_heart") == ["af_heart"]
    assert library.missing("af_bella") == []


def test_an_installed_voice_is_fetched_once_and_then_resolves_like_any_other(library: VoiceLibrary) -> None:
    hub = Hub({"af_heart": FetchResult(np.full((510, 256), 7.0))})
    library.source = hub

    library.install("af_heart")
    library.install("af_heart")

    assert hub.asked == ["af_heart"]
    assert library.resolve("af_heart").shape == (510, 1, 256)
    np.testing.assert_allclose(library.resolve("af_heart(1)+af_sky(1)"), pack(3.5))
    assert "af_heart" in library.names()


@pytest.mark.parametrize(
    ("result", "status", "ending"),
    [
        (FetchResult(None, "ConnectError: no route (attempt 3 of 3)"), 503, "it is fetched on first use."),
        (FetchResult(None, "RemoteEntryNotFoundError: 404", permanent=True), 422, "bf_emma, zf_xiaobei."),
    ],
)
def test_a_failed_fetch_is_a_503_to_retry_or_a_422_when_the_hub_has_no_such_voice(
    library: VoiceLibrary, result: FetchResult, status: int, ending: str
) -> None:
    library.source = Hub({"am_santa": result})

    with pytest.raises(DomainError) as caught:
        library.install("am_santa")

    assert caught.value.status_code == status
    assert caught.value.message.startswith(
        f"Voice 'am_santa' is not installed and could not be fetched from the hub: {result.error}."
    )
    assert caught.value.message.endswith(ending)
    assert "am_santa" not in library.voices


def save(tensor: "torch.Tensor", path: Path) -> Path:
    import torch

    torch.save(tensor, path)
    return path


def test_tensors_saved_by_torch_are_read_without_torch_exactly(tmp_path: Path) -> None:
    import torch

    base = torch.randn(510, 1, 256, generator=torch.Generator().manual_seed(5))
    for name, tensor in {
        "float": base,
        "half": base.half(),
        "view": base[10:20, :, ::2],
        "transposed": base.transpose(0, 2),
        "double": base.double()[:3],
    }.items():
        np.testing.assert_array_equal(read_tensor(save(tensor, tmp_path / f"{name}.pt")), tensor.numpy(), name)
    bfloat = base.bfloat16()
    np.testing.assert_array_equal(read_tensor(save(bfloat, tmp_path / "bf16.pt")), bfloat.float().numpy())


def test_a_file_that_is_not_a_single_tensor_is_refused(tmp_path: Path) -> None:
    import torch

    (tmp_path / "text.pt").write_text("not a zip")
    with pytest.raises(TorchFileError, match="not a zip-format torch file"):
        read_tensor(tmp_path / "text.pt")
    with pytest.raises(TorchFileError, match="holds a dict, not a tensor"):
        read_tensor(save({"a": torch.zeros(2)}, tmp_path / "dict.pt"))  # type: ignore[arg-type]


def test_a_pickle_that_would_run_code_is_refused_before_it_runs(tmp_path: Path) -> None:
    evil = tmp_path / "evil.pt"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("evil/data.pkl", b"cos\nsystem\n(S'touch " + str(tmp_path / "ran").encode() + b"'\ntR.")

    with pytest.raises(TorchFileError, match=r"refers to os\.system"):
        read_tensor(evil)
    assert not (tmp_path / "ran").exists()


def test_pt_voices_load_without_torch_and_unreadable_files_are_skipped(tmp_path: Path) -> None:
    import torch

    save(torch.full((510, 1, 256), 0.5), tmp_path / "af_heart.pt")
    save(torch.zeros(510, 1, 128), tmp_path / "af_narrow.pt")
    (tmp_path / "af_broken.pt").write_bytes(b"PK\x03\x04 broken")

    voices = load_pt_voices(tmp_path)

    assert list(voices) == ["af_heart"]
    np.testing.assert_array_equal(voices["af_heart"], pack(0.5))


def test_fetching_is_off_with_hf_hub_offline_and_on_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert fetch_unavailable_reason() == "HF_HUB_OFFLINE=1"
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert fetch_unavailable_reason() is None


def test_a_cached_voice_is_read_from_the_cache_even_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub = HubVoices(tmp_path, "hexgrad/Kokoro-82M")
    hub.path("af_heart").parent.mkdir(parents=True)
    save(torch.full((510, 1, 256), 0.25), hub.path("af_heart"))

    assert hub.path("af_heart") == tmp_path / "hexgrad--Kokoro-82M" / "voices" / "af_heart.pt"
    result = hub.fetch("af_heart")
    assert result.error is None and result.pack is not None
    np.testing.assert_array_equal(result.pack, pack(0.25))
    assert list(load_cached_voices(tmp_path, "hexgrad/Kokoro-82M")) == ["af_heart"]
    assert hub.fetch("am_santa") == FetchResult(None, "fetching is off (HF_HUB_OFFLINE=1)", permanent=True)
    assert hub.fetch("xx_nothing") == FetchResult(None, "'xx_nothing' is not a Kokoro v1.0 voice", permanent=True)


def test_a_cached_file_that_is_not_a_voice_is_removed_so_it_is_fetched_again(tmp_path: Path) -> None:
    hub = HubVoices(tmp_path, "hexgrad/Kokoro-82M")
    hub.path("af_heart").parent.mkdir(parents=True)
    hub.path("af_heart").write_bytes(b"<html>a proxy's error page</html>")

    result = hub.fetch("af_heart")

    assert result.pack is None and "af_heart.pt is not a voice pack" in str(result.error)
    assert not hub.path("af_heart").exists()


def test_an_unreachable_hub_is_tried_a_bounded_number_of_times_with_a_doubling_backoff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed.getsockname()[1]}")  # nothing listens there
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    waits: list[float] = []
    hub = HubVoices(tmp_path, "hexgrad/Kokoro-82M", attempts=3, backoff_s=0.5, sleep=waits.append)

    result = hub.fetch("af_heart")
    closed.close()

    assert waits == [0.5, 1.0]
    assert result.pack is None and not result.permanent
    assert str(result.error).endswith("(attempt 3 of 3)")
    assert not hub.path("af_heart").exists()


def test_the_voice_file_that_check_onnx_only_reads_is_a_torch_saved_pack() -> None:
    voice = as_pack(read_tensor(ROOT / "tests" / "support" / "data" / "tiny_voice.pt"))
    np.testing.assert_array_equal(voice.reshape(-1), np.arange(4 * 256, dtype=np.float32) / 1024)
