"""A tiny target for `ChildProcess`: operations that echo, sleep, crash, fail and report where they run."""

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CRASH_EXIT_CODE = 3
LOAD_EXIT_CODE = 4


@dataclass
class Catalog:
    """What the child sends once loaded: its pid, or why it cannot work."""

    pid: int
    reason: str | None = None


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def _crash() -> None:
    os._exit(CRASH_EXIT_CODE)


def _fail(message: str) -> None:
    raise ValueError(message)


def _placement() -> tuple[int, list[int]]:
    """The calling thread's nice and cores."""
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), sorted(os.sched_getaffinity(0))


def load(payload: dict[str, Any]) -> tuple[Catalog, dict[str, Callable[..., Any]]]:
    """`payload` may ask to die while loading or to say the work is unavailable."""
    if payload.get("die_while_loading"):
        os._exit(LOAD_EXIT_CODE)
    meeting = threading.Barrier(2, timeout=60)
    operations = {
        "echo": lambda *args: args,
        "sleep": _sleep,
        "crash": _crash,
        "fail": _fail,
        "pid": os.getpid,
        "placement": _placement,
        "meet": lambda: meeting.wait() >= 0,
    }
    return Catalog(os.getpid(), payload.get("reason")), operations
