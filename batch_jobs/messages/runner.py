"""Consume job messages from SQS and run them once each (see `batch_jobs.messages.spec`).

A job runs here (`launch = "inline"`, small work), or, with `launch = "ecs"`, is started
as a one-off ECS task of the same image running the job's command (large work): the
ledger keeps the task's ARN and the message is deleted once RunTask accepted it. The jobs
a message may name are the one registry's (batch_jobs/registry.py): functions registered
with `@job`, and the pipeline jobs of `sluice batch run`, which run through `dispatch`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from batch_jobs.messages.dispatch import BatchDispatch
from batch_jobs.messages.spec import JobLedger, JobRejected, JobSpec, parse
from batch_jobs.registry import JOBS, Job
from consumer.aws.ecs import EcsLauncher
from consumer.runtime.protection import ScaleInProtection
from consumer.sources.sqs import queues
from consumer.sources.sqs.inflight import Heartbeat, InFlight, change_visibility

log = logging.getLogger(__name__)


@dataclass
class JobCounts:
    ran: int = 0
    skipped_done: int = 0
    left_busy: int = 0
    failed: int = 0
    rejected: int = 0
    launched: int = 0


@dataclass
class JobRunner:
    client: Any
    queue: str
    dlq: str | None
    ledger: JobLedger
    jobs: Mapping[str, Job] = field(default_factory=lambda: JOBS)
    visibility_timeout_s: int = 60
    backoff_base_s: int = 10
    backoff_max_s: int = 900
    wait_time_s: int = 20
    stop: threading.Event = field(default_factory=threading.Event)
    counts: JobCounts = field(default_factory=JobCounts)
    dispatch: BatchDispatch | None = None
    """Runs pipeline jobs (here or as ECS tasks); without it messages naming one are refused."""
    launcher: EcsLauncher | None = None
    protection: ScaleInProtection | None = None
    """ECS scale-in protection, held exactly while a job runs here (not while waiting)."""

    def run(self, until_idle: bool = False, max_messages: int | None = None) -> JobCounts:
        url = queues.queue_url(self.client, self.queue)
        dlq_url = queues.queue_url(self.client, self.dlq) if self.dlq else None
        max_receives = queues.max_receive_count(self.client, url)
        inflight = InFlight()
        heartbeat = Heartbeat(
            self.client,
            url,
            inflight,
            self.visibility_timeout_s / 3,
            self.visibility_timeout_s,
            43_200,
        )
        heartbeat.start()
        if self.protection is not None:
            self.protection.start()
        seen = 0
        try:
            while not self.stop.is_set() and (max_messages is None or seen < max_messages):
                messages = self.client.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=1,
                    WaitTimeSeconds=self.wait_time_s,
                    VisibilityTimeout=self.visibility_timeout_s,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if not messages:
                    if until_idle:
                        break
                    continue
                message = messages[0]
                seen += 1
                inflight.add(message["ReceiptHandle"], message["MessageId"])
                try:
                    self._one(url, dlq_url, max_receives, message)
                finally:
                    inflight.remove([message["ReceiptHandle"]])
        finally:
            heartbeat.stop()
            if self.protection is not None:
                self.protection.stop()
        return self.counts

    def _one(
        self, url: str, dlq_url: str | None, max_receives: int | None, message: dict[str, Any]
    ) -> None:
        handle = message["ReceiptHandle"]
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        try:
            spec = self._parse(message["Body"])
        except JobRejected as exc:
            self.counts.rejected += 1
            self._to_dlq(url, dlq_url, message, "validate", "JobRejected", str(exc), attempt)
            return
        outcome = self.ledger.claim(spec.idempotency_key, spec.job)
        if outcome == "done":
            self.counts.skipped_done += 1
            queues.delete(self.client, url, [handle])
            return
        if outcome == "busy":
            self.counts.left_busy += 1
            change_visibility(self.client, url, [handle], self.backoff_base_s)
            return
        task_arn = None
        try:
            if spec.launch == "ecs":
                task_arn = self._launch(spec)
            else:
                self._run(spec)
        except Exception as exc:
            self.counts.failed += 1
            self.ledger.release(spec.idempotency_key)
            log.warning(
                "job failed", extra={"job": spec.job, "error": repr(exc), "attempt": attempt}
            )
            if dlq_url and max_receives is not None and attempt >= max_receives:
                self._to_dlq(url, dlq_url, message, "job", type(exc).__name__, str(exc), attempt)
            else:
                delay = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
                change_visibility(self.client, url, [handle], delay)
            return
        self.ledger.complete(spec.idempotency_key, task_arn=task_arn)
        queues.delete(self.client, url, [handle])
        if task_arn is None:
            self.counts.ran += 1
        else:
            self.counts.launched += 1
            log.info("job launched", extra={"job": spec.job, "task_arn": task_arn})

    def _parse(self, body: str) -> JobSpec:
        spec = parse(body, set(self.jobs))
        job = self.jobs[spec.job]
        if job.on_pipeline:
            if self.dispatch is None:
                raise JobRejected(f"{spec.job!r} runs over a pipeline file: this runner has none")
            self.dispatch.check(spec)
        if spec.launch == "ecs" and not job.on_pipeline:
            pipeline = sorted(n for n, j in self.jobs.items() if j.on_pipeline)
            raise JobRejected(f"launch='ecs' is for batch jobs ({pipeline}), not {spec.job!r}")
        if spec.launch == "ecs" and self.launcher is None:
            raise JobRejected("launch='ecs' but this runner has no ECS settings (SLUICE_ECS_*)")
        return spec

    def _run(self, spec: JobSpec) -> None:
        if self.protection is None:
            self._run_here(spec)
            return
        with self.protection.unit(f"job {spec.job} {spec.idempotency_key}"):
            self._run_here(spec)

    def _run_here(self, spec: JobSpec) -> None:
        job = self.jobs[spec.job]
        if job.function is not None:
            job.function(spec.params)
        else:
            assert self.dispatch is not None
            self.dispatch.run(spec)

    def _launch(self, spec: JobSpec) -> str:
        assert self.dispatch is not None and self.launcher is not None
        return self.launcher.run_task(
            self.dispatch.command(spec),
            started_by=f"sluice-{spec.job}",
            client_token=spec.idempotency_key,
        )

    def _to_dlq(
        self,
        url: str,
        dlq_url: str | None,
        message: dict[str, Any],
        stage: str,
        error_type: str,
        text: str,
        attempt: int,
    ) -> None:
        if dlq_url is None:
            log.error(
                "job message rejected and no DLQ configured; left on the queue",
                extra={"error": text},
            )
            return
        reason = {
            "stage": stage,
            "error_type": error_type,
            "message": text,
            "source_queue": url.rsplit("/", 1)[-1],
            "receive_count": str(attempt),
        }
        queues.send_to_dlq(self.client, dlq_url, message, reason, url.endswith(".fifo"))
        queues.delete(self.client, url, [message["ReceiptHandle"]])
