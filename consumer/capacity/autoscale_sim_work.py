"""What the simulated tasks do with their load, and what a task given SIGTERM does with what
it holds.

Records (a stream consumer on SQS or Kinesis, `StreamWork`): the ready tasks share the
backlog evenly, up to `per_task_records_per_s` each; a task buffers what it processed
and flushes (writes every sink, then acks) a cut when it holds `buffer_max_records`, and
the rest every `buffer_max_age_s` (each task at its own phase, so a stopping task holds
anything from nothing to a full cut, as on a real service). On SIGTERM (consumer/cli/main.py,
the KCL daemon's graceful shutdown) the task stops reading and flushes the cut it holds,
which takes `drain_flush_s`; an SQS task then waits for its receivers' long polls
(`receive_wait_s`) before it exits. All of it is capped by sluice's `shutdown.timeout_s` and the ECS
`stopTimeout` (whichever is shorter; past it the process exits or is killed). A flush is
all or nothing (nothing is acked before every sink confirmed), so a cut whose flush does
not end within the cap is not lost but delayed: its SQS messages become visible again
when their visibility timeout lapses, its Kinesis records are read again from the last
checkpoint by the shard's next owner after the lease fails over. Those records go back on
the backlog then and are counted as `drain_delayed`.

On the KCL path a stopped task's shards are read by nobody until another worker takes
their leases, `lease_takeover_s` after the SIGTERM (the lease expires after
`failoverTimeMillis`, then the next lease taker run picks it up): the share of the stream
those shards carry (one over the tasks running before the stop) piles up unseen, and
nobody's KinesisRecordsBehind counts it until the new owner reads it. `visible_backlog`
is what the backlog metric sees; `backlog` is all of it.

Jobs (`sluice jobs`, `JobWork`): the profile's rate is jobs per second; a ready task runs
one job at a time for `job_duration_s`. A task stopped while a job runs (only a runner
without protection can be) loses that run: the job cannot finish within the stop timeout,
so its message comes back after the visibility timeout and runs again from the start
(`jobs_interrupted`). An idle runner exits once its long poll returns.

`Ledger.lost` is what no flush, backlog, buffer or pending redelivery accounts for; it
must stay 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from consumer.capacity.autoscale_sim_tasks import SimTask

if TYPE_CHECKING:
    from consumer.capacity.autoscale_sim_config import SimConfig


@dataclass
class Ledger:
    """Where the offered records (or jobs) went."""

    offered: float = 0.0
    done: float = 0.0  # records acked by a flush (drains included), or jobs finished
    drains: int = 0  # tasks that got SIGTERM while ready
    drain_flushed: float = 0.0  # records a stopping task flushed and acked in its drain
    drain_delayed: float = 0.0  # records it could not flush in time: redelivered later
    longest_drain_s: float = 0.0
    jobs_interrupted: int = 0
    lost: float = 0.0  # set at the end of the run


class Work(Protocol):
    ledger: Ledger

    def tick(self, t: float, offered: float, workers: list[SimTask]) -> tuple[float, float]:
        """Arrivals and processing of second `t`: (processed per second, busy share)."""

    def backlog(self) -> float:
        """Records (or jobs) waiting at the source."""

    def visible_backlog(self) -> float:
        """What the backlog metric sees of it (not the shards nobody holds a lease on)."""

    def release(self, share: float, at: float) -> None:
        """A stopping task held `share` of the source's partitions (KCL: its leases)."""

    def latency_s(self, processed: float, offered: float, workers: int) -> float:
        """Estimated time from arrival to done, now."""

    def stop(self, task: SimTask, at: float) -> None:
        """SIGTERM lands on a ready task at `at`: set its drain."""

    def drain(self, task: SimTask, t: float) -> None:
        """A stopping task's progress at `t`."""

    def exited(self, task: SimTask, t: float) -> None:
        """A stopping task's process ended at `t`: what it still held is redelivered."""

    def held(self, tasks: list[SimTask]) -> float:
        """Work not done yet: backlog, buffers or running jobs, pending redeliveries."""


@dataclass
class _Redeliveries:
    pending: list[tuple[float, float]] = field(default_factory=list)  # (visible again at, n)

    def add(self, at: float, count: float) -> None:
        self.pending.append((at, count))

    def due(self, t: float) -> float:
        count = sum(n for at, n in self.pending if at <= t)
        self.pending = [(at, n) for at, n in self.pending if at > t]
        return count

    def total(self) -> float:
        return sum(n for _, n in self.pending)


@dataclass
class _Handover:
    """Shards whose lease no one holds yet: what arrives on them waits unseen."""

    ends_at: float
    share: float
    held: float


class StreamWork:
    def __init__(self, config: SimConfig, cap_s: float) -> None:
        self.config, self.cap_s = config, cap_s
        sqs = config.source == "sqs"
        self.redelivery_s = config.visibility_timeout_s if sqs else config.lease_failover_s
        self.exit_wait_s = config.receive_wait_s if sqs else 0.0
        self.flush_every_s = max(round(config.buffer_max_age_s), 1)
        self.leases = config.source == "kinesis" and config.kinesis_driver == "kcl"
        self.queue = 0.0
        self.handovers: list[_Handover] = []
        self.redeliveries = _Redeliveries()
        self.ledger = Ledger()

    def tick(self, t: float, offered: float, workers: list[SimTask]) -> tuple[float, float]:
        self.ledger.offered += offered
        arrived = self._arrive(t, offered)  # first: it may return taken-over shards' records
        self.queue += arrived + self.redeliveries.due(t)
        capacity = len(workers) * self.config.per_task_records_per_s
        processed = min(self.queue, capacity)
        self.queue -= processed
        share = processed / len(workers) if workers else 0.0
        for task in workers:
            self._buffer(task, share, t)
        return processed, (processed / capacity if capacity else 0.0)

    def _arrive(self, t: float, offered: float) -> float:
        """What of `offered` lands on shards someone reads; taken-over shards' records
        join the backlog when their new owner starts reading."""
        for handover in [h for h in self.handovers if h.ends_at <= t]:
            self.queue += handover.held
            self.handovers.remove(handover)
        orphaned = min(1.0, sum(h.share for h in self.handovers))
        for handover in self.handovers:
            handover.held += offered * handover.share / max(orphaned, 1.0)
        return offered * (1.0 - orphaned)

    def release(self, share: float, at: float) -> None:
        if not self.leases:
            return
        held = self.queue * share
        self.queue -= held
        self.handovers.append(_Handover(at + self.config.lease_takeover_s, share, held))

    def _buffer(self, task: SimTask, share: float, t: float) -> None:
        if share > 0:
            task.last_work_at = t
        task.buffered += share
        cut = self.config.buffer_max_records
        if task.buffered >= cut:  # full cuts go out at once
            self._flush(task, math.floor(task.buffered / cut) * cut)
        if task.buffered > 0 and (int(t) + task.phase) % self.flush_every_s == 0:
            self._flush(task, task.buffered)  # its oldest record reached the max age

    def _flush(self, task: SimTask, records: float) -> None:
        self.ledger.done += records
        task.buffered -= records
        if task.buffered <= 1e-9:
            task.buffered = 0.0

    def backlog(self) -> float:
        return self.queue + sum(h.held for h in self.handovers)

    def visible_backlog(self) -> float:
        return self.queue

    def latency_s(self, processed: float, offered: float, workers: int) -> float:
        return self.backlog() / max(processed, offered, 1e-9) + self.config.buffer_max_age_s

    def stop(self, task: SimTask, at: float) -> None:
        flush_s = self.config.drain_flush_s if task.buffered > 0 else 0.0
        task.flush_at = at + flush_s  # after exits_at: the watchdog or SIGKILL came first
        drain_s = min(flush_s + self.exit_wait_s, self.cap_s)
        task.exits_at = at + drain_s
        self.ledger.drains += 1
        self.ledger.longest_drain_s = max(self.ledger.longest_drain_s, drain_s)

    def drain(self, task: SimTask, t: float) -> None:
        if task.flush_at is not None and task.flush_at <= t and task.buffered > 0:
            self.ledger.drain_flushed += task.buffered
            self._flush(task, task.buffered)

    def exited(self, task: SimTask, t: float) -> None:
        if task.buffered > 0:
            self.ledger.drain_delayed += task.buffered
            self.redeliveries.add(t + self.redelivery_s, task.buffered)
            task.buffered = 0.0

    def held(self, tasks: list[SimTask]) -> float:
        buffered = sum(task.buffered for task in tasks)
        return self.backlog() + buffered + self.redeliveries.total()


class JobWork:
    def __init__(self, config: SimConfig, cap_s: float) -> None:
        self.config, self.cap_s = config, cap_s
        self.owed = 0.0  # fraction of a job not arrived yet
        self.queue = 0.0
        self.redeliveries = _Redeliveries()
        self.ledger = Ledger()

    def tick(self, t: float, offered: float, workers: list[SimTask]) -> tuple[float, float]:
        self.owed += offered
        arrived = math.floor(self.owed)
        self.owed -= arrived
        self.ledger.offered += arrived
        self.queue += arrived + self.redeliveries.due(t)
        finished = 0
        for task in workers:
            if task.job_ends_at is not None and task.job_ends_at <= t:
                task.job_ends_at = None
                finished += 1
        for task in workers:  # a runner receives its next message at once
            if task.job_ends_at is None and self.queue >= 1:
                self.queue -= 1
                task.job_ends_at = t + self.config.job_duration_s
                task.last_work_at = t
        self.ledger.done += finished
        busy = sum(1 for task in workers if task.job_ends_at is not None)
        return float(finished), (busy / len(workers) if workers else 0.0)

    def backlog(self) -> float:
        return self.queue

    def visible_backlog(self) -> float:
        return self.queue

    def release(self, share: float, at: float) -> None:
        return None

    def latency_s(self, processed: float, offered: float, workers: int) -> float:
        return (self.queue / max(workers, 1) + 1) * self.config.job_duration_s

    def stop(self, task: SimTask, at: float) -> None:
        if task.job_ends_at is not None:  # killed mid-run: the message comes back later
            self.ledger.jobs_interrupted += 1
            self.redeliveries.add(at + self.cap_s + self.config.visibility_timeout_s, 1)
            task.job_ends_at = None
        drain_s = min(self.config.receive_wait_s, self.cap_s)
        task.exits_at = at + drain_s
        self.ledger.drains += 1
        self.ledger.longest_drain_s = max(self.ledger.longest_drain_s, drain_s)

    def drain(self, task: SimTask, t: float) -> None:
        return None

    def exited(self, task: SimTask, t: float) -> None:
        return None

    def held(self, tasks: list[SimTask]) -> float:
        running = sum(1 for task in tasks if task.job_ends_at is not None)
        return self.queue + running + self.redeliveries.total()
