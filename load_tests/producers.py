"""Load producers: Kinesis (PutRecords) and SQS (SendMessageBatch) at a profile's rate.

Each event is `{"type": "load", "id", "key", "seq", "ts"}` with `ts` the send time (epoch
seconds), so the scenario runner can measure event time to write time. Keys are spread
evenly over `keys` partition keys, or skewed (`hot_share` of the records on one key).
A producer sends what the profile owes every `tick_s`, stops at the profile's end,
`max_records` or `max_s`, whichever comes first, and reports what it sent.

    python -m load_tests.producers --target kinesis --stream s --rate 200 --duration-s 30
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import orjson

from consumer.aws.clients import AwsClients
from consumer.capacity.load_profiles import LoadProfile
from consumer.local.producer import MAX_BATCH, aggregate_groups, put_all

SQS_BATCH = 10


@dataclass
class Sent:
    target: str
    profile: str
    records: int = 0
    requests: int = 0
    failed_entries_retried: int = 0
    elapsed_s: float = 0.0
    per_second: list[int] = field(default_factory=list)  # records sent in each second
    ids: list[str] = field(default_factory=list, repr=False)
    sent_at: list[float] = field(default_factory=list, repr=False)  # event `ts` per id

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("ids")
        out.pop("sent_at")
        out["achieved_rate"] = self.records / self.elapsed_s if self.elapsed_s else 0.0
        return out


@dataclass
class Events:
    keys: int = 16
    skew: Literal["spread", "skewed"] = "spread"
    hot_share: float = 0.8
    seed: int = 1
    _seq: Counter[str] = field(default_factory=Counter)
    _count: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def next(self) -> tuple[str, str, bytes, float]:
        """(id, partition key, body, ts) of the next event, stamped now."""
        index, self._count = self._count, self._count + 1
        hot = self.skew == "skewed" and self._rng.random() < self.hot_share
        key = "k0" if hot else f"k{index % self.keys}"
        seq, self._seq[key] = self._seq[key], self._seq[key] + 1
        event_id = f"l{index}"
        ts = time.time()
        body = {"type": "load", "id": event_id, "key": key, "seq": seq, "ts": ts}
        return event_id, key, orjson.dumps(body), ts


Send = Callable[[list[tuple[str, bytes]]], tuple[int, int]]  # -> (requests, retried)


def pace(
    profile: LoadProfile,
    send: Send,
    sent: Sent,
    events: Events,
    max_records: int | None = None,
    max_s: float | None = None,
    tick_s: float = 0.1,
) -> Sent:
    """Send what the profile owes each tick until its end, `max_records` or `max_s`."""
    start = time.monotonic()
    limit_s = min(profile.duration_s, max_s or profile.duration_s)
    owed = 0.0
    while (now := time.monotonic() - start) < limit_s:
        owed += profile.rate_at(now) * tick_s
        count = int(owed)
        if max_records is not None:
            count = min(count, max_records - sent.records)
        if count > 0:
            owed -= count
            batch = [events.next() for _ in range(count)]
            requests, retried = send([(key, body) for _, key, body, _ in batch])
            sent.records += count
            sent.requests += requests
            sent.failed_entries_retried += retried
            sent.ids += [event_id for event_id, _, _, _ in batch]
            sent.sent_at += [ts for _, _, _, ts in batch]
            second = int(time.monotonic() - start)
            sent.per_second += [0] * (second + 1 - len(sent.per_second))
            sent.per_second[second] += count
        if max_records is not None and sent.records >= max_records:
            break
        time.sleep(max(0.0, start + now + tick_s - time.monotonic()))
    sent.elapsed_s = time.monotonic() - start
    return sent


def kinesis_sender(client: Any, stream: str, aggregate: int = 0) -> Send:
    """PutRecords in batches of up to 500, failed entries retried (consumer.local.producer);
    with `aggregate` > 1, KPL aggregates of that many user records each."""

    def send(records: list[tuple[str, bytes]]) -> tuple[int, int]:
        packed = aggregate_groups(records, aggregate) if aggregate > 1 else records
        put_all(client, stream, packed)
        return -(-len(packed) // MAX_BATCH), 0

    return send


def sqs_sender(client: Any, queue_url: str, max_attempts: int = 10) -> Send:
    """SendMessageBatch in tens; failed entries sent again with a backoff."""

    def send(records: list[tuple[str, bytes]]) -> tuple[int, int]:
        requests = retried = 0
        for start in range(0, len(records), SQS_BATCH):
            entries = [
                {"Id": str(i), "MessageBody": body.decode()}
                for i, (_, body) in enumerate(records[start : start + SQS_BATCH])
            ]
            for attempt in range(max_attempts):
                response = client.send_message_batch(QueueUrl=queue_url, Entries=entries)
                requests += 1
                failed = {entry["Id"] for entry in response.get("Failed", [])}
                if not failed:
                    break
                entries = [entry for entry in entries if entry["Id"] in failed]
                retried += len(entries)
                time.sleep(min(2.0, 0.05 * 2**attempt))
            else:
                raise RuntimeError(f"{len(entries)} messages could not be sent to {queue_url}")
        return requests, retried

    return send


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m load_tests.producers")
    parser.add_argument("--target", choices=["kinesis", "sqs"], required=True)
    parser.add_argument("--stream", help="Kinesis stream name")
    parser.add_argument("--queue", help="SQS queue name")
    parser.add_argument("--shape", default="steady", help="steady|step|ramp|spike|diurnal")
    parser.add_argument("--rate", type=float, required=True, help="base records/s")
    parser.add_argument("--duration-s", type=float, required=True)
    parser.add_argument("--factor", type=float, default=10.0)
    parser.add_argument("--max-records", type=int)
    parser.add_argument("--max-s", type=float, help="stop after this long")
    parser.add_argument("--keys", type=int, default=16)
    parser.add_argument("--skew", choices=["spread", "skewed"], default="spread")
    parser.add_argument("--aggregate", type=int, default=0, help="KPL: user records/aggregate")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    profile = LoadProfile(
        shape=args.shape, rate=args.rate, duration_s=args.duration_s, factor=args.factor
    )
    aws = AwsClients()
    if args.target == "kinesis":
        send = kinesis_sender(aws.client("kinesis"), args.stream, args.aggregate)
    else:
        client = aws.client("sqs")
        send = sqs_sender(client, client.get_queue_url(QueueName=args.queue)["QueueUrl"])
    events = Events(args.keys, args.skew)
    sent = pace(profile, send, Sent(args.target, args.shape), events, args.max_records, args.max_s)
    sys.stdout.write(orjson.dumps(sent.summary(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
