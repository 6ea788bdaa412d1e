"""Captions: parsing SRT, WebVTT and JSON words, the errors a client sees, line breaking and styles."""

import pytest

from app.errors import InvalidInput
from app.services.video.captions import (
    CaptionStyle,
    Word,
    ass_color,
    build_ass,
    escape_ass,
    group_screens,
    parse_captions,
)

SRT = """\
1
00:00:01,000 --> 00:00:02,000
Hello world

2
00:00:02,500 --> 00:00:03,100
<i>Again</i>
"""

VTT = """\
WEBVTT - Narration

NOTE written by hand

intro
00:01.000 --> 00:02.400 align:start position:10%
<v Roger>Hi <b>there</b></v>

00:00:02.400 --> 00:00:03.000
{\\an8}ok
"""


def error(text: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_captions(text)
    assert caught.value.status_code == 400
    return caught.value.message


def line_words(*texts: str) -> list[Word]:
    return [Word(text, float(i), float(i) + 0.5) for i, text in enumerate(texts)]


def screen_texts(screens: list[list[list[Word]]]) -> list[list[str]]:
    return [[" ".join(word.word for word in line) for line in screen] for screen in screens]


def test_srt_cues_spread_their_time_over_their_words_by_length_and_lose_their_markup() -> None:
    assert parse_captions(SRT) == [
        Word("Hello", 1.0, 1.5),
        Word("world", 1.5, 2.0),
        Word("Again", 2.5, 3.1),
    ]


def test_webvtt_skips_its_header_notes_cue_ids_and_settings_and_reads_short_timestamps() -> None:
    assert parse_captions(VTT) == [
        Word("Hi", 1.0, 1.4),
        Word("there", 1.4, 2.4),
        Word("ok", 2.4, 3.0),
    ]


def test_srt_with_windows_line_endings_a_byte_order_mark_and_two_text_lines_is_read() -> None:
    text = "\ufeff1\r\n00:00:00,000 --> 00:00:04,000\r\na\r\nbbb\r\n\r\n"

    assert parse_captions(text) == [Word("a", 0.0, 1.0), Word("bbb", 1.0, 4.0)]


def test_timestamps_may_have_long_hours_and_short_fractions() -> None:
    assert parse_captions("101:02:03.5 --> 101:02:04.25\nlate") == [Word("late", 363723.5, 363724.25)]


def test_json_words_are_stripped_and_sorted_by_time() -> None:
    text = '[{"word": " world ", "start": 0.5, "end": 1}, {"word": "Hello", "start": 0, "end": 0.5}]'

    assert parse_captions(text) == [Word("Hello", 0.0, 0.5), Word("world", 0.5, 1.0)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "captions are empty"),
        ("\ufeff  \n\t", "captions are empty"),
        ("just some words", "captions must be SRT, WebVTT or a JSON list of {word, start, end}"),
        ("[]", "captions contain no words"),
        ('{"word": "a", "start": 0, "end": 1}', "captions JSON must be a list of {word, start, end}"),
        ("[1,", "captions JSON is invalid: Expecting value at line 1"),
        ('[{"word": "a", "start": 0, "end": 1},\n{"word": ]', "captions JSON is invalid: Expecting value at line 2"),
        ('["a"]', "captions JSON item 0 must be an object with a string word, start and end"),
        (
            '[{"word": 3, "start": 0, "end": 1}]',
            "captions JSON item 0 must be an object with a string word, start and end",
        ),
        (
            '[{"word": "a", "start": 0, "end": 1}, {"word": "b", "start": true, "end": 2}]',
            "captions JSON item 1 needs numeric start and end",
        ),
        ('[{"word": "a", "start": "0", "end": 1}]', "captions JSON item 0 needs numeric start and end"),
        ('[{"word": "a", "start": 0}]', "captions JSON item 0 needs numeric start and end"),
        ('[{"word": "a", "start": 2, "end": 1}]', "captions item 0: times must satisfy 0 <= start <= end"),
        ('[{"word": "a", "start": -1, "end": 1}]', "captions item 0: times must satisfy 0 <= start <= end"),
        ("WEBVTT\n\nNOTE nothing timed", "captions contain no timed cues"),
        ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<b></b>", "captions contain no timed cues"),
        ("00:00:01 --> 00:00:02\nHi", "invalid caption timestamp '00:00:01'"),
        ("00:00:01,000 -->\nHi", "invalid caption timestamp ''"),
        ("00:00:03,000 --> 00:00:02,000\nHi", "caption cue ends before it starts: '00:00:03,000 --> 00:00:02,000'"),
    ],
    ids=[
        "empty",
        "only-bom-and-space",
        "plain-text",
        "empty-json-list",
        "json-object",
        "invalid-json",
        "invalid-json-line-2",
        "json-item-not-object",
        "json-word-not-string",
        "json-boolean-time",
        "json-string-time",
        "json-missing-end",
        "json-end-before-start",
        "json-negative-start",
        "vtt-without-cues",
        "vtt-cue-of-markup-only",
        "timestamp-without-fraction",
        "cue-without-end",
        "cue-ending-before-start",
    ],
)
def test_bad_captions_are_refused_with_a_message_naming_the_problem(text: str, message: str) -> None:
    assert error(text) == message


@pytest.mark.parametrize(
    "text",
    ['[{"word": "a", "start": NaN, "end": 1}]', '[{"word": "a", "start": 0, "end": Infinity}]'],
    ids=["nan-start", "infinite-end"],
)
def test_non_finite_json_times_are_refused(text: str) -> None:
    assert error(text) == "captions JSON item 0 needs numeric start and end"


def test_words_fill_a_line_up_to_the_maximum_length_and_a_screen_up_to_the_line_count() -> None:
    style = CaptionStyle(line_max_length=11, line_count=2)

    screens = group_screens(line_words("one", "two", "three", "four", "five", "six"), style)

    assert screen_texts(screens) == [["one two", "three four"], ["five six"]]


def test_a_line_may_be_exactly_the_maximum_length() -> None:
    screens = group_screens(line_words("abc", "de", "f"), CaptionStyle(line_max_length=6, line_count=1))

    assert screen_texts(screens) == [["abc de"], ["f"]]


def test_a_word_longer_than_a_line_gets_a_line_of_its_own() -> None:
    screens = group_screens(line_words("a", "extraordinary", "b"), CaptionStyle(line_max_length=5, line_count=3))

    assert screen_texts(screens) == [["a", "extraordinary", "b"]]


def test_blank_words_take_no_place_on_a_line() -> None:
    screens = group_screens(line_words("a", " ", "b", ""), CaptionStyle(line_max_length=3, line_count=1))

    assert screen_texts(screens) == [["a b"]]


def test_one_dialogue_spans_each_screen_from_its_first_word_to_its_last() -> None:
    style = CaptionStyle(line_max_length=9, line_count=1)
    words = [Word("Hi", 0.0, 0.5), Word("there", 0.5, 1.2), Word("friend", 3.0, 3601.25)]

    events = [line for line in build_ass(words, style, 1080, 1920).splitlines() if line.startswith("Dialogue:")]

    assert events == [
        "Dialogue: 0,0:00:00.00,0:00:01.20,Default,,0,0,0,,Hi there",
        "Dialogue: 0,0:00:03.00,1:00:01.25,Default,,0,0,0,,friend",
    ]


def test_a_highlight_colour_gives_one_dialogue_per_word_lasting_until_the_next_word() -> None:
    style = CaptionStyle(line_max_length=30, highlight_color="#FFFF00")
    words = [Word("Hi", 0.0, 0.5), Word("there", 0.75, 1.2)]

    events = [line for line in build_ass(words, style, 1080, 1920).splitlines() if line.startswith("Dialogue:")]

    assert events == [
        "Dialogue: 0,0:00:00.00,0:00:00.75,Default,,0,0,0,,{\\1c&H00FFFF&}Hi{\\1c&HFFFFFF&} there",
        "Dialogue: 0,0:00:00.75,0:00:01.20,Default,,0,0,0,,Hi {\\1c&H00FFFF&}there{\\1c&HFFFFFF&}",
    ]


def test_caption_text_cannot_inject_ass_override_tags() -> None:
    assert escape_ass("a{\\b1}b\nc") == "a\\{\\\u2060b1\\}b c"


@pytest.mark.parametrize(
    ("color", "transparency", "ass"),
    [("#FF8000", 0.0, "&H000080FF"), ("ff8000", 0.4, "&H660080FF"), (" #00ff00 ", 1.0, "&HFF00FF00")],
)
def test_colours_become_ass_alpha_blue_green_red(color: str, transparency: float, ass: str) -> None:
    assert ass_color(color, transparency) == ass


@pytest.mark.parametrize("field", ["font_color", "shadow_color", "stroke_color", "highlight_color"])
@pytest.mark.parametrize("color", ["red", "#FFF", "#GGGGGG", "#1234567"])
def test_a_colour_that_is_not_rrggbb_is_refused_for_every_colour_field(field: str, color: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        CaptionStyle(**{field: color})

    assert caught.value.message == f"invalid colour {color!r}: expected #RRGGBB"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"line_count": 0}, "line_count must be between 1 and 5"),
        ({"line_count": 6}, "line_count must be between 1 and 5"),
        ({"line_max_length": 0}, "line_max_length must be at least 1"),
        ({"font_size": 0}, "font_size must be positive"),
        ({"font_name": "  "}, "font_name must not be empty"),
        ({"position": "left"}, "position must be top, center or bottom"),
        ({"shadow_transparency": 1.5}, "shadow_transparency must be between 0 and 1"),
        ({"shadow_blur": -1}, "shadow_blur and stroke_size must not be negative"),
        ({"stroke_size": -0.5}, "shadow_blur and stroke_size must not be negative"),
    ],
)
def test_a_style_out_of_range_is_refused_with_the_rule_it_breaks(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        CaptionStyle(**options)  # type: ignore[arg-type]

    assert caught.value.message == message


def test_the_default_style_and_an_unset_highlight_are_valid() -> None:
    style = CaptionStyle(line_count=5, position="top", shadow_transparency=1.0, highlight_color="")

    assert (style.line_count, style.position, style.highlight_color) == (5, "top", "")
