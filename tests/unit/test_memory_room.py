"""Admission by memory on a real `Admission`, with the process tree's resident memory given by the test: jobs
start while their expected peaks fit the budget, wait in the room otherwise, learn their peaks from their runs,
and a budget too small for a job even alone is a 503 naming both figures."""

import pytest

from app.errors import ServiceUnavailable
from app.limits import Admission
from app.memory_room import MB, MemoryRoom

CAPS = {"tts": 2, "video": 1, "audio": 2, "stt": 1}


class Resident:
    """The process tree's resident memory, as the test sets it."""

    def __init__(self, mb: int) -> None:
        self.bytes = mb * MB

    def __call__(self) -> int:
        return self.bytes


def admission(limit_mb: int, resident: Resident, **peaks_mb: int) -> Admission:
    room = MemoryRoom(limit_mb * MB, resident, peaks_mb)
    return Admission(CAPS, heavy_cap=3, max_queued=10, memory=room)


def test_a_job_whose_peak_does_not_fit_beside_the_running_ones_waits_and_starts_when_memory_frees() -> None:
    gate = admission(1000, Resident(400), tts=200, video=350)  # usable: 900 MB

    first, second = gate.admit("tts"), gate.admit("tts")  # 400 + 200 + 200 = 800
    video = gate.admit("video")  # 400 + 400 + 350 = 1150: waits, though a video slot and a heavy slot are free

    assert first.granted.is_set() and second.granted.is_set() and not video.granted.is_set()
    gate.release(first)
    assert not video.granted.is_set()  # 400 + 200 + 350 = 950 > 900
    gate.release(second)
    assert video.granted.is_set()
    assert gate.snapshot()["memory"]["reserved_mb"] == 350


def test_with_nothing_running_a_job_always_starts_when_it_fits_the_limit_at_all() -> None:
    gate = admission(1000, Resident(500), video=450)  # 950 MB: above the usable 900, within the 1000 limit

    assert gate.admit("video").granted.is_set()


def test_a_limit_too_small_for_a_job_even_alone_is_a_503_naming_both_figures() -> None:
    gate = admission(500, Resident(400), video=350, audio=50)

    for attempt in (lambda: gate.admit("video"), lambda: gate.check_room("video")):
        with pytest.raises(ServiceUnavailable) as refused:
            attempt()
        assert "one needs about 750 MB" in refused.value.message and "memory limit is 500 MB" in refused.value.message
    assert gate.admit("audio").granted.is_set()  # a kind that fits is unaffected


def test_each_kind_learns_its_peak_from_its_own_runs() -> None:
    resident = Resident(400)
    gate = admission(4000, resident, tts=200)

    ticket = gate.admit("tts")
    resident.bytes = 700 * MB  # the run grew the tree by 300 MB
    gate.release(ticket)
    assert gate.snapshot()["memory"]["expected_peak_mb"]["tts"] == 300

    resident.bytes = 400 * MB
    ticket = gate.admit("tts")
    resident.bytes = 500 * MB  # a lighter run: the estimate comes down halfway, never below what was seen
    gate.release(ticket)
    assert gate.snapshot()["memory"]["expected_peak_mb"]["tts"] == 200
