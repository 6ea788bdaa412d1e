"""Voice packs and blends: names, languages, weights and the errors a client sees."""

from pathlib import Path

import numpy as np
import pytest

from app.errors import UnprocessableInput
from app.services.tts.voices import VoiceLibrary, load_npz_voices, load_pt_voices, voice_language


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


def test_an_unknown_voice_is_refused_with_the_installed_voices_listed(library: VoiceLibrary) -> None:
    assert (
        message(library, "af_nope") == "Unknown voice 'af_nope'. Valid voices: af_bella, af_sky, bf_emma, zf_xiaobei."
    )
    assert message(library, "af_bella+af_nope(2)") == (
        "Unknown voice 'af_nope'. Valid voices: af_bella, af_sky, bf_emma, zf_xiaobei."
    )


def test_an_empty_library_says_no_voice_is_installed() -> None:
    assert message(VoiceLibrary({}), "af_heart") == "Unknown voice 'af_heart'. Valid voices: none installed."


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
    assert library.describe() == [{"name": "custom", "lang_code": None, "language": None}]


def test_the_default_voice_is_the_preferred_one_when_installed_else_the_first_by_name(library: VoiceLibrary) -> None:
    assert library.default("bf_emma") == "bf_emma"
    assert library.default("af_heart") == "af_bella"
    assert VoiceLibrary({}).default("af_heart") is None


def test_describe_lists_every_voice_with_its_language_or_only_those_of_one_language(library: VoiceLibrary) -> None:
    assert library.describe() == [
        {"name": "af_bella", "lang_code": "a", "language": "American English"},
        {"name": "af_sky", "lang_code": "a", "language": "American English"},
        {"name": "bf_emma", "lang_code": "b", "language": "British English"},
        {"name": "zf_xiaobei", "lang_code": "z", "language": "Mandarin Chinese"},
    ]
    assert library.describe("b") == [{"name": "bf_emma", "lang_code": "b", "language": "British English"}]
    assert library.describe("e") == []


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
