"""The simulated ECS service's tasks: start-up, scale-in protection and who ECS stops.

ECS's side (`Fleet.reconcile`, run every simulated second): when the desired count is
above the tasks not stopping, it starts tasks (ready `startup_s` later); when below, it
stops the excess, tasks still starting first, then ready tasks that are **not protected**
(any of them: ECS does not know which task is idle; a seeded choice, so runs repeat).
A protected task is never stopped: when the desired count asks for fewer tasks than are
protected, the extra tasks keep running (running count above desired) until their
protection is released or expires, and ECS stops them then. A stopped ready task gets
SIGTERM and runs its drain (consumer/capacity/autoscale_sim_work.py) until `exits_at`, billed until
then.

The task's side (what consumer/runtime/protection.py does): `hold` sets protection for
`ExpiresInMinutes` and renews it 60 s before it expires while the holder still needs it;
`release` drops it. Which tasks hold it is the simulator's `protection` option
(`apply_protection`): none (a stream consumer, the default), stream (the legacy
`[protection] stream = true`: from a buffered record until idle for `idle_release_s`) or
jobs (a job runner, exactly while a job runs).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Literal

Protection = Literal["none", "stream", "jobs"]
RENEW_BEFORE_S = 60.0  # consumer/runtime/protection.py renews 60 s before the expiry


@dataclass(eq=False)
class SimTask:
    """One task: when it is ready, what it holds, and whether ECS is stopping it."""

    ready_at: float
    buffered: float = 0.0  # records processed and buffered, not yet flushed (streams)
    phase: int = 0  # its max-age flushes fall on seconds t with (t + phase) % max age == 0
    job_ends_at: float | None = None  # the running job's end (job runners)
    last_work_at: float = -math.inf  # last second it took work (buffered a record, a job)
    protected_until: float = 0.0  # ECS treats it as protected while t < this
    stopped_at: float | None = None  # SIGTERM
    flush_at: float | None = None  # the drain's final flush is acked then (None: it is not)
    exits_at: float | None = None

    def ready(self, t: float) -> bool:
        return self.stopped_at is None and self.ready_at <= t

    def protected(self, t: float) -> bool:
        return t < self.protected_until

    def hold(self, t: float, expires_s: float) -> None:
        """Take protection, or renew it when it expires within RENEW_BEFORE_S."""
        if t >= self.protected_until - RENEW_BEFORE_S:
            self.protected_until = t + expires_s

    def release(self) -> None:
        self.protected_until = 0.0


def apply_protection(
    task: SimTask, t: float, protection: Protection, idle_release_s: float, expires_s: float
) -> None:
    """What the task's protection holder does at second `t` (after its work for `t`)."""
    if protection == "none" or task.stopped_at is not None:
        return
    if protection == "jobs":
        busy = task.job_ends_at is not None
    elif task.last_work_at == t:
        busy = True
    elif t - task.last_work_at >= idle_release_s:
        busy = False
    else:
        return  # buffered within idle_release_s: kept, not renewed until work resumes
    if busy:
        task.hold(t, expires_s)
    elif task.protected_until:
        task.release()


@dataclass
class Fleet:
    """Every task ECS bills: starting, ready, and stopping (draining) ones."""

    startup_s: float
    buffer_phases: int = 1  # tasks' max-age flushes are out of step, as on a real service
    tasks: list[SimTask] = field(default_factory=list)
    started: int = 0
    chooser: random.Random = field(default_factory=lambda: random.Random(17))  # reproducible

    def start(self, count: int, ready_at: float) -> None:
        for serial in range(self.started, self.started + count):
            self.tasks.append(SimTask(ready_at, phase=serial % self.buffer_phases))
        self.started += count

    def ready(self, t: float) -> list[SimTask]:
        return [task for task in self.tasks if task.ready(t)]

    def active(self) -> list[SimTask]:
        """Tasks ECS counts towards the desired count: not stopping."""
        return [task for task in self.tasks if task.stopped_at is None]

    def draining(self) -> list[SimTask]:
        return [task for task in self.tasks if task.stopped_at is not None]

    def protected(self, t: float) -> int:
        return sum(1 for task in self.tasks if task.stopped_at is None and task.protected(t))

    def reconcile(self, desired: int, t: float) -> list[SimTask]:
        """Start or stop tasks towards `desired`; the ready tasks given SIGTERM now."""
        active = self.active()
        if len(active) < desired:
            self.start(desired - len(active), t + self.startup_s)
            return []
        excess = len(active) - desired
        starting = [task for task in reversed(active) if task.ready_at > t]
        stoppable = [task for task in active if task.ready(t) and not task.protected(t)]
        self.chooser.shuffle(stoppable)  # ECS does not know which task is idle
        victims = (starting + stoppable)[:excess]
        cancelled = [task for task in victims if task.ready_at > t]  # nothing read yet
        self.tasks = [task for task in self.tasks if task not in cancelled]
        stopped = [task for task in victims if task.ready_at <= t]
        for task in stopped:
            task.stopped_at = t
        return stopped

    def exit(self, t: float) -> list[SimTask]:
        """Remove and return the tasks whose drain ended by `t`."""
        gone = [task for task in self.tasks if task.exits_at is not None and task.exits_at <= t]
        self.tasks = [task for task in self.tasks if task not in gone]
        return gone
