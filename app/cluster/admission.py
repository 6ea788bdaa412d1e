"""Admission across the cluster: start now, wait in the cluster's waiting room, or 429, decided in one Lua script
against the capacity the live workers advertise (a worker silent for WORKER_TIMEOUT_S leaves it)."""

import json
import math
import time
from dataclasses import dataclass
from typing import Any

import redis

from app.cluster import keys
from app.cluster.redis_errors import redis_unreachable
from app.cluster.registry import live_workers
from app.config import Settings
from app.errors import Busy, ServiceUnavailable
from app.jobs.kinds import JobKind, typical_duration_s
from app.limits import RetryPromises, Ticket
from app.services.storage import new_file_id

RECENT = 20  # run times kept per kind for the mean
NO_WORKER = (
    "No worker is running, so no job can start: start one with `python -m app.worker` (BACKEND=cluster, the same "
    "REDIS_URL and S3_* settings); /health lists the live workers."
)

ADMIT = """
local now, timeout = tonumber(ARGV[1]), tonumber(ARGV[2])
local kind, job_id = ARGV[3], ARGV[4]
local max_queued, max_wait, within = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local defaults, kinds, prefix = cjson.decode(ARGV[8]), cjson.decode(ARGV[9]), ARGV[10]
redis.call('zremrangebyscore', KEYS[1], '-inf', now - timeout)
local live = redis.call('zrange', KEYS[1], 0, -1)
local caps, heavy, index = {}, 0, 0
for i, k in ipairs(kinds) do caps[k] = 0; if k == kind then index = i end end
for _, id in ipairs(live) do
  local raw = redis.call('hget', prefix .. 'worker:' .. id, 'caps')
  if raw then
    local c = cjson.decode(raw)
    heavy = heavy + c.heavy
    for _, k in ipairs(kinds) do caps[k] = caps[k] + (c.kinds[k] or 0) end
  end
end
local cap = caps[kind]
if heavy == 0 or cap == 0 then return {'none', '0', 0, 0, 0} end
local counts, running_sum, total = {}, 0, 0
for i, k in ipairs(kinds) do
  counts[k] = redis.call('zcard', KEYS[1 + i])
  running_sum = running_sum + math.min(counts[k], caps[k])
  total = total + counts[k]
end
local queued = total - math.min(running_sum, heavy)
local recent = redis.call('lrange', KEYS[1 + #kinds + index], 0, -1)
local mean = defaults[kind]
if #recent > 0 then
  local sum = 0
  for _, d in ipairs(recent) do sum = sum + tonumber(d) end
  mean = sum / #recent
end
local n = counts[kind]
local state = 'busy'
if queued == 0 and n < cap and running_sum < heavy then
  state = 'start'
else
  local start = math.max(0, n + 1 - cap) * mean / cap
  if queued < max_queued and start <= max_wait and (within < 0 or start + mean <= within) then state = 'queued' end
end
if state ~= 'busy' and job_id ~= '' then redis.call('zadd', KEYS[1 + index], now, job_id) end
return {state, tostring(mean), n, cap, queued}
"""


@dataclass
class ClusterTicket(Ticket):
    """A job admitted by the cluster: its id is reserved in the kind's active set until the job ends."""

    job_id: str = ""


@dataclass(frozen=True)
class Decision:
    state: str  # start | queued | busy | none
    mean_s: float
    active: int  # this kind's admitted jobs that have not ended
    cap: int  # this kind's slots on the live workers
    queued: int  # the cluster's waiting room, all kinds


class ClusterAdmission:
    """The `Admission` interface of a web node in cluster mode; the counters live in Redis."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self._redis = client
        self._script = client.register_script(ADMIT)
        self.max_queued = settings.max_queued_jobs
        self.max_queue_wait_s = settings.max_queue_wait_s
        self.max_queue_wait_async_s = settings.max_queue_wait_async_s or math.inf
        self.worker_timeout_ms = int(settings.worker_timeout_s * 1000)
        self.promises = RetryPromises()
        self.rejected = 0

    def queue_bound_s(self, detached: bool) -> float:
        """As `Admission.queue_bound_s`: MAX_QUEUE_WAIT_ASYNC_S for a detached (202) client, else MAX_QUEUE_WAIT_S."""
        return self.max_queue_wait_async_s if detached else self.max_queue_wait_s

    def _door_bound_s(self) -> float:
        return max(self.max_queue_wait_s, self.max_queue_wait_async_s)

    def _decide(self, kind: str, job_id: str, finish_within_s: float | None, bound_s: float) -> Decision:
        args: list[str | int | float] = [
            int(time.time() * 1000),
            self.worker_timeout_ms,
            kind,
            job_id,
            self.max_queued,
            bound_s if math.isfinite(bound_s) else 1e12,
            -1 if finish_within_s is None else finish_within_s,
            json.dumps({k: typical_duration_s(k) for k in JobKind}),
            json.dumps(list(JobKind)),
            keys.PREFIX,
        ]
        script_keys = [keys.WORKERS, *(keys.active(k) for k in JobKind), *(keys.durations(k) for k in JobKind)]
        with redis_unreachable():
            state, mean, active, cap, queued = self._script(keys=script_keys, args=args)
        return Decision(str(state), float(mean), int(active), int(cap), int(queued))

    def admit(
        self, kind: str, finish_within_s: float | None = None, client: str | None = None, detached: bool = False
    ) -> ClusterTicket:
        """Reserve a place for one `kind` job (its id is the ticket's `job_id`), or raise Busy / ServiceUnavailable."""
        ticket = ClusterTicket(kind, job_id=new_file_id())
        bound = self.queue_bound_s(detached)
        decision = self._decide(kind, ticket.job_id, finish_within_s, bound)
        self._raise_unless_admitted(kind, decision, client, bound)
        if decision.state == "start":
            ticket.granted.set()
        return ticket

    def has_room(self, kind: str) -> bool:
        """Whether some request for `kind` could be admitted now (nothing reserved, nothing promised)."""
        return self._decide(kind, "", None, self._door_bound_s()).state in ("start", "queued")

    def check_room(self, kind: str, client: str | None = None) -> None:
        """Raise as `admit` would, reserving nothing."""
        bound = self._door_bound_s()
        self._raise_unless_admitted(kind, self._decide(kind, "", None, bound), client, bound)

    def _raise_unless_admitted(self, kind: str, decision: Decision, client: str | None, bound_s: float) -> None:
        if decision.state == "none":
            raise ServiceUnavailable(NO_WORKER)
        if decision.state == "busy":
            self.rejected += 1
            retry = self._retry_after(kind, decision, client, bound_s)
            raise Busy(
                f"The cluster is busy with {kind} jobs (every worker's slots and the waiting room are taken); "
                f"retry in {retry} s.",
                retry_after=retry,
            )

    def _retry_after(self, kind: str, decision: Decision, client: str | None, bound_s: float) -> int:
        """As a single machine computes it (`Admission._promise_retry`), on the cluster's counts."""
        share = decision.mean_s / decision.cap
        queued_here = max(0, decision.active - decision.cap)
        if decision.queued >= self.max_queued:
            opens_in = (queued_here + 1) * share
        else:
            start = max(0, decision.active + 1 - decision.cap) * share
            opens_in = max(0.0, start - bound_s) + share
        return self.promises.promise(kind, client, share, opens_in, decision.active * share + share)

    def release(self, ticket: Ticket, duration_s: float | None = None) -> None:
        """Give back a ticket's place (a job cancelled while it waited, or never recorded)."""
        if isinstance(ticket, ClusterTicket) and not ticket.released:
            ticket.released = True
            with redis_unreachable():
                self._redis.zrem(keys.active(ticket.kind), ticket.job_id)

    def mean_duration(self, kind: str) -> float:
        with redis_unreachable():
            recent = [float(value) for value in self._redis.lrange(keys.durations(kind), 0, RECENT - 1)]
        return sum(recent) / len(recent) if recent else typical_duration_s(kind)

    @property
    def caps(self) -> dict[str, int]:
        """Slots per kind on the live workers."""
        return {
            kind: sum(w.caps.get(kind, 0) for w in live_workers(self._redis, self.worker_timeout_ms))
            for kind in JobKind
        }

    def running(self, kind: str | None = None) -> int:
        workers = live_workers(self._redis, self.worker_timeout_ms)
        return sum(w.running.get(kind, 0) if kind else sum(w.running.values()) for w in workers)

    def snapshot(self) -> dict[str, Any]:
        """The shape of `Admission.snapshot`, for the cluster, with its workers."""
        workers = live_workers(self._redis, self.worker_timeout_ms)
        with redis_unreachable():
            active = {kind: int(self._redis.zcard(keys.active(kind))) for kind in JobKind}
        caps = {kind: sum(w.caps.get(kind, 0) for w in workers) for kind in JobKind}
        heavy_cap = sum(w.heavy for w in workers)
        running = {kind: sum(w.running.get(kind, 0) for w in workers) for kind in JobKind}
        queued = {kind: max(0, active[kind] - running[kind]) for kind in JobKind}
        return {
            "heavy": {"running": sum(running.values()), "cap": heavy_cap, "peak_running": sum(running.values())},
            "queued_total": sum(queued.values()),
            "max_queued": self.max_queued,
            "rejected": self.rejected,
            "kinds": {
                kind: {
                    "running": running[kind],
                    "queued": queued[kind],
                    "cap": caps[kind],
                    "peak_running": running[kind],
                    "peak_queued": queued[kind],
                    "recent_durations_s": [round(float(d), 3) for d in self._redis.lrange(keys.durations(kind), 0, -1)],
                }
                for kind in JobKind
            },
            "workers": [w.describe() for w in workers],
        }
