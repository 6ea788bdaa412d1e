"""Script alignment: every script word gets times from the heard words, in order and inside the audio."""

from app.services.stt.align import Alignment, align_script, normalise, number_value, script_words
from app.services.stt.transcript import HeardWord


def heard(*words: tuple[str, float, float]) -> list[HeardWord]:
    return [HeardWord(word=word, start=start, end=end, probability=0.9) for word, start, end in words]


def spans(alignment: Alignment) -> list[tuple[str, float, float]]:
    return [(w.word, w.start, w.end) for w in alignment.words]


def assert_in_order_inside(alignment: Alignment, duration: float) -> None:
    previous_end = 0.0
    for word in alignment.words:
        assert previous_end <= word.start <= word.end <= duration, alignment.words
        previous_end = word.end


def test_words_heard_exactly_take_the_heard_times() -> None:
    said = heard(("The", 0.1, 0.3), ("cat", 0.35, 0.6), ("sleeps.", 0.7, 1.2))
    alignment = align_script(script_words("The cat sleeps."), said, 1.5)
    assert spans(alignment) == [("The", 0.1, 0.3), ("cat", 0.35, 0.6), ("sleeps.", 0.7, 1.2)]
    assert alignment.matched == 3 and all(w.matched for w in alignment.words)


def test_case_punctuation_and_accents_do_not_stop_a_match() -> None:
    said = heard(("o", 0.0, 0.1), ("SOFA", 0.2, 0.6), ("dont", 0.7, 0.9))
    alignment = align_script(["O", "sofá,", "don't!"], said, 1.0, language="pt")
    assert alignment.matched == 3


def test_a_skipped_word_fills_the_silence_between_its_neighbours_by_length() -> None:
    said = heard(("one", 0.0, 0.4), ("three", 1.2, 1.6))
    alignment = align_script(["one", "two", "three"], said, 2.0)
    assert spans(alignment) == [("one", 0.0, 0.4), ("two", 0.4, 1.2), ("three", 1.2, 1.6)]
    assert alignment.matched == 2 and not alignment.words[1].matched


def test_unmatched_words_share_the_gap_in_proportion_to_their_length() -> None:
    said = heard(("start", 0.0, 1.0), ("end", 4.0, 5.0))
    alignment = align_script(["start", "ab", "abcdef", "end"], said, 5.0)
    middle = alignment.words[1:3]
    assert (middle[0].start, middle[0].end, middle[1].start, middle[1].end) == (1.0, 1.75, 1.75, 4.0)


def test_a_misheard_word_takes_the_time_of_what_was_heard_in_its_place() -> None:
    said = heard(("Meet", 0.0, 0.3), ("Shawn", 0.4, 0.8), ("at", 1.5, 1.6), ("noon", 1.7, 2.0))
    alignment = align_script(["Meet", "Siobhan", "at", "noon"], said, 2.5)
    assert spans(alignment)[1] == ("Siobhan", 0.4, 0.8)
    assert alignment.matched == 3 and not alignment.words[1].matched


def test_leading_and_trailing_unheard_words_sit_beside_their_neighbours_inside_the_audio() -> None:
    said = heard(("middle", 2.0, 2.5))
    alignment = align_script(["Well", "middle", "indeed"], said, 3.0)
    first, _, last = alignment.words
    assert first.end == 2.0 and 0.0 < first.start < 2.0
    assert last.start == 2.5 and 2.5 < last.end <= 3.0
    assert_in_order_inside(alignment, 3.0)


def test_leading_words_heard_differently_take_the_heard_span_before_the_first_match() -> None:
    said = heard(("Hi", 0.5, 0.7), ("there", 0.8, 1.0), ("friend", 1.2, 1.6))
    alignment = align_script(["Hey", "you", "friend"], said, 2.0)
    assert (alignment.words[0].start, alignment.words[1].end) == (0.5, 1.0)


def test_nothing_heard_spreads_the_script_over_the_whole_audio() -> None:
    alignment = align_script(["aa", "bb", "cccc"], [], 4.0)
    assert spans(alignment) == [("aa", 0.0, 1.0), ("bb", 1.0, 2.0), ("cccc", 2.0, 4.0)]
    assert alignment.matched == 0


def test_the_script_keeps_its_own_spelling_and_punctuation() -> None:
    said = heard(("hello", 0.0, 0.4), ("world", 0.5, 0.9))
    alignment = align_script(script_words("“Hello” — world!"), said, 1.0)
    assert [w.word for w in alignment.words] == ["“Hello” —", "world!"]
    assert alignment.matched == 2


def test_numbers_meet_their_spoken_form_either_way() -> None:
    said = heard(("We", 0.0, 0.2), ("paid", 0.3, 0.6), ("twenty-five", 0.7, 1.3), ("percent.", 1.3, 1.8))
    alignment = align_script(["We", "paid", "25%"], said, 2.0)
    assert spans(alignment)[2] == ("25%", 0.7, 1.8) and alignment.matched == 3
    spoken = align_script(["twenty", "five"], heard(("25", 1.0, 2.0)), 2.0)
    assert spoken.matched == 2 and spoken.words[0].end == spoken.words[1].start == 1.6  # split 6:4 by length


def test_number_separators_read_as_people_write_them() -> None:
    assert [number_value(n) for n in ("1,250", "1.250,00", "2.5", "2,5", "1,250.75", "7")] == [
        1250,
        1250,
        2.5,
        2.5,
        1250.75,
        7,
    ]
    assert normalise("1st") == ["first"] and normalise("14", "pt") == ["catorze"]


def test_times_stay_in_order_and_inside_the_audio_when_whisper_overlaps_or_overruns() -> None:
    said = heard(("a", 0.0, 0.6), ("b", 0.5, 1.2), ("c", 1.1, 2.4))
    alignment = align_script(["a", "b", "c", "d"], said, 2.0)
    assert_in_order_inside(alignment, 2.4)
    assert alignment.words[-1].end <= 2.4


def test_a_script_of_punctuation_alone_has_no_words() -> None:
    assert script_words("  — … ! ") == [] and script_words("") == []


def test_text_written_without_spaces_is_matched_character_by_character() -> None:
    said = heard(("今日は", 0.2, 0.6), ("いい", 0.7, 0.9), ("天気", 1.0, 1.3), ("です", 1.3, 1.6))
    alignment = align_script(["今日は、", "いい天気です。"], said, 2.0)
    assert spans(alignment) == [("今日は、", 0.2, 0.6), ("いい天気です。", 0.7, 1.6)]
    assert alignment.matched == 2
