"""What one simulated service is: its source, task capacity, buffering, protection and the
timeouts of its drain (the simulator's settings, consumer/capacity/autoscale_sim.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from consumer.capacity.autoscale_sim_tasks import Protection


@dataclass(frozen=True, slots=True)
class SimConfig:
    source: Literal["sqs", "kinesis"] = "sqs"
    kinesis_driver: Literal["polling", "kcl"] = "kcl"
    shards: int = 1
    per_task_records_per_s: float = 2000.0
    startup_s: float = 60.0
    buffer_max_age_s: float = 5.0
    buffer_max_records: int = 500  # consumer/pipeline/route.py BufferConfig default
    task_vcpu: float = 1.0
    task_memory_gb: float = 2.0
    initial_tasks: int | None = None  # tasks running at t = 0 (default: min tasks)
    workload: Literal["records", "jobs"] = "records"  # jobs: the rate is jobs per second
    protection: Protection = "none"
    idle_release_s: float = 5.0  # [protection] idle_release_s (protection = "stream")
    expires_in_minutes: int = 10  # [protection] expires_in_minutes
    job_duration_s: float = 600.0  # workload = "jobs": one job's run time
    drain_flush_s: float = 1.0  # a stopping task's final flush: sink writes and ack
    receive_wait_s: float = 20.0  # SQS long poll its receivers finish before exit
    shutdown_timeout_s: float = 25.0  # sluice's shutdown.timeout_s
    visibility_timeout_s: float = 60.0  # SQS: an unacked message is visible again after it
    lease_failover_s: float = 10.0  # KCL failoverTimeMillis: a shard's next owner reads again
    lease_takeover_s: float = 20.0  # KCL: SIGTERM to a stopped worker's shards read again
    memory_percent: float = 30.0  # a task's memory utilization (flat: buffers are small)
    metric_delay_s: float = 0.0  # from a datapoint's period end to its alarm's evaluation
    legacy_scaling: bool = False  # the policies before issue 21: Kinesis on CPU alone,
    # no memory policy, no surge step policy
