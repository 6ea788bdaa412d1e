"""Live terminal view of a running server: `python -m app.monitor [URL] [--once] [--interval S]`.

Reads `GET /api/v1/system/status` every second (sends `X-API-Key` from the API_KEY environment
variable when it is set). Ctrl-C exits; while the server is down it says so and keeps retrying.
`--once` prints one frame to stdout and exits (status 1 when the server did not answer).
"""

import argparse
import os
import sys
import time
from datetime import datetime
from typing import Any

import httpx
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

STATUS_PATH = "/api/v1/system/status"
DEFAULT_URL = "http://127.0.0.1:8000"


def fetch(client: httpx.Client, url: str) -> dict[str, Any]:
    response = client.get(url.rstrip("/") + STATUS_PATH)
    response.raise_for_status()
    status: dict[str, Any] = response.json()  # the status endpoint answers a JSON object
    return status


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} %"


def _durations(values: list[float]) -> str:
    if not values:
        return "–"
    mean = sum(values) / len(values)
    last = ", ".join(f"{v:.1f}" for v in values[-3:])
    return f"mean {mean:.2f} s (last {last})"


def render_status(status: dict[str, Any], url: str) -> Group:
    cpu, memory, budget = status["cpu"], status["memory"], status["budget"]
    cores = status["cores"]
    overview = Table(title=f"{url}  ·  {datetime.now():%H:%M:%S}  ·  up {status['uptime_s']:.0f} s", show_header=False)
    overview.add_column(style="bold cyan", no_wrap=True)
    overview.add_column()
    overview.add_row(
        "CPU",
        f"server {_pct(cpu['process_percent'])} of one core ({_pct(cpu['process_percent_of_machine'])} of machine), "
        f"machine {_pct(cpu['machine_percent'])}, {cores['logical']} cores ({cores['available']} usable)",
    )
    overview.add_row(
        "Memory",
        f"server RSS {memory['process_rss_mb']:.0f} MB, machine available {memory['machine_available_mb']:.0f} "
        f"of {memory['machine_total_mb']:.0f} MB",
    )
    load = status.get("load_average")
    overview.add_row("Load", " ".join(f"{v:.2f}" for v in load) if load else "–")
    pinned = budget.get("pinned_cores") or "all"
    overview.add_row(
        "Budget",
        f"{budget['threads']} thread{'s' if budget['threads'] != 1 else ''} of {budget['cores']} cores, "
        f"nice {budget['nice']}, cores {pinned}",
    )
    model = status["model"]
    if model["available"]:
        overview.add_row(
            "Model",
            f"{model['engine']} · default voice {model['default_voice']} · {model['weights']}",
        )
    else:
        overview.add_row("Model", Text(f"unavailable: {model.get('reason')}", style="red"))
    engine = status.get("engine_process")
    if engine:
        alive = (
            f"pid {engine['pid']}" if engine["pid"] else Text("not running (starts on the next request)", style="red")
        )
        overview.add_row("Engine", Text.assemble("process ", alive, f" · restarts {engine['restarts']}"))

    admission = status["admission"]
    kinds = Table(title="Jobs per kind")
    for column in ("kind", "running", "queued", "cap", "peak"):
        kinds.add_column(column, justify="right" if column != "kind" else "left")
    kinds.add_column("recent durations")
    for kind, figures in admission["kinds"].items():
        kinds.add_row(
            kind,
            str(figures["running"]),
            str(figures["queued"]),
            str(figures["cap"]),
            str(figures["peak_running"]),
            _durations(figures.get("recent_durations_s", [])),
        )
    heavy = admission["heavy"]
    kinds.add_row(
        "all heavy",
        str(heavy["running"]),
        str(admission["queued_total"]),
        str(heavy["cap"]),
        str(heavy["peak_running"]),
        f"waiting room {admission['max_queued']}, refused (429) {admission['rejected']}",
        style="dim",
    )

    recent = Table(title="Recent jobs")
    for column in ("ended", "kind", "outcome", "ran s", "queued s"):
        recent.add_column(column)
    for job in status.get("recent_jobs", [])[:5]:
        ended = datetime.fromtimestamp(job["finished_at"]).strftime("%H:%M:%S") if job.get("finished_at") else "–"
        outcome = Text(job["outcome"], style="green" if job["outcome"] == "ready" else "red")
        ran = "–" if job.get("duration_s") is None else f"{job['duration_s']:.2f}"
        queued = "–" if job.get("queued_s") is None else f"{job['queued_s']:.2f}"
        recent.add_row(ended, job["kind"], outcome, ran, queued)
    parts = [overview, kinds]
    if "workers" in admission:
        parts.append(_workers(admission["workers"]))
    if recent.row_count:
        parts.append(recent)
    return Group(*parts)


def _workers(workers: list[dict[str, Any]]) -> Table:
    """Cluster mode: each live worker with its caps, load, running jobs and last heartbeat."""
    table = Table(title=f"Workers ({len(workers)} live)" if workers else "Workers: none live, no job can start")
    for column in ("worker", "host", "caps", "running", "load", "heartbeat"):
        table.add_column(column)
    for worker in workers:
        caps = " ".join(f"{kind}={cap}" for kind, cap in worker["caps"].items())
        running = " ".join(f"{kind}={n}" for kind, n in worker["running"].items() if n) or "–"
        table.add_row(
            worker["id"][:8],
            f"{worker['host']} ({worker['pid']})",
            f"{caps} heavy={worker['heavy_cap']}",
            running,
            f"{worker['load']:.0%}",
            f"{worker['last_heartbeat_s_ago']:.1f} s ago",
        )
    return table


def render_down(url: str, error: str, title: str = "server down") -> Panel:
    return Panel(
        Text(f"{datetime.now():%H:%M:%S}  server at {url} is not answering: {error}\nretrying every second…"),
        title=title,
        border_style="red",
    )


def frame(client: httpx.Client, url: str) -> tuple[Group | Panel, bool]:
    try:
        return render_status(fetch(client, url), url), True
    except httpx.HTTPStatusError as exc:
        hint = " (set API_KEY)" if exc.response.status_code == 401 else ""
        return render_down(url, f"HTTP {exc.response.status_code}{hint}", "server error"), False
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return render_down(url, str(exc) or type(exc).__name__), False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.monitor", description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default=DEFAULT_URL)
    parser.add_argument("--once", action="store_true", help="print one frame and exit")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    args = parser.parse_args(argv)
    headers = {"X-API-Key": os.environ["API_KEY"]} if os.environ.get("API_KEY") else {}
    with httpx.Client(headers=headers, timeout=5) as client:
        if args.once:
            renderable, ok = frame(client, args.url)
            Console(width=max(100, Console().width)).print(renderable)
            return 0 if ok else 1
        console = Console()
        try:
            with Live(frame(client, args.url)[0], console=console, refresh_per_second=4) as live:
                while True:
                    time.sleep(args.interval)
                    live.update(frame(client, args.url)[0])
        except KeyboardInterrupt:
            console.print("\nmonitor stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
