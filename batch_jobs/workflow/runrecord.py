"""Run records in DynamoDB: one item per workflow run and one per unit of work.

Table keys: `run_id` (hash, S) and `item` (range, S): `run` for the run itself,
`unit#<unit id>` per unit. The orchestrator starts each attempt (state `running`,
`attempts` + 1, the task ARN when the unit runs on ECS); whoever runs the unit, inline or
in its ECS task, finishes it (`succeeded` with the job's summary as outputs, or `failed`
with the error), conditionally on the attempt it ran, so a late writer of an old attempt
changes nothing. `sluice batch status RUN` reads it all back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from botocore.exceptions import ClientError

RUN = "run"
TERMINAL = ("succeeded", "failed")


def create_runs_table(client: Any, table: str) -> None:
    try:
        client.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "run_id", "AttributeType": "S"},
                {"AttributeName": "item", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "run_id", "KeyType": "HASH"},
                {"AttributeName": "item", "KeyType": "RANGE"},
            ],
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise


class RunRecords:
    def __init__(self, client: Any, table: str, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.table = table
        self.clock = clock

    def start_run(self, run_id: str, workflow: str, launch: str) -> bool:
        """Record a new run; False when the run exists already (a resumed run)."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item=_item(
                    run_id,
                    RUN,
                    workflow=workflow,
                    state="running",
                    launch=launch,
                    started_at=self.clock(),
                ),
                ConditionExpression="attribute_not_exists(run_id)",
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        self._update(run_id, RUN, {"state": "running", "error": None, "finished_at": None})
        return False

    def end_run(self, run_id: str, state: str, error: str | None = None) -> None:
        self._update(run_id, RUN, {"state": state, "error": error, "finished_at": self.clock()})

    def begin_attempt(self, run_id: str, unit: str, step: str, job: str) -> int:
        """Start the next attempt of `unit`; returns its number (1 for the first)."""
        response = self.client.update_item(
            TableName=self.table,
            Key=_key(run_id, "unit#" + unit),
            UpdateExpression="SET #state = :running, step = :step, job = :job, "
            "updated_at = :now, attempts = if_not_exists(attempts, :zero) + :one "
            "REMOVE #error",
            ExpressionAttributeNames={"#state": "state", "#error": "error"},
            ExpressionAttributeValues={
                ":running": {"S": "running"},
                ":step": {"S": step},
                ":job": {"S": job},
                ":now": {"N": repr(self.clock())},
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
            },
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["attempts"]["N"])

    def set_task(self, run_id: str, unit: str, task_arn: str) -> None:
        self._update(run_id, "unit#" + unit, {"task_arn": task_arn})

    def finish(
        self,
        run_id: str,
        unit: str,
        attempt: int,
        state: str,
        outputs: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """Finish attempt `attempt`; False when another attempt has begun since."""
        values = {"state": state, "outputs": orjson.dumps(outputs or {}).decode(), "error": error}
        try:
            self._update(run_id, "unit#" + unit, values, only_attempt=attempt)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def read(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Every item of a run: `run` and `unit#...`, as plain values."""
        items: dict[str, dict[str, Any]] = {}
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "run_id = :r",
            "ExpressionAttributeValues": {":r": {"S": run_id}},
            "ConsistentRead": True,
        }
        while True:
            page = self.client.query(**kwargs)
            for item in page.get("Items", []):
                items[item["item"]["S"]] = {k: _plain(v) for k, v in item.items()}
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def units(self, run_id: str) -> dict[str, dict[str, Any]]:
        return {
            key.removeprefix("unit#"): value
            for key, value in self.read(run_id).items()
            if key.startswith("unit#")
        }

    def _update(
        self,
        run_id: str,
        item: str,
        values: Mapping[str, Any],
        only_attempt: int | None = None,
    ) -> None:
        names = {f"#a{i}": name for i, name in enumerate(values)}
        sets = [f"#a{i} = :v{i}" for i, (_, v) in enumerate(values.items()) if v is not None]
        removes = [f"#a{i}" for i, (_, v) in enumerate(values.items()) if v is None]
        expression = " ".join(
            part
            for part in (
                "SET " + ", ".join(sets) if sets else "",
                "REMOVE " + ", ".join(removes) if removes else "",
            )
            if part
        )
        attribute_values = {
            f":v{i}": _value(v) for i, v in enumerate(values.values()) if v is not None
        }
        extra: dict[str, Any] = {}
        if only_attempt is not None:
            extra["ConditionExpression"] = "attempts = :attempt"
            attribute_values[":attempt"] = {"N": str(only_attempt)}
        self.client.update_item(
            TableName=self.table,
            Key=_key(run_id, item),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            **({"ExpressionAttributeValues": attribute_values} if attribute_values else {}),
            **extra,
        )


def _key(run_id: str, item: str) -> dict[str, Any]:
    return {"run_id": {"S": run_id}, "item": {"S": item}}


def _item(run_id: str, item: str, **values: Any) -> dict[str, Any]:
    return {**_key(run_id, item), **{k: _value(v) for k, v in values.items()}}


def _value(value: Any) -> dict[str, str]:
    if isinstance(value, int | float):
        return {"N": repr(value)}
    return {"S": str(value)}


def _plain(value: Mapping[str, Any]) -> Any:
    if "N" in value:
        number = float(value["N"])
        return int(number) if number.is_integer() else number
    return value.get("S")
