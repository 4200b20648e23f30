"""CloudWatch Embedded Metric Format, one small set of records per flush (never per record).

The names, units and dimensions are the contract in docs/metrics.md; dashboards, alarms and
autoscaling read them. Records are serialized by aws-embedded-metrics and written to
stdout (the service), stderr, a file, or the CloudWatch agent. A KCL child must never use
stdout: stdout carries its protocol.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Literal, TextIO

from aws_embedded_metrics.logger.metrics_context import MetricsContext
from aws_embedded_metrics.serializers.log_serializer import LogSerializer
from pydantic import BaseModel, ConfigDict, Field

from consumer.delivery.hooks import FlushInfo, Hook
from consumer.pipeline.quarantine import QUARANTINE_ROUTE

COUNT, MS, SECONDS, NONE = "Count", "Milliseconds", "Seconds", "None"

# The contract (docs/metrics.md): name -> (unit, dimension sets it is emitted with).
SOURCE, ROUTE, ERROR = (
    ("service", "source"),
    ("service", "source", "route"),
    ("service", "source", "stage", "error_type"),
)
CONTRACT: dict[str, tuple[str, tuple[tuple[str, ...], ...]]] = {
    "RecordsIn": (COUNT, (SOURCE,)),
    "RecordsWritten": (COUNT, (SOURCE,)),
    "RecordsQuarantined": (COUNT, (SOURCE, ERROR)),
    "RecordsFiltered": (COUNT, (SOURCE,)),
    "RecordsDropped": (COUNT, (SOURCE,)),
    "RecordsRetried": (COUNT, (SOURCE,)),
    "BatchSize": (COUNT, (SOURCE,)),
    "FlushLatency": (MS, (SOURCE,)),
    "EndToEndLag": (MS, (SOURCE,)),
    "IteratorAge": (MS, (SOURCE,)),
    "SqsOldestMessageAge": (SECONDS, (SOURCE,)),
    "RowsWritten": (COUNT, (ROUTE,)),
    "FlushFailures": (COUNT, (SOURCE,)),
    "BacklogPerTask": (COUNT, (("service",),)),
    "KinesisRecordsBehind": (COUNT, (("service",),)),
    "QualityScore": (NONE, (ROUTE,)),
    "QualityBatchesFailed": (COUNT, (ROUTE,)),
    "QualityAlerts": (COUNT, (SOURCE, ROUTE)),
    "RowsCorrected": (COUNT, (ROUTE,)),
}


class MetricsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sink: Literal["stdout", "stderr", "file", "agent", "off"] = "stdout"
    path: str | None = Field(None, description="file for sink = 'file'")
    agent_endpoint: str | None = Field(
        None, description="tcp://host:port or udp://host:port of the CloudWatch agent"
    )
    log_group: str = Field("sluice", description="log group named to the agent")
    namespace: str = "sluice"
    service: str | None = Field(None, description="the `service` dimension; the app name")
    records_behind_interval_s: float = Field(
        10.0,
        ge=0,
        description="how often a Kinesis consumer emits KinesisRecordsBehind (0: never)",
    )


class EmfWriter:
    """Serializes contexts to EMF JSON lines on a stream or to the agent."""

    def __init__(self, config: MetricsConfig) -> None:
        self._lock = threading.Lock()
        self._stream: TextIO | None = None
        self._agent: Any = None
        if config.sink == "stdout":
            self._stream = sys.stdout
        elif config.sink == "stderr":
            self._stream = sys.stderr
        elif config.sink == "file":
            if not config.path:
                raise ValueError("metrics.path is required when metrics.sink = 'file'")
            self._stream = Path(config.path).open("a", encoding="utf-8")  # noqa: SIM115
        elif config.sink == "agent":
            import os

            from aws_embedded_metrics.sinks.agent_sink import AgentSink

            if config.agent_endpoint:
                os.environ["AWS_EMF_AGENT_ENDPOINT"] = config.agent_endpoint
            self._agent = AgentSink(config.log_group)

    def write(self, context: MetricsContext) -> None:
        """Thread-safe: the flush hooks and the KinesisRecordsBehind emitter share it."""
        if self._agent is not None:
            with self._lock:
                self._agent.accept(context)
            return
        if self._stream is None:
            return
        lines = LogSerializer.serialize(context)
        with self._lock:
            self._stream.write("".join(line + "\n" for line in lines))
            self._stream.flush()


class EmfMetrics(Hook):
    """Emits the metrics contract after every flush, failed flush and retry."""

    def __init__(
        self,
        config: MetricsConfig,
        service: str,
        writer: EmfWriter | None = None,
        clock: Any = time.time,
    ) -> None:
        self.config = config
        self.service = config.service or service
        self.writer = writer or EmfWriter(config)
        self.clock = clock

    def _context(self, dimensions: dict[str, str]) -> MetricsContext:
        context = MetricsContext(namespace=self.config.namespace)
        context.set_dimensions([{"service": self.service, **dimensions}])
        return context

    def on_flushed(self, info: FlushInfo) -> None:
        cut, source = info.cut, {"source": info.source}
        written = cut.records - cut.quarantined - cut.filtered
        summary = self._context(source)
        for name, value, unit in [
            ("RecordsIn", cut.records, COUNT),
            ("RecordsWritten", written, COUNT),
            ("RecordsQuarantined", cut.quarantined, COUNT),
            ("RecordsFiltered", cut.filtered, COUNT),
            ("RecordsDropped", cut.records - written - cut.quarantined - cut.filtered, COUNT),
            ("RecordsRetried", info.retried_rows, COUNT),
            ("BatchSize", cut.records, COUNT),
            ("FlushLatency", info.latency_s * 1000, MS),
        ]:
            summary.put_metric(name, value, unit)
        if cut.oldest_arrival is not None:
            lag_s = max(0.0, info.finished_at - cut.oldest_arrival)
            summary.put_metric("EndToEndLag", lag_s * 1000, MS)
            if info.source_type == "sqs":
                summary.put_metric("SqsOldestMessageAge", lag_s, SECONDS)
        if info.iterator_age_ms is not None:
            summary.put_metric("IteratorAge", info.iterator_age_ms, MS)
        self.writer.write(summary)
        self._per_route(info)
        self._per_error(info)
        self._quality(info)

    def _per_route(self, info: FlushInfo) -> None:
        rows = Counter[str]()
        for batch in info.cut.batches:
            if batch.route != QUARANTINE_ROUTE:
                rows[batch.route] += len(batch.rows)
        for route, count in sorted(rows.items()):
            context = self._context({"source": info.source, "route": route})
            context.put_metric("RowsWritten", count, COUNT)
            self.writer.write(context)

    def _per_error(self, info: FlushInfo) -> None:
        errors = Counter[tuple[str, str]]()
        for batch in info.cut.batches:
            if batch.route == QUARANTINE_ROUTE:
                errors.update((row["stage"], row["error_type"]) for row in batch.rows)
        for (stage, error_type), count in sorted(errors.items()):
            context = self._context(
                {"source": info.source, "stage": stage, "error_type": error_type}
            )
            context.put_metric("RecordsQuarantined", count, COUNT)
            self.writer.write(context)

    def _quality(self, info: FlushInfo) -> None:
        """One record per gated batch: its score, whether it failed, alerted, and repairs."""
        for result in info.cut.quality:
            context = self._context({"source": info.source, "route": result.route})
            context.put_metric("QualityScore", result.score, NONE)
            context.put_metric("QualityBatchesFailed", int(not result.passed), COUNT)
            context.put_metric("QualityAlerts", int(result.decision == "write_and_alert"), COUNT)
            context.put_metric("RowsCorrected", result.corrected, COUNT)
            self.writer.write(context)
        if info.cut.quality:  # per source too, for the alarm (routes are not alarm dimensions)
            context = self._context({"source": info.source})
            alerts = sum(r.decision == "write_and_alert" for r in info.cut.quality)
            context.put_metric("QualityAlerts", alerts, COUNT)
            self.writer.write(context)

    def on_flush_failed(self, source: str, error: BaseException) -> None:
        context = self._context({"source": source})
        context.put_metric("FlushFailures", 1, COUNT)
        self.writer.write(context)

    def on_retried(self, source: str, records: int) -> None:
        context = self._context({"source": source})
        context.put_metric("RecordsRetried", records, COUNT)
        self.writer.write(context)


def emf_hook(
    config: MetricsConfig, service: str, writer: EmfWriter | None = None
) -> EmfMetrics | None:
    """The metrics hook of a consumer (the service, a KCL child), or None when metrics are
    off; `writer` replaces where the records go (a KCL child's channel)."""
    if config.sink == "off":
        return None
    return EmfMetrics(config, service, writer=writer)
