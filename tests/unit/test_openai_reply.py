"""The OpenAI-compatible answer's shapes and the form's lenient readings, without a server."""

import json

import pytest
from starlette.datastructures import FormData

from app.errors import InvalidInput
from app.routes.openai_form import granularities, temperature
from app.services.stt.engine_process import temperatures
from app.services.stt.openai_reply import OpenAiReply, render_reply
from app.services.stt.transcript import Decoding, HeardWord, Segment, Transcript

TRANSCRIPT = Transcript(
    text="Hello there.",
    language="pt",
    duration=1.5,
    segments=[
        Segment(start=0.0, end=1.2, text="Hello there.", decoding=Decoding(seek=0, tokens=[1, 2], avg_logprob=-0.2))
    ],
    words=[
        HeardWord(word="Hello", start=0.0, end=0.5, probability=0.9),
        HeardWord(word="there.", start=0.6, end=1.2, probability=0.8),
    ],
)


def test_verbose_json_carries_words_and_segments_only_when_asked_and_names_the_language() -> None:
    both = json.loads(
        render_reply(
            TRANSCRIPT, "translate", OpenAiReply(response_format="verbose_json", granularities=["word", "segment"])
        )
    )
    assert list(both) == ["task", "language", "duration", "text", "words", "segments"]
    assert both["task"] == "translate" and both["language"] == "portuguese"
    assert both["words"][1] == {"word": "there.", "start": 0.6, "end": 1.2}
    assert both["segments"][0]["tokens"] == [1, 2] and both["segments"][0]["id"] == 0
    words_only = json.loads(
        render_reply(TRANSCRIPT, "transcribe", OpenAiReply(response_format="verbose_json", granularities=["word"]))
    )
    assert "segments" not in words_only and words_only["words"]


def test_the_decoding_details_stay_out_of_the_jobs_info() -> None:
    assert "decoding" not in TRANSCRIPT.model_dump()["segments"][0]
    assert "decoding" not in TRANSCRIPT.model_dump_json()


def test_granularities_come_as_brackets_plain_repeats_json_or_commas() -> None:
    for form in (
        FormData([("timestamp_granularities[]", "segment"), ("timestamp_granularities[]", "word")]),
        FormData([("timestamp_granularities", "word"), ("timestamp_granularities", "segment")]),
        FormData([("timestamp_granularities", '["word", "segment"]')]),
        FormData([("timestamp_granularities", "word,segment")]),
    ):
        assert granularities(form) == ["word", "segment"]
    assert granularities(FormData()) == ["segment"]
    with pytest.raises(InvalidInput, match="timestamp_granularities"):
        granularities(FormData([("timestamp_granularities[]", "sentence")]))


def test_temperature_is_the_first_of_whispers_fallback_and_stays_within_0_and_1() -> None:
    assert temperatures(None) == {}
    assert temperatures(0.0) == {"temperature": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]}
    assert temperatures(0.3) == {"temperature": [0.3, 0.5, 0.7, 0.9]}
    assert temperature(FormData([("temperature", "0.5")])) == 0.5
    for bad in ("-0.1", "1.5", "hot", "nan"):
        with pytest.raises(InvalidInput, match="temperature"):
            temperature(FormData([("temperature", bad)]))
