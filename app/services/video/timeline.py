"""Where each scene of a short sits in the final video, and the music's gain envelope from the speech times.

Scene i's narration starts at S_i = sum over k < i of (narration_k + pause_k + transition); the transition
between two scenes takes its own time, after the pause, when no one speaks."""

from dataclasses import dataclass

from app.services.video.captions import Word

ATTACK_S = 0.25
"""The music starts going down this long before a word (the times are known in advance: no pumping)."""
RELEASE_S = 0.6
"""And comes back up to its level over this long after the speech ends."""
MERGE_GAP_S = ATTACK_S + RELEASE_S + 0.15
"""Speech separated by less than this stays one ducked span: the music does not bounce between words."""


@dataclass(frozen=True)
class SceneSpan:
    """One scene in the final video: its narration from `start` to `narration_end`, its pause to `end`;
    its picture from `clip_start` for `clip_length` (it overlaps its neighbours by a crossfade)."""

    start: float
    narration_end: float
    end: float
    clip_start: float
    clip_length: float


def plan_scenes(narrations: list[float], pauses: list[float], transition_s: float) -> list[SceneSpan]:
    """The spans of scenes with these narration lengths and pauses, joined by transitions of `transition_s`."""
    spans: list[SceneSpan] = []
    start = 0.0
    last = len(narrations) - 1
    for index, (narration, pause) in enumerate(zip(narrations, pauses, strict=True)):
        lead = transition_s if index > 0 else 0.0
        tail = transition_s if index < last else 0.0
        end = start + narration + pause
        spans.append(SceneSpan(start, start + narration, end, start - lead, lead + narration + pause + tail))
        start = end + transition_s
    return spans


def total_length(spans: list[SceneSpan]) -> float:
    return spans[-1].end if spans else 0.0


def shifted(words: list[Word], offset: float, limit: float) -> list[Word]:
    """Words moved by `offset` seconds, clipped to end by `limit` (a scene's narration end)."""
    moved = []
    for word in words:
        start = min(word.start + offset, limit)
        moved.append(Word(word.word, round(start, 3), round(max(start, min(word.end + offset, limit)), 3)))
    return moved


def speech_spans(words: list[Word], merge_gap_s: float = MERGE_GAP_S) -> list[tuple[float, float]]:
    """The stretches when someone speaks: the words' spans, merged across gaps shorter than `merge_gap_s`."""
    spans: list[tuple[float, float]] = []
    for word in sorted((w for w in words if w.end > w.start), key=lambda w: w.start):
        if spans and word.start - spans[-1][1] < merge_gap_s:
            spans[-1] = (spans[-1][0], max(spans[-1][1], word.end))
        else:
            spans.append((word.start, word.end))
    return spans


def duck_expression(spans: list[tuple[float, float]], level: float, ducked: float) -> str:
    """An ffmpeg `volume` expression in t: `level`, going down to `ducked` over ATTACK_S before each span of
    speech and back up over RELEASE_S after it. The spans are at least MERGE_GAP_S apart, so their
    trapezoids never overlap and their sum is the duck amount (0 to 1)."""
    if not spans:
        return f"{level:.6f}"
    terms = [
        f"clip(min((t-{start - ATTACK_S:.3f})/{ATTACK_S},({end + RELEASE_S:.3f}-t)/{RELEASE_S}),0,1)"
        for start, end in spans
    ]
    return f"{level:.6f}-{level - ducked:.6f}*({'+'.join(terms)})"
