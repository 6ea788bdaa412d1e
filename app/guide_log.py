"""The two startup lines the fork's CPU guide tells people to look for, in its exact form, with real figures:

    CPU Optimization: Max TTS: 2, Max Video: 1, Max Heavy Tasks: 3, Max Audio: 2, Max STT: 1
    Optimized CPU configuration: 4 cores available, using 2 threads (limit: 4)

and one more line saying which setting decided the threads.
"""

import math

from app.config import Settings
from app.limits import CpuBudget

GUIDE_NAMES = {"tts": "TTS", "video": "Video", "audio": "Audio", "stt": "STT"}
FIRST = ("tts", "video")
"""The guide's order: TTS, Video, Heavy Tasks; then every other kind's cap in the same style."""


def caps_line(settings: Settings) -> str:
    caps = settings.kind_caps()
    first = [f"Max {GUIDE_NAMES[kind]}: {caps[kind]}" for kind in FIRST]
    rest = [f"Max {GUIDE_NAMES.get(kind, kind)}: {cap}" for kind, cap in caps.items() if kind not in FIRST]
    return "CPU Optimization: " + ", ".join([*first, f"Max Heavy Tasks: {settings.max_concurrent_heavy_tasks}", *rest])


def thread_limit(settings: Settings, cores: int) -> tuple[int, str]:
    """The threads ceiling the guide's line shows (MAX_CPU_THREADS when set, else the cores' share) and the
    setting that decided the threads used."""
    by_share = max(1, math.floor(cores * settings.cpu_usage_limit))
    share = f"CPU_USAGE_LIMIT={settings.cpu_usage_limit:g} of {cores} cores ({by_share})"
    if settings.max_cpu_threads == 0:
        return by_share, f"{share}; MAX_CPU_THREADS not set"
    if settings.max_cpu_threads < by_share:
        return settings.max_cpu_threads, f"MAX_CPU_THREADS={settings.max_cpu_threads} (below {share})"
    return settings.max_cpu_threads, f"{share} (within MAX_CPU_THREADS={settings.max_cpu_threads})"


def guide_lines(settings: Settings, budget: CpuBudget) -> list[str]:
    """The guide's two lines, then which setting decided the threads."""
    limit, decided_by = thread_limit(settings, budget.cores)
    return [
        caps_line(settings),
        f"Optimized CPU configuration: {budget.cores} cores available, using {budget.threads} threads (limit: {limit})",
        f"threads decided by {decided_by}",
    ]
