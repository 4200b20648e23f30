"""Step Functions in the embedded emulator, running state machines as AWS does.

moto ships an ASL interpreter (LocalStack's) that really executes a state machine: Pass,
Task, Parallel, Map, Retry with backoff, Catch, timeouts, the context object, intrinsic
functions, and the SNS and DynamoDB integrations, whose calls reach this same server. It
is off by default (executions then stay RUNNING forever); its `ecs:runTask.sync`
integration is unfinished: it hands the definition's PascalCase parameters (`Cluster`,
`TaskDefinition`, `Overrides`) to RunTask unconverted, reads the answer with the wrong
case, takes a stopped task for a success whatever its exit code, and listens for a task
token as well, which a retry finds already spent (the retry then times out at once); and
a `States.`
error (`States.TaskFailed`, `States.Timeout`) that leaves a Map iteration or a Parallel
branch crashes the interpreter instead of failing the Map or Parallel state with it, so
no Catch around them ever runs.

`install(port)` turns executions on and completes the interpreter in this process:
- RunTask gets the API's own parameter names and its answer is returned in Step Functions'
  PascalCase (`TaskArn`, `LastStatus`, `Containers`, ...), as AWS returns it;
- `.sync` waits (for the task, not for a task token) until it is STOPPED, then, as AWS
  does, fails the state with
  `States.TaskFailed` (the task's description as the cause) when a container exited
  non-zero or never started, and succeeds it otherwise;
- RunTask's `Failures` fail the state with `AmazonECS.Unknown`;
- a failed Map iteration or Parallel branch fails its state with the error it ended with,
  `States.` errors included, as the ASL specification says.

Who runs the tasks is `consumer.local.emulator_ecs.LocalEcsAgent`, which also reports a
container's exit code when it stops a task. Only the embedded emulator installs this;
LocalStack and AWS need nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import Any

import orjson


def install(port: int) -> None:
    """Execute state machines on the server listening on `port`, in this process."""
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"]["execute_state_machine"] = True
    # The interpreter's service integrations call back into the server at this port.
    os.environ["MOTO_PORT"] = str(port)
    _complete_ecs_integration()
    _propagate_states_errors()


@cache
def _propagate_states_errors() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        iteration_worker,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl

    iteration_worker.CustomErrorName = _error_name  # type: ignore[attr-defined,assignment]
    branches_decl.CustomErrorName = _error_name  # type: ignore[attr-defined,assignment]


def _error_name(error_name: str | None) -> Any:
    """The name of an error that ended a branch or an iteration: a `States.` name is one
    of the language's own, any other a custom one."""
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )

    if error_name is not None and error_name.startswith("States."):
        return StatesErrorName.from_name(error_name)
    return CustomErrorName(error_name=error_name)


@cache
def _complete_ecs_integration() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_ecs as ecs_module,
    )

    service = ecs_module.StateTaskServiceEcs
    service._eval_service_task = _eval_service_task  # type: ignore[method-assign]
    service._build_sync_resolver = _build_sync_resolver  # type: ignore[method-assign]
    wait = service._eval_sync

    def eval_sync(
        self: Any,
        env: Any,
        sync_resolver: Any,
        timeout_seconds: Any,
        callback_endpoint: Any,
        heartbeat_endpoint: Any,
    ) -> Any:
        return wait(self, env, sync_resolver, timeout_seconds, None, heartbeat_endpoint)

    service._eval_sync = eval_sync  # type: ignore[method-assign]


def _client(resource_runtime_part: Any, state_credentials: Any) -> Any:
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

    return boto_client_for(
        region=resource_runtime_part.region,
        service="ecs",
        state_credentials=state_credentials,
    )


def _eval_service_task(
    self: Any,
    env: Any,
    resource_runtime_part: Any,
    normalised_parameters: dict[str, Any],
    state_credentials: Any,
) -> None:
    """RunTask with the API's parameter names; the task's description, PascalCase."""
    ecs = _client(resource_runtime_part, state_credentials)
    operation = ecs.meta.service_model.operation_model("RunTask")
    parameters = dict(normalised_parameters)
    self._to_boto_request(parameters, operation.input_shape)
    response = ecs.run_task(**parameters)
    if response.get("failures"):
        raise _failure(env, "AmazonECS.Unknown", orjson.dumps(response["failures"]).decode())
    described = ecs.describe_tasks(
        cluster=response["tasks"][0]["clusterArn"], tasks=[response["tasks"][0]["taskArn"]]
    )
    env.stack.append(_pascal(self, ecs, described))


def _build_sync_resolver(
    self: Any,
    env: Any,
    resource_runtime_part: Any,
    normalised_parameters: dict[str, Any],
    state_credentials: Any,
) -> Callable[[], Any]:
    """Wait for the task to stop; fail the state as AWS does when it did not end well."""
    ecs = _client(resource_runtime_part, state_credentials)
    submitted = env.stack.pop()
    task_arn = submitted["Tasks"][0]["TaskArn"]
    cluster_arn = submitted["Tasks"][0]["ClusterArn"]

    def resolve() -> Any:
        described = ecs.describe_tasks(cluster=cluster_arn, tasks=[task_arn])
        task = described["tasks"][0]
        if task.get("lastStatus") != "STOPPED":
            return None
        task_out = _pascal(self, ecs, described)["Tasks"][0]
        if not ended_well(task):
            raise _failure(env, "States.TaskFailed", orjson.dumps(task_out, default=str).decode())
        return task_out

    return resolve


def ended_well(task: dict[str, Any]) -> bool:
    """A stopped ECS task counts as a success for `.sync` when every container ran and
    exited 0 (the stop code of a task that could not start is TaskFailedToStart)."""
    if task.get("stopCode") == "TaskFailedToStart":
        return False
    containers = task.get("containers") or []
    return bool(containers) and all(c.get("exitCode") == 0 for c in containers)


def _pascal(service: Any, ecs: Any, response: dict[str, Any]) -> dict[str, Any]:
    """A DescribeTasks answer with Step Functions' field names (`Tasks`, `TaskArn`)."""
    body = orjson.loads(orjson.dumps(response, default=str))
    body.pop("ResponseMetadata", None)
    service._from_boto_response(
        body, ecs.meta.service_model.operation_model("DescribeTasks").output_shape
    )
    return dict(body)


def _failure(env: Any, error: str, cause: str) -> Exception:
    """The state's failure event: a `States.` error or a service error, as AWS names it."""
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )

    name: Any = (
        StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed)
        if error == "States.TaskFailed"
        else CustomErrorName(error_name=error)
    )
    details = TaskFailedEventDetails(
        resourceType="ecs", resource="runTask.sync", error=error, cause=cause
    )
    event_details: Any = {"taskFailedEventDetails": details}
    return FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=name,
            event_type=HistoryEventType.TaskFailed,
            event_details=event_details,
        )
    )
