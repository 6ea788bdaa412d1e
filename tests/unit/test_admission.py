"""Admission: start, wait or refuse under per-kind caps and the global heavy cap, and staggered Retry-After."""

import asyncio

import pytest

from app.errors import Busy
from app.limits import MAX_RETRY_AFTER_S, Admission


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def refusal(admission: Admission, kind: str, client: str | None = None) -> Busy:
    """The `Busy` that `admit(kind)` raises; fails the test when it admits instead."""
    with pytest.raises(Busy) as caught:
        admission.admit(kind, client=client)
    return caught.value


def retry_after(admission: Admission, kind: str) -> int:
    return refusal(admission, kind).retry_after


def test_a_job_starts_at_once_when_a_slot_of_its_kind_and_a_heavy_slot_are_free() -> None:
    admission = Admission({"tts": 2, "video": 1}, heavy_cap=3, max_queued=2)

    ticket = admission.admit("tts")

    assert ticket.granted.is_set()
    assert admission.running("tts") == 1
    assert admission.running() == 1
    assert admission.snapshot()["queued_total"] == 0


def test_a_job_waits_in_the_room_when_its_kind_is_full() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=3, max_queued=2)
    admission.admit("tts")

    waiting = admission.admit("tts")

    assert not waiting.granted.is_set()
    assert admission.running("tts") == 1
    assert admission.snapshot()["queued_total"] == 1
    assert admission.snapshot()["kinds"]["tts"]["queued"] == 1


def test_a_job_waits_when_the_heavy_cap_is_full_though_its_kind_has_a_free_slot() -> None:
    admission = Admission({"tts": 2, "video": 1}, heavy_cap=1, max_queued=2)
    admission.admit("video")

    waiting = admission.admit("tts")

    assert not waiting.granted.is_set()
    assert admission.running("tts") == 0
    assert admission.running() == 1


def test_a_job_is_refused_with_429_and_a_retry_time_when_slots_and_room_are_full() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=1, max_queued=1, clock=FakeClock())
    admission.admit("tts")
    admission.admit("tts")

    busy = refusal(admission, "tts")

    assert busy.status_code == 429
    assert busy.retry_after == 10
    assert busy.message == (
        "The server is busy with tts jobs (all slots and the waiting room are taken); retry in 10 s."
    )
    assert admission.rejected == 1
    assert admission.snapshot()["queued_total"] == 1


def test_without_a_waiting_room_a_job_of_a_full_kind_is_refused_at_once() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=2, max_queued=0, clock=FakeClock())
    admission.admit("tts")

    assert retry_after(admission, "tts") == 5
    assert admission.admit("video").granted.is_set()


def test_a_job_queues_behind_any_waiting_job_even_when_its_own_kind_and_a_heavy_slot_are_free() -> None:
    """Admission starts a job only while the room is empty, so a video queues behind a waiting tts job
    and starts at the next release. (The README says a job starts when its kind and a heavy slot are free.)"""
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=3, max_queued=2)
    first = admission.admit("tts")
    admission.admit("tts")

    video = admission.admit("video")

    assert not video.granted.is_set()
    assert admission.running() == 1
    admission.release(first)
    assert video.granted.is_set()
    assert admission.running() == 2


def test_a_release_starts_the_oldest_waiting_job_first() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=3, max_queued=3)
    first = admission.admit("tts")
    second = admission.admit("tts")
    third = admission.admit("tts")

    admission.release(first, 1.0)
    assert second.granted.is_set()
    assert not third.granted.is_set()
    assert admission.snapshot()["kinds"]["tts"]["queued"] == 1

    admission.release(second, 1.0)
    assert third.granted.is_set()
    assert admission.snapshot()["queued_total"] == 0
    assert admission.running("tts") == 1


def test_a_release_starts_a_later_waiting_job_that_fits_when_the_one_ahead_still_does_not() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=2, max_queued=2)
    admission.admit("tts")
    video = admission.admit("video")
    queued_tts = admission.admit("tts")
    queued_video = admission.admit("video")

    admission.release(video)

    assert not queued_tts.granted.is_set()
    assert queued_video.granted.is_set()
    assert admission.snapshot()["queued_total"] == 1


def test_releasing_a_waiting_ticket_gives_its_place_in_the_room_back_and_starts_nothing() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=2, max_queued=1)
    admission.admit("tts")
    waiting = admission.admit("tts")

    admission.release(waiting)

    assert waiting.released
    assert not waiting.granted.is_set()
    assert admission.running("tts") == 1
    assert admission.snapshot()["queued_total"] == 0
    assert not admission.admit("tts").granted.is_set()


def test_releasing_a_ticket_twice_frees_its_slot_once() -> None:
    admission = Admission({"tts": 2, "video": 1}, heavy_cap=2, max_queued=1)
    first = admission.admit("tts")
    admission.admit("tts")

    admission.release(first, 2.0)
    admission.release(first, 2.0)

    assert admission.running("tts") == 1
    assert admission.running() == 1
    assert admission.snapshot()["kinds"]["tts"]["recent_durations_s"] == [2.0]


def test_releasing_a_started_ticket_twice_does_not_start_a_second_waiting_job() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=2, max_queued=2)
    first = admission.admit("tts")
    second = admission.admit("tts")
    third = admission.admit("tts")

    admission.release(first)
    admission.release(first)

    assert second.granted.is_set()
    assert not third.granted.is_set()
    assert admission.running("tts") == 1


def test_a_duration_is_recorded_only_for_a_ticket_that_ran() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=2, max_queued=1)
    running = admission.admit("tts")
    waiting = admission.admit("tts")

    admission.release(waiting, 9.0)
    admission.release(running, 3.25)

    assert admission.snapshot()["kinds"]["tts"]["recent_durations_s"] == [3.25]


def test_check_room_admits_nothing_while_there_is_room() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=1, max_queued=1)
    admission.admit("tts")
    before = admission.snapshot()

    admission.check_room("tts")
    admission.check_room("video")

    assert admission.snapshot() == before
    assert admission.rejected == 0


@pytest.mark.parametrize(
    ("caps", "heavy_cap", "max_queued", "admitted", "kind", "retry"),
    [
        ({"tts": 1, "video": 1}, 2, 0, [], "tts", None),
        ({"tts": 1, "video": 1}, 2, 0, ["tts"], "tts", 5),
        ({"tts": 1, "video": 1}, 2, 0, ["tts"], "video", None),
        ({"tts": 1, "video": 1}, 1, 0, ["tts"], "video", 30),
        ({"tts": 1, "video": 1}, 2, 1, ["tts"], "tts", None),
        ({"tts": 1, "video": 1}, 2, 1, ["tts", "tts"], "video", 30),
        ({"tts": 2, "video": 1}, 3, 1, ["tts", "video", "video"], "tts", 3),
    ],
    ids=[
        "empty",
        "kind-full-no-room",
        "other-kind-free",
        "heavy-full-no-room",
        "room-free",
        "room-full",
        "room-full-kind-free",
    ],
)
def test_check_room_refuses_exactly_when_admit_would_with_the_same_retry_time(
    caps: dict[str, int], heavy_cap: int, max_queued: int, admitted: list[str], kind: str, retry: int | None
) -> None:
    checked = Admission(caps, heavy_cap, max_queued, clock=FakeClock())
    admitting = Admission(caps, heavy_cap, max_queued, clock=FakeClock())
    for earlier in admitted:
        checked.admit(earlier)
        admitting.admit(earlier)
    before = checked.snapshot()

    if retry is None:
        checked.check_room(kind)
        assert checked.snapshot() == before
        admitting.admit(kind)
        assert admitting.snapshot()["rejected"] == 0
        return
    with pytest.raises(Busy) as by_check:
        checked.check_room(kind)
    by_admit = refusal(admitting, kind)
    assert by_check.value.retry_after == retry
    assert by_admit.retry_after == retry
    assert by_check.value.message == by_admit.message
    assert checked.snapshot() == admitting.snapshot()
    assert checked.rejected == 1


@pytest.mark.asyncio
async def test_an_extra_slot_holds_a_slot_of_its_kind_but_no_heavy_slot() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=2, max_queued=1)
    admission.admit("video")

    async with admission.extra_slot("tts"):
        assert admission.running("tts") == 1
        assert admission.running() == 1
        queued = admission.admit("tts")
        assert not queued.granted.is_set()

    assert queued.granted.is_set()
    assert admission.running("tts") == 1
    assert admission.running() == 2


class Narration:
    """A video's narration holding an extra tts slot: it waits for the slot, then holds it until `finish`."""

    def __init__(self, admission: Admission) -> None:
        self.entered = asyncio.Event()
        self._leave = asyncio.Event()
        self._task = asyncio.create_task(self._narrate(admission))

    async def _narrate(self, admission: Admission) -> None:
        async with admission.extra_slot("tts"):
            self.entered.set()
            await self._leave.wait()

    async def has_entered(self) -> None:
        await asyncio.wait_for(self.entered.wait(), 60)  # a ceiling, not an expectation: it enters at once

    async def finish(self) -> None:
        self._leave.set()
        await self._task


@pytest.mark.asyncio
async def test_an_extra_slot_waits_while_its_kind_is_full_and_enters_when_a_slot_is_released() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=2, max_queued=1)
    tts = admission.admit("tts")
    admission.admit("video")
    narration = Narration(admission)
    await asyncio.sleep(0)
    assert not narration.entered.is_set()

    admission.release(tts)
    await narration.has_entered()
    assert admission.running("tts") == 1
    assert admission.running() == 1

    await narration.finish()
    assert admission.running("tts") == 0


@pytest.mark.asyncio
async def test_a_waiting_extra_slot_gets_a_freed_slot_before_a_job_waiting_in_the_room() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=3, max_queued=1)
    tts = admission.admit("tts")
    admission.admit("video")
    queued = admission.admit("tts")
    narration = Narration(admission)
    await asyncio.sleep(0)
    admission.release(tts)
    await narration.has_entered()
    assert not queued.granted.is_set()

    await narration.finish()
    assert queued.granted.is_set()
    assert admission.running("tts") == 1


@pytest.mark.asyncio
async def test_a_cancelled_wait_for_an_extra_slot_takes_no_slot() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=2, max_queued=1)
    tts = admission.admit("tts")

    async def narrate() -> None:
        async with admission.extra_slot("tts"):
            pytest.fail("entered a full kind")

    task = asyncio.create_task(narrate())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    admission.release(tts)
    assert admission.running("tts") == 0
    assert admission.admit("tts").granted.is_set()


def test_peaks_and_the_snapshot_report_the_highest_load_seen() -> None:
    clock = FakeClock()
    admission = Admission({"tts": 2, "video": 1}, heavy_cap=2, max_queued=2, clock=clock)
    first = admission.admit("tts")
    second = admission.admit("tts")
    third = admission.admit("tts")
    video = admission.admit("video")
    refusal(admission, "video")
    admission.release(first, 1.0)
    admission.release(second, 2.5)
    admission.release(third, 1.23456)

    assert admission.snapshot() == {
        "heavy": {"running": 1, "cap": 2, "peak_running": 2},
        "queued_total": 0,
        "max_queued": 2,
        "rejected": 1,
        "kinds": {
            "tts": {
                "running": 0,
                "queued": 0,
                "cap": 2,
                "peak_running": 2,
                "peak_queued": 1,
                "recent_durations_s": [1.0, 2.5, 1.235],
            },
            "video": {
                "running": 1,
                "queued": 0,
                "cap": 1,
                "peak_running": 1,
                "peak_queued": 1,
                "recent_durations_s": [],
            },
        },
    }
    assert video.granted.is_set()


def full_tts(clock: FakeClock, cap: int = 1, max_queued: int = 0) -> Admission:
    """tts slots all taken and the room full, so every further tts request is refused."""
    admission = Admission({"tts": cap, "video": 1}, heavy_cap=cap + 1, max_queued=max_queued, clock=clock)
    for _ in range(cap + max_queued):
        admission.admit("tts")
    return admission


def test_refused_clients_are_staggered_one_job_apart_but_never_told_more_than_the_work_ahead_needs() -> None:
    admission = full_tts(FakeClock())

    assert [retry_after(admission, "tts") for _ in range(4)] == [5, 10, 10, 10]


def test_each_refusal_adds_one_jobs_share_of_the_kinds_slots() -> None:
    admission = full_tts(FakeClock(), cap=2)

    assert [retry_after(admission, "tts") for _ in range(4)] == [3, 5, 8, 8]


def test_jobs_waiting_in_the_room_count_as_ahead_of_a_refused_client() -> None:
    admission = full_tts(FakeClock(), cap=1, max_queued=2)

    assert [retry_after(admission, "tts") for _ in range(2)] == [15, 20]


def test_a_video_refusal_uses_the_video_default_duration() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=1, max_queued=0, clock=FakeClock())
    admission.admit("video")

    assert [retry_after(admission, "video") for _ in range(2)] == [30, 60]


def test_a_kind_without_a_default_duration_assumes_ten_seconds() -> None:
    admission = Admission({"merge": 1}, heavy_cap=1, max_queued=0, clock=FakeClock())
    admission.admit("merge")

    assert [retry_after(admission, "merge") for _ in range(2)] == [10, 20]


def test_recorded_durations_replace_the_default_with_their_mean() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=2, max_queued=0, clock=FakeClock())
    admission.release(admission.admit("tts"), 2.0)
    admission.release(admission.admit("tts"), 4.0)
    admission.admit("tts")

    assert [retry_after(admission, "tts") for _ in range(3)] == [3, 6, 6]


def test_a_short_mean_duration_is_rounded_up_to_at_least_one_second() -> None:
    admission = Admission({"tts": 4, "video": 1}, heavy_cap=4, max_queued=0, clock=FakeClock())
    for _ in range(4):
        admission.release(admission.admit("tts"), 0.1)
    for _ in range(4):
        admission.admit("tts")

    assert [retry_after(admission, "tts") for _ in range(2)] == [1, 1]


def test_a_promise_stops_counting_once_the_clock_passes_it() -> None:
    clock = FakeClock()
    admission = full_tts(clock, cap=1, max_queued=3)
    assert [retry_after(admission, "tts") for _ in range(2)] == [20, 25]

    clock.advance(20.0)
    assert retry_after(admission, "tts") == 25

    clock.advance(4.999)
    assert retry_after(admission, "tts") == 25

    clock.advance(100.0)
    assert retry_after(admission, "tts") == 20


def test_check_room_refusals_are_promised_a_time_like_admit_refusals() -> None:
    admission = full_tts(FakeClock())

    with pytest.raises(Busy) as first:
        admission.check_room("tts")

    assert first.value.retry_after == 5
    assert retry_after(admission, "tts") == 10


def test_clients_that_ignore_retry_after_never_push_the_figure_past_the_work_ahead() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=1, max_queued=0, clock=FakeClock())
    admission.admit("video")

    told = [retry_after(admission, "video") for _ in range(22)]

    assert told[:3] == [30, 60, 60]
    assert max(told) == 60 < MAX_RETRY_AFTER_S


def test_an_unnamed_client_back_early_counts_again_but_a_named_one_replaces_its_own_promise() -> None:
    clock = FakeClock()
    admission = full_tts(clock, cap=1, max_queued=3)
    assert refusal(admission, "tts", client="n8n-item-1").retry_after == 20
    clock.advance(1.0)
    assert refusal(admission, "tts", client="n8n-item-1").retry_after == 20, "its own promise is replaced"
    assert refusal(admission, "tts", client="n8n-item-2").retry_after == 25, "one more client ahead"
    clock.advance(1.0)
    assert retry_after(admission, "tts") == 25, "never past the work ahead: 4 jobs of 5 s, plus this one"


def test_one_very_long_recorded_job_is_capped_at_the_maximum() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=1, max_queued=0, clock=FakeClock())
    admission.release(admission.admit("video"), 5000.0)
    admission.admit("video")

    assert retry_after(admission, "video") == 600


def test_the_waiting_room_takes_a_job_only_when_it_would_start_within_the_longest_queue_wait() -> None:
    admission = Admission({"tts": 2, "video": 1}, heavy_cap=3, max_queued=100, clock=FakeClock(), max_queue_wait_s=20)
    tickets = [admission.admit("tts") for _ in range(10)]
    assert [ticket.granted.is_set() for ticket in tickets] == [True] * 2 + [False] * 8
    busy = refusal(admission, "tts")
    assert busy.retry_after == 5, "it would start at 22.5 s: the room takes it 2.5 s from now, plus one share"
    assert admission.snapshot()["queued_total"] == 8


def test_a_caller_that_waits_for_the_end_is_queued_only_when_its_job_would_end_within_the_wait() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=2, max_queued=100, clock=FakeClock())
    admission.admit("tts")
    admission.admit("tts")
    refusal_for_short_wait = pytest.raises(Busy)
    with refusal_for_short_wait:
        admission.admit("tts", finish_within_s=14)
    assert not admission.admit("tts", finish_within_s=15).granted.is_set(), "starts at 10 s, ends at 15 s"


def test_a_submission_answered_with_202_queues_past_the_time_bound_until_the_rooms_ceiling() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=2, max_queued=6, clock=FakeClock(), max_queue_wait_s=10)
    admission.admit("tts")
    admission.admit("tts")
    admission.admit("tts")
    with pytest.raises(Busy):  # a caller that waits for its answer would start at 15 s, past MAX_QUEUE_WAIT_S
        admission.admit("tts")
    detached = [admission.admit("tts", detached=True) for _ in range(4)]
    assert not any(ticket.granted.is_set() for ticket in detached)
    assert admission.snapshot()["queued_total"] == 6
    with pytest.raises(Busy) as ceiling:
        admission.admit("tts", detached=True)
    assert "waiting room are taken" in ceiling.value.message
    assert ceiling.value.retry_after == 40, "a place opens as the six queued jobs start (5 s each), after the one told"


def test_an_operator_may_bound_detached_submissions_in_time_too() -> None:
    admission = Admission(
        {"tts": 1, "video": 1},
        heavy_cap=2,
        max_queued=50,
        clock=FakeClock(),
        max_queue_wait_s=100,
        max_queue_wait_async_s=10,
    )
    for _ in range(3):
        admission.admit("tts", detached=True)
    with pytest.raises(Busy) as busy:
        admission.admit("tts", detached=True)
    assert busy.value.retry_after == 10, "it would start at 15 s: 5 s past the bound, plus one share"
    assert not admission.admit("tts").granted.is_set(), "a waiting caller still has its own, longer bound"


def test_has_room_answers_without_promising_or_counting_a_refusal() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=2, max_queued=1, clock=FakeClock())
    assert admission.has_room("tts")
    admission.admit("tts")
    admission.admit("tts")
    before = admission.snapshot()
    assert not admission.has_room("tts")
    assert admission.snapshot() == before and admission.rejected == 0
    assert retry_after(admission, "tts") == 10, "no promise was made by has_room"


def test_the_door_lets_through_what_a_detached_submission_could_take() -> None:
    admission = Admission({"tts": 1, "video": 1}, heavy_cap=2, max_queued=10, clock=FakeClock(), max_queue_wait_s=1)
    for _ in range(3):
        admission.admit("tts", detached=True)
    admission.check_room("tts")
    assert admission.has_room("tts")
