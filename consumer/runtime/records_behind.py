"""`KinesisRecordsBehind`: every `metrics.records_behind_interval_s` (10 s) a Kinesis
consumer task emits, as one high-resolution EMF record, how many records it is behind on
the shards it holds (consumer/sources/kinesis/behind.py per shard, summed). No CloudWatch
call: the record goes where the task's other metrics go (stdout for awslogs by default).

Every task emits it, also at 0 and with no shard at all, so the metric's Average over a
period is the records behind per task: the KCL service's target-tracking policy and its
surge alarm (infra/terraform/modules/consumer_service) track it. `sluice run` emits the
polling reader's; `sluice kcl run` sums what its children report on their channel.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from aws_embedded_metrics.logger.metrics_context import MetricsContext
from aws_embedded_metrics.storage_resolution import StorageResolution

from consumer.runtime.metrics import COUNT, EmfWriter

log = logging.getLogger(__name__)

METRIC = "KinesisRecordsBehind"


class RecordsBehindEmitter:
    """Emits `measure()` as KinesisRecordsBehind every `interval_s` on a daemon thread."""

    def __init__(
        self,
        measure: Callable[[], float | None],
        writer: EmfWriter,
        namespace: str,
        service: str,
        interval_s: float,
    ) -> None:
        self.measure = measure
        self.writer = writer
        self.namespace = namespace
        self.service = service
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="records-behind", daemon=True)

    def emit_once(self) -> float | None:
        """Measure and emit once; the value emitted (None: the source does not know)."""
        value = self.measure()
        if value is None:
            return None
        context = MetricsContext(namespace=self.namespace)
        context.set_dimensions([{"service": self.service}])
        context.put_metric(METRIC, round(value, 1), COUNT, StorageResolution.HIGH)
        self.writer.write(context)
        return value

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            try:
                self.emit_once()
            except Exception:
                log.exception("KinesisRecordsBehind not emitted")
            if self._stop.wait(self.interval_s):
                return
