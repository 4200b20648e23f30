"""What a KCL child sends through its channel: JSON log lines, EMF lines, progress reports.

Each piece plugs into what the rest of sluice already uses: a logging handler (the JSON
formatter of `consumer.logs`), an `EmfWriter` (the `EmfMetrics` hook), and a `Hook` that
turns the processor's polls and flushes into progress reports for the wrapper's health
endpoint and its KinesisRecordsBehind. None of them ever writes to stdout, which carries
the daemon's protocol. `OutputEmfWriter` is the wrapper's side: its own EMF records,
printed through the same `Output` as the children's lines.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aws_embedded_metrics.logger.metrics_context import MetricsContext
from aws_embedded_metrics.serializers.log_serializer import LogSerializer

from consumer.delivery.hooks import FlushInfo, Hook
from consumer.runtime.metrics import EmfWriter, MetricsConfig
from consumer.sources.kcl.channel import STDERR, STDOUT, ChannelClient
from consumer.sources.kcl.relay import Output


class ChannelLogHandler(logging.Handler):
    """Log records as JSON lines for the wrapper's stderr (where `sluice run` logs)."""

    def __init__(self, channel: ChannelClient) -> None:
        super().__init__()
        self.channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.channel.line(line, STDERR)


class ChannelEmfWriter(EmfWriter):
    """EMF records as lines for the wrapper's stdout (`metrics.sink = "stdout"`, as the
    service writes them) or its stderr (`"stderr"`), one record a line."""

    def __init__(self, channel: ChannelClient, sink: str) -> None:
        super().__init__(MetricsConfig(sink="off"))
        self.channel = channel
        self.tag = STDOUT if sink == "stdout" else STDERR

    def write(self, context: MetricsContext) -> None:
        for line in LogSerializer.serialize(context):
            self.channel.line(line, self.tag)


class OutputEmfWriter(EmfWriter):
    """EMF records of `sluice kcl run` itself, one record a line through its `Output`:
    on stdout (`metrics.sink = "stdout"`) or stderr (`"stderr"`)."""

    def __init__(self, output: Output, sink: str) -> None:
        super().__init__(MetricsConfig(sink="off"))
        self.output = output
        self.tag = STDOUT if sink == "stdout" else STDERR

    def write(self, context: MetricsContext) -> None:
        for line in LogSerializer.serialize(context):
            self.output.line(self.tag, line.encode("utf-8"))


class ProgressReport(Hook):
    """Tells the wrapper the child is answering the daemon: a heartbeat on every
    processRecords call (the daemon makes them even with no records) and flush, and a
    report when the shard starts and stops here.

    Every report carries the child's whole state (buffering or not, the last flush error,
    the records it is behind on its shard when `measure` is set), so a heartbeat dropped
    for want of room loses nothing the next one does not repeat.
    """

    def __init__(self, channel: ChannelClient) -> None:
        self.channel = channel
        self.shard = ""
        self.busy = False
        self.error: str | None = None
        self.measure: Callable[[], float] | None = None
        """The shard's records behind (`KclShard.records_behind`), once the processor is
        built."""

    def _report(self, event: str, *, wait: bool = False, **fields: object) -> None:
        if self.measure is not None:
            fields["behind"] = round(self.measure(), 1)
        self.channel.progress(
            event, wait=wait, shard=self.shard, busy=self.busy, error=self.error, **fields
        )

    def started(self, shard: str) -> None:
        self.shard = shard
        self._report("started", wait=True)

    def stopped(self, why: str) -> None:
        """Lease lost, shard ended or shutdown: the daemon calls this child no more."""
        self._report("stopped", wait=True, why=why)

    def on_poll(self, source: str) -> None:
        self._report("poll")

    def on_buffering(self, source: str) -> None:
        self.busy = True
        self._report("busy")

    def on_idle(self, source: str) -> None:
        self.busy = False
        self._report("idle")

    def on_flushed(self, info: FlushInfo) -> None:
        self.error = None
        self._report("flushed")

    def on_flush_failed(self, source: str, error: BaseException) -> None:
        self.error = repr(error)[:500]
        self._report("failed")
