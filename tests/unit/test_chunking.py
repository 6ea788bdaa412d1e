"""Sentence splitting, packing units into chunks the model accepts, and word times from token durations."""

import random

import pytest

from app.services.tts.chunking import (
    FRAME_SAMPLES,
    MAX_PHONEMES,
    SAMPLE_RATE,
    TARGET_PHONEMES,
    Chunk,
    first_words,
    pack_chunks,
    side_by_side_chunks,
    split_sentences,
)
from app.services.tts.g2p import Unit

FRAME_S = FRAME_SAMPLES / SAMPLE_RATE  # 0.025 s


def words(count: int, length: int = 9, end: str | None = ".", prefix: str = "w") -> list[Unit]:
    """A sentence of `count` words of `length` phonemes each, separated by spaces, ending with `end`."""
    units = [Unit(f"{prefix}{i}", "a" * length, True) for i in range(count)]
    units[-1].space_after = False
    if end is not None:
        units.append(Unit(end, end, False))
    return units


def texts(chunks: list[Chunk]) -> list[str]:
    return [unit.text for chunk in chunks for unit in chunk.units]


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("One. Two!  Three?\n\nFour", ["One.", "Two!", "Three?", "Four"]),
        ("Pi is 3.14 today.", ["Pi is 3.14 today."]),
        ("Wait… what?", ["Wait…", "what?"]),
        ("你好。再见！", ["你好。", "再见！"]),
        ("line one\nline two", ["line one", "line two"]),
        ("  \n \n ", []),
        ("No end mark", ["No end mark"]),
    ],
    ids=["marks-and-blank-lines", "decimal-point", "ellipsis", "cjk-marks", "newline", "blank", "no-mark"],
)
def test_text_is_split_after_sentence_marks_followed_by_space_and_at_newlines(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


def test_a_chunk_speaks_its_units_with_a_space_only_where_one_follows_and_none_at_the_end() -> None:
    chunk = Chunk([Unit("Hello", "həlO", False), Unit(",", ",", True), Unit("world", "wɜɹld", True)])

    assert chunk.phonemes == "həlO, wɜɹld"


def test_short_sentences_share_a_chunk_until_the_target_length() -> None:
    first, second, third = words(4), words(4, prefix="x"), words(4, prefix="y")
    length = len(Chunk(first).phonemes)
    assert length == 4 * 9 + 3 + 1
    assert 2 * length + 1 <= TARGET_PHONEMES < 3 * length + 2

    chunks = pack_chunks([first, second, third])

    assert [len(chunk.phonemes) for chunk in chunks] == [2 * length + 1, length]
    assert chunks[0].phonemes == " ".join([" ".join(["a" * 9] * 4) + "."] * 2)


def test_a_long_sentence_is_cut_at_its_comma_when_the_comma_is_not_too_early() -> None:
    sentence = [*words(20, end=","), *words(40, prefix="x")]
    sentence[20].space_after = True

    chunks = pack_chunks([sentence])

    assert [chunk.units[-1].text for chunk in chunks] == [",", "."]
    assert [len(chunk.phonemes) for chunk in chunks] == [20 * 9 + 19 + 1, 40 * 9 + 39 + 1]


def test_a_long_sentence_without_breaks_is_cut_at_the_last_word_that_fits() -> None:
    chunks = pack_chunks([words(60, end=None)])

    assert [len(chunk.units) for chunk in chunks] == [51, 9]
    assert len(chunks[0].phonemes) == 51 * 9 + 50
    assert len(chunks[0].phonemes) <= MAX_PHONEMES < 52 * 9 + 51


def test_a_comma_in_the_first_third_is_ignored_for_a_cut_at_the_last_word_that_fits() -> None:
    sentence = [*words(2, end=","), *words(58, prefix="x", end=None)]
    sentence[2].space_after = True

    chunks = pack_chunks([sentence])

    assert [len(chunk.units) for chunk in chunks] == [52, 9]
    assert chunks[0].units[-1].text == "x48"


@pytest.mark.parametrize("count", [60, 150, 400])
def test_long_text_is_cut_into_chunks_below_the_phoneme_limit_and_loses_nothing(count: int) -> None:
    rng = random.Random(count)
    sentence = [Unit(f"w{i}", "a" * rng.randint(1, 14), True) for i in range(count)]
    sentence[-1].space_after = False
    for index in range(7, count - 1, 23):
        sentence[index] = Unit(sentence[index].text + rng.choice(",;:!"), sentence[index].phonemes, True)
    original = [(unit.text, unit.phonemes) for unit in sentence]

    chunks = pack_chunks([sentence])

    assert max(len(chunk.phonemes) for chunk in chunks) <= MAX_PHONEMES
    assert [(unit.text, unit.phonemes) for chunk in chunks for unit in chunk.units] == original
    assert "".join(chunk.phonemes.replace(" ", "") for chunk in chunks) == "".join(p for _, p in original)


def test_a_single_unit_longer_than_the_limit_is_cut_into_pieces_that_keep_every_phoneme() -> None:
    phonemes = "".join(chr(ord("a") + i % 26) for i in range(1200))

    chunks = pack_chunks([[Unit("長い文", phonemes, False)]])

    assert [len(chunk.phonemes) for chunk in chunks] == [510, 510, 180]
    assert "".join(chunk.phonemes for chunk in chunks) == phonemes
    assert texts(chunks) == ["長い文", "", ""]


def test_units_with_no_phonemes_and_no_word_are_dropped_and_empty_sentences_skipped() -> None:
    quote = Unit("“", "", False)
    chunks = pack_chunks([[quote, Unit("Hi", "hI", False), Unit("”", "", False)], [Unit("…", "", False)]])

    assert texts(chunks) == ["Hi"]
    assert pack_chunks([[quote]]) == []
    assert pack_chunks([]) == []


def test_word_times_count_the_start_pad_phoneme_frames_and_the_spaces_from_the_offset() -> None:
    chunk = Chunk([Unit("Hello", "həlO", True), Unit("world", "wɜɹld", False), Unit(".", ".", False)])
    assert chunk.phonemes == "həlO wɜɹld."
    durations = [2] * (1 + len(chunk.phonemes) + 1)

    assert chunk.word_times(durations, 1.5) == [
        {"word": "Hello", "start": 1.55, "end": 1.75},
        {"word": "world", "start": 1.8, "end": 2.05},
    ]


def test_word_times_use_each_tokens_own_frame_count() -> None:
    chunk = Chunk([Unit("a", "ab", True), Unit("b", "c", False)])
    durations = [4, 1, 3, 10, 6, 0]  # pad, a, b, space, c, pad

    assert chunk.word_times(durations, 0.0) == [
        {"word": "a", "start": 0.1, "end": 0.2},
        {"word": "b", "start": 0.45, "end": 0.6},
    ]


def test_a_word_with_no_phonemes_gets_no_time() -> None:
    chunk = Chunk([Unit("one", "wʌn", True), Unit("2", "", True), Unit("three", "θɹi", False)])

    assert [word["word"] for word in chunk.word_times([1] * 12, 0.0)] == ["one", "three"]


def test_word_times_of_packed_long_text_rise_monotonically_from_each_chunks_offset() -> None:
    rng = random.Random(7)
    chunks = pack_chunks([words(70, prefix="a"), words(90, length=5, prefix="b")])
    offset = 0.0
    previous_end = 0.0
    for chunk in chunks:
        durations = [rng.randint(0, 9) for _ in range(len(chunk.phonemes) + 2)]
        times = chunk.word_times(durations, offset)
        assert times[0]["start"] >= round(offset, 3)
        for word in times:
            assert previous_end <= word["start"] <= word["end"]
            previous_end = word["end"]
        offset += sum(durations) * FRAME_S
    assert [text for text in texts(chunks) if text != "."] == [
        *(f"a{i}" for i in range(70)),
        *(f"b{i}" for i in range(90)),
    ]


def spoken(chunks: list[Chunk]) -> str:
    return " ".join(chunk.phonemes for chunk in chunks)


def test_chunks_for_two_side_by_side_are_an_even_count_of_about_equal_length_cut_after_sentences() -> None:
    sentences = [words(n, prefix=f"s{i}-") for i, n in enumerate((4, 7, 5, 6, 3, 5, 7, 4, 6, 5, 4, 6, 3, 7, 5))]
    serial = pack_chunks([list(s) for s in sentences])
    chunks = side_by_side_chunks(sentences, 2)
    assert len(chunks) % 2 == 0
    lengths = [len(chunk.phonemes) for chunk in chunks]
    assert max(lengths) <= MAX_PHONEMES and max(lengths) < 1.3 * sum(lengths) / len(lengths)
    assert all(chunk.units[-1].text == "." for chunk in chunks)  # whole sentences where they fit
    assert spoken(chunks) == spoken(serial)  # the same phonemes, in the same order
    assert side_by_side_chunks(sentences, 1) == pack_chunks(sentences)


def test_one_long_sentence_for_three_side_by_side_is_cut_at_its_commas_into_three() -> None:
    sentence = [*words(12, end=","), *words(12, prefix="b", end=","), *words(12, prefix="c")]
    chunks = side_by_side_chunks([sentence], 3)
    assert [chunk.units[-1].text for chunk in chunks] == [",", ",", "."]


def test_a_text_with_one_word_is_one_chunk_whatever_the_width() -> None:
    assert [len(c.units) for c in side_by_side_chunks([[Unit("Hi", "hI", False)]], 4)] == [1]
    assert side_by_side_chunks([[Unit("“", "", False)]], 2) == []


def test_the_first_words_of_a_streamed_answer_end_at_a_comma_when_one_is_near_and_the_rest_follows() -> None:
    sentence = [*words(3, end=","), *words(20, prefix="r")]
    head, rest = first_words(sentence, 40)
    assert [u.text for u in head] == ["w0", "w1", "w2", ","]
    assert [u.text for u in head + rest] == [u.text for u in sentence]
    head, rest = first_words(words(3), 40)
    assert rest == [] and len(head) == 4  # a short sentence is whole
    head, rest = first_words(words(30), 40)
    assert len(Chunk(head).phonemes) <= 40 and len(head) + len(rest) == 31


def test_a_streamed_answers_chunks_grow_twice_as_long_each_time_up_to_the_target() -> None:
    sentences = [words(5, prefix=f"s{i}-") for i in range(20)]  # 50 phonemes each
    chunks = pack_chunks(sentences, 200, growing_from=60)
    lengths = [len(chunk.phonemes) for chunk in chunks]
    assert lengths[:4] == [50, 101, 152, 152] and max(lengths) <= 200
    assert spoken(chunks) == spoken(pack_chunks(sentences))
    long_first = [words(30, end=","), *sentences[:3]]  # a sentence longer than the first chunk is cut to fit it
    assert len(pack_chunks(long_first, growing_from=60)[0].phonemes) <= 60


def test_a_short_sentence_is_never_cut_for_speed_nor_a_phrase_without_a_break() -> None:
    short = [*words(3, end=","), *words(3, prefix="b")]  # 55 phonemes, a comma in the middle
    assert len(side_by_side_chunks([short], 2)) == 1
    phrase = words(40)  # 400 phonemes with no break: cut only where the model's limit would need it
    assert len(side_by_side_chunks([phrase], 2)) == 1
    too_long = words(60)  # 600 phonemes: over the limit, cut as pack_chunks cuts it
    assert [len(c.phonemes) for c in side_by_side_chunks([too_long], 2)] == [
        len(c.phonemes) for c in pack_chunks([words(60)])
    ]
