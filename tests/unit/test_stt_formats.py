"""Transcript files: JSON, text, and SRT/WebVTT cues that end at sentences and pauses and fit two short lines."""

import itertools

import pytest

from app.services.stt.formats import cues, render, timestamp
from app.services.stt.service import in_order
from app.services.stt.transcript import HeardWord, Segment, Transcript
from app.services.video.captions import parse_captions


def spoken(text: str, start: float = 0.0, step: float = 0.3, pause_after: dict[int, float] | None = None) -> Transcript:
    """A transcript of `text` as one segment, each word `step` long, with extra silence after some words."""
    words, clock = [], start
    for index, token in enumerate(text.split()):
        words.append(HeardWord(word=token, start=round(clock, 3), end=round(clock + step, 3), probability=0.9))
        clock += step + (pause_after or {}).get(index, 0.0)
    segment = Segment(start=start, end=words[-1].end, text=text)
    return Transcript(text=text, language="en", duration=words[-1].end + 0.5, segments=[segment], words=words)


TWO_SENTENCES = spoken("The weather is nice today, so we will walk to the park. Please send the report before noon.")
LONG_SENTENCE = spoken(
    "this sentence runs on and on without a single stop because the speaker keeps adding one more clause "
    "and then another one and never seems to breathe at all"
)


def test_a_cue_ends_where_a_sentence_ends() -> None:
    texts = [" ".join(" ".join(line) for line in cue.lines) for cue in cues(TWO_SENTENCES)]
    assert texts == ["The weather is nice today, so we will walk to the park.", "Please send the report before noon."]


def test_a_long_sentence_is_cut_into_cues_of_two_lines_of_42_characters_at_most() -> None:
    result = cues(LONG_SENTENCE)
    assert len(result) > 1
    for cue in result:
        lines = cue.text.split("\n")
        assert 1 <= len(lines) <= 2 and all(len(line) <= 42 for line in lines), lines
    assert " ".join(cue.text.replace("\n", " ") for cue in result) == LONG_SENTENCE.text
    assert all(a.end <= b.start for a, b in itertools.pairwise(result))


def test_a_pause_of_a_second_closes_the_cue() -> None:
    transcript = spoken("wait for it and here it comes", pause_after={2: 1.5})
    assert [cue.text for cue in cues(transcript)] == ["wait for it", "and here it comes"]


def test_a_word_longer_than_a_line_gets_a_line_of_its_own() -> None:
    long_word = "x" * 50
    transcript = spoken(f"short words then {long_word} and more")
    lines = [line for cue in cues(transcript) for line in cue.text.split("\n")]
    assert long_word in lines and all(len(line) <= 42 for line in lines if line != long_word)


@pytest.mark.parametrize(
    ("seconds", "srt", "vtt"),
    [
        (0, "00:00:00,000", "00:00:00.000"),
        (3661.5, "01:01:01,500", "01:01:01.500"),
        (59.9996, "00:01:00,000", "00:01:00.000"),
    ],
)
def test_timestamps_are_written_to_the_millisecond(seconds: float, srt: str, vtt: str) -> None:
    assert (timestamp(seconds, ","), timestamp(seconds, ".")) == (srt, vtt)


def test_srt_numbers_its_cues_and_the_caption_parser_reads_back_every_word_in_its_cue() -> None:
    srt = render(TWO_SENTENCES, "srt")
    assert srt.startswith("1\n00:00:00,000 --> ") and "\n\n2\n" in srt and srt.endswith("\n\n")
    words = parse_captions(srt)
    assert [word.word for word in words] == [word.word for word in TWO_SENTENCES.words]
    spans = [(cue.start, cue.end) for cue in cues(TWO_SENTENCES)]
    assert all(any(start <= word.start <= word.end <= end for start, end in spans) for word in words)


def test_webvtt_has_its_header_and_dotted_times_and_parses() -> None:
    vtt = render(TWO_SENTENCES, "vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> ") and "," not in vtt.splitlines()[2]
    assert [word.word for word in parse_captions(vtt)] == [word.word for word in TWO_SENTENCES.words]


def test_text_has_one_segment_a_line_and_json_is_the_whole_transcript() -> None:
    transcript = TWO_SENTENCES.model_copy(
        update={"segments": [Segment(start=0, end=1, text="First."), Segment(start=1, end=2, text="Second.")]}
    )
    assert render(transcript, "txt") == "First.\nSecond.\n"
    assert Transcript.model_validate_json(render(transcript, "json")) == transcript


def test_segments_without_word_times_still_make_cues_within_their_segment() -> None:
    transcript = Transcript(
        text="Hello there. General words.",
        language="en",
        duration=4.0,
        segments=[Segment(start=0.5, end=1.5, text="Hello there."), Segment(start=2.0, end=3.0, text="General words.")],
        words=[],
    )
    assert [(cue.start, cue.end, cue.text) for cue in cues(transcript)] == [
        (0.5, 1.5, "Hello there."),
        (2.0, 3.0, "General words."),
    ]


def test_silence_gives_empty_files() -> None:
    silence = Transcript(text="", language="en", duration=2.0, segments=[], words=[])
    assert (render(silence, "srt"), render(silence, "vtt"), render(silence, "txt")) == ("", "WEBVTT\n\n", "")


def test_word_times_that_go_back_or_overrun_the_audio_are_put_in_order_inside_it() -> None:
    heard = [
        HeardWord(word="one", start=0.5, end=0.9, probability=0.9),
        HeardWord(word="two", start=0.4, end=0.3, probability=0.9),
        HeardWord(word="three", start=1.8, end=2.6, probability=0.9),
    ]
    assert [(word.start, word.end) for word in in_order(heard, 2.0)] == [(0.5, 0.9), (0.5, 0.5), (1.8, 2.0)]
