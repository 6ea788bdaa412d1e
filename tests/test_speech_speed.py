"""The real int8 ONNX engine with a share of two threads: chunks side by side, a streamed answer that starts early."""

import io
import itertools
import os
import re
import signal

import httpx
import numpy as np
import soundfile

from app.services.tts.chunking import SAMPLE_RATE
from app.services.tts.engine import style_for, token_ids
from tests.conftest import RunningServer
from tests.support.waits import WAIT_S

TEXT = (
    "The river was quiet that morning. A boat drifted past the mill, and the miller waved from his door. "
    "Further down, children threw stones into the water and counted the rings. The baker's cart rolled over "
    "the bridge, loaded with bread for the market. By noon the sun was high and the town was busy. "
    "Everyone seemed to have somewhere to be, and nobody was in a hurry to get there."
)


def test_chunks_spoken_side_by_side_come_in_order_with_the_audio_and_word_times_of_a_serial_run(
    onnx_server: RunningServer,
) -> None:
    tts = onnx_server.services.tts
    loaded, _ = tts.ready()
    request = tts.validate(TEXT, None, 1.0, "a")
    chunks = tts.chunks(request, 2)
    assert len(chunks) % 2 == 0 and len(chunks) >= 2
    side_by_side = list(tts.stream(request, lambda: 2))
    assert [index for *_, index, _ in side_by_side] == list(range(len(chunks)))
    pack = loaded.voices.resolve(request.voice)
    offset = 0
    for chunk, (audio, words, *_) in zip(chunks, side_by_side, strict=True):
        style = style_for(pack, len(token_ids(chunk.phonemes, loaded.engine.vocab)))
        alone, durations = loaded.engine.synthesize(chunk.phonemes, style, 1.0, 1)  # one at a time, 1 thread
        assert np.allclose(audio, np.clip(alone, -1, 1), atol=1e-3)
        assert words == chunk.word_times(durations, offset / SAMPLE_RATE)
        offset += len(audio)
    words = [word for _, chunk_words, *_ in side_by_side for word in chunk_words]
    assert [w["word"] for w in words][:4] == ["The", "river", "was", "quiet"]
    assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(words))
    assert words[-1]["end"] <= offset / SAMPLE_RATE


def test_a_tts_job_on_two_threads_gives_one_file_with_every_word_timed_inside_its_audio(
    onnx_server: RunningServer,
) -> None:
    response = onnx_server.client.post("/api/v1/media/audio-tools/tts/kokoro", data={"text": TEXT})
    assert response.status_code == 202, response.text
    file_id = response.json()["file_id"]
    assert onnx_server.wait_for(file_id)["status"] == "ready"
    info = onnx_server.client.get(f"/api/v1/media/storage/{file_id}/info").json()
    wav = soundfile.info(io.BytesIO(onnx_server.client.get(f"/api/v1/media/storage/{file_id}").content))
    assert abs(wav.duration - info["duration"]) < 0.01
    assert [w["word"] for w in info["words"]] == re.findall(r"[\w']+", TEXT)
    assert all(0 <= w["start"] < w["end"] <= info["duration"] + 1e-6 for w in info["words"])


def test_a_streamed_answer_starts_with_its_first_words_before_the_rest_is_synthesized(
    onnx_server: RunningServer,
) -> None:
    engine = onnx_server.services.engine
    assert engine is not None and engine.pid is not None
    body = {"input": TEXT, "response_format": "pcm", "stream": True, "lang_code": "a"}
    with httpx.stream("POST", f"{onnx_server.base_url}/v1/audio/speech", json=body, timeout=WAIT_S) as response:
        assert response.status_code == 200
        pieces = response.iter_bytes()
        first = next(pieces)
        os.kill(engine.pid, signal.SIGSTOP)  # nothing more is phonemized or synthesized until it goes on
        try:
            still_speaking = onnx_server.services.admission.running("tts")
        finally:
            os.kill(engine.pid, signal.SIGCONT)
        rest = b"".join(pieces)
    assert still_speaking == 1
    assert 0 < len(first) / 2 / SAMPLE_RATE < 4.0  # the first words, "The river was quiet that morning."
    tts = onnx_server.services.tts
    whole = sum(len(audio) for audio, *_ in tts.stream(tts.validate(TEXT, None, 1.0, "a"), lambda: 1)) * 2
    assert abs(len(first) + len(rest) - whole) < 0.1 * whole  # the cuts move, the speech is the same length
