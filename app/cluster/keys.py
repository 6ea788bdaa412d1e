"""The Redis keys of the cluster's own state (the job and file records have theirs in `app.cluster.records`)."""

PREFIX = "media:"
WORKERS = f"{PREFIX}workers"
"""Sorted set: worker id -> time of its last heartbeat (ms)."""
CATALOG = f"{PREFIX}catalog"
"""What the workers' speech engine offers (engine, voices, languages), for the web nodes' request checks."""
EVENTS = f"{PREFIX}events"
"""Pub/sub channel of job events (queued, progress, ready, failed) for every node's live stream."""
QUEUE_NAMESPACE = "media-queue"
"""The Dramatiq broker's namespace: its queues are `media-queue:<kind>`."""


def worker(worker_id: str) -> str:
    """Hash: a worker's caps, load, host and start time."""
    return f"{PREFIX}worker:{worker_id}"


def active(kind: str) -> str:
    """Sorted set: the ids of admitted `kind` jobs that have not ended (running or waiting) -> admitted at (ms)."""
    return f"{PREFIX}active:{kind}"


def durations(kind: str) -> str:
    """List: the run times (s) of the last `kind` jobs, newest first."""
    return f"{PREFIX}durations:{kind}"


def attempts(job_id: str) -> str:
    """Counter: how many times a worker started the job."""
    return f"{PREFIX}attempts:{job_id}"


def ended(job_id: str) -> str:
    """Set once by the one attempt whose end (ready or failed) counts."""
    return f"{PREFIX}ended:{job_id}"


CANCELLED_BY_WEB = "cancelled"
"""The end claim a web node sets when it cancels a job no worker has taken."""
