"""A workflow file compiled to an AWS Step Functions state machine (Amazon States Language).

The same steps, units and retries as `runner.py`, run by Step Functions instead of a
sluice process:

- the run is an execution and its id the execution's name (`$$.Execution.Name`): Step
  Functions refuses a second execution of that name, so a run started twice runs once;
- the run record (`run` item of the runs table) is put when the execution starts and
  updated when it ends, so `sluice batch status RUN` reads a Step Functions run as any other;
- steps run in order, each a Parallel state with one branch per task;
- a task is one ECS task (`arn:aws:states:::ecs:runTask.sync`, which waits for it to stop);
  a task with `parts = N` is a Map over its N parts (`MaxConcurrency` = `max_concurrency`),
  each iteration one ECS task; the container runs
  `batch workflow unit FILE --run-id RUN --unit STEP.TASK --part i/N`, which records its
  attempt in the run record itself;
- a unit is retried (`max_attempts` - 1 times, from `retry_interval_s`, doubling, with
  jitter) and each attempt limited to `unit_timeout_s`;
- a step that fails is caught: the run record is marked failed, the failure published to
  `notify_topic_arn` (a JSON message: workflow, run id, step, error, cause) and the
  execution fails.

The deployment's values (cluster, task definition, network, runs table, topic) come from a
`StepFunctionsTarget`; `TEMPLATE` holds Terraform `templatefile` placeholders instead, which
the `step_functions_workflow` module fills in (infra/terraform/).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from batch_jobs.workflow.config import StepSpec, TaskSpec, WorkflowConfig

RUN_TASK = "arn:aws:states:::ecs:runTask.sync"
PUT_ITEM = "arn:aws:states:::dynamodb:putItem"
UPDATE_ITEM = "arn:aws:states:::dynamodb:updateItem"
PUBLISH = "arn:aws:states:::sns:publish"
RUN_NAME = "$$.Execution.Name"


@dataclass(frozen=True)
class StepFunctionsTarget:
    """Where and how the units run: an ECS cluster, the batch task definition (its full ARN
    with revision, so an execution runs the image that was deployed with it), the container
    whose command is replaced, the awsvpc network; and the workflow's runs table and topic
    as deployed."""

    cluster: str
    task_definition: str
    container: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    workflow_file: str
    """The workflow file inside the image, as the unit command names it."""
    runs_table: str
    notify_topic_arn: str | None
    assign_public_ip: bool = False
    launch_type: str = "FARGATE"


def template_target(workflow_file: str) -> StepFunctionsTarget:
    """Terraform `templatefile` placeholders for every deployment value. A list is one
    placeholder inside the list (`["${subnet_ids}"]`) that Terraform fills with the ids
    joined by `", "`, so the template is valid JSON before and after."""
    return StepFunctionsTarget(
        cluster="${cluster_arn}",
        task_definition="${task_definition_arn}",
        container="${container_name}",
        subnets=("${subnet_ids}",),
        security_groups=("${security_group_ids}",),
        workflow_file=workflow_file,
        runs_table="${runs_table}",
        notify_topic_arn="${notify_topic_arn}",
    )


def render(workflow: WorkflowConfig, target: StepFunctionsTarget) -> dict[str, Any]:
    """The state machine definition (a JSON object) of `workflow` on `target`."""
    states: dict[str, Any] = {
        "Record run started": {
            "Type": "Task",
            "Resource": PUT_ITEM,
            "Parameters": {
                "TableName": target.runs_table,
                "Item": {
                    "run_id": {"S.$": RUN_NAME},
                    "item": {"S": "run"},
                    "workflow": {"S": workflow.name},
                    "state": {"S": "running"},
                    "launch": {"S": "stepfunctions"},
                    "execution_arn": {"S.$": "$$.Execution.Id"},
                },
            },
            "ResultPath": None,
            "Next": workflow.steps[0].name,
        }
    }
    for index, step in enumerate(workflow.steps):
        last = index == len(workflow.steps) - 1
        following = "Record run succeeded" if last else workflow.steps[index + 1].name
        states[step.name] = _step(workflow, target, step, following)
        states[f"{step.name} failed"] = _failed(workflow, step)
    states["Record run succeeded"] = _record_end(target, "succeeded", "Run succeeded")
    states["Run succeeded"] = {"Type": "Succeed"}
    states.update(_failure_path(workflow, target))
    return {
        "Comment": f"sluice workflow {workflow.name} "
        "(sluice batch workflow render --target stepfunctions; do not edit)",
        "StartAt": "Record run started",
        "States": states,
    }


def transitions(workflow: WorkflowConfig) -> int:
    """State transitions of a run whose units all succeed at once (Step Functions bills
    Standard workflows by the transition; each retry is one more): the run record twice,
    the end, and per step its Parallel state and, per task, its unit (or the list of parts,
    the Map and one unit per part)."""
    per_task = [
        1 if task.parts == 1 else 2 + task.parts for step in workflow.steps for task in step.tasks
    ]
    return 3 + len(workflow.steps) + sum(per_task)


def _step(
    workflow: WorkflowConfig, target: StepFunctionsTarget, step: StepSpec, following: str
) -> dict[str, Any]:
    """A step: its tasks side by side; any failure goes to the step's failure state."""
    return {
        "Type": "Parallel",
        "Comment": f"step {step.name}: {len(step.tasks)} task(s) side by side",
        "Branches": [
            _branch(workflow, target, step, number, task) for number, task in enumerate(step.tasks)
        ],
        "ResultPath": None,
        "Catch": [
            {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": "$.failure",
                "Next": f"{step.name} failed",
            }
        ],
        "Next": following,
    }


def _branch(
    workflow: WorkflowConfig,
    target: StepFunctionsTarget,
    step: StepSpec,
    number: int,
    task: TaskSpec,
) -> dict[str, Any]:
    name = f"{step.name}.{number}"
    if task.parts == 1:
        unit = _unit(workflow, target, step, name, "'0/1'")
        return {"StartAt": name, "States": {name: {**unit, "End": True}}}
    parts = [f"{i}/{task.parts}" for i in range(task.parts)]
    iterator = f"{name} part"
    fan_out: dict[str, Any] = {
        "Type": "Map",
        "Comment": f"{task.job}: {task.parts} parts, each its own ECS task",
        "ItemsPath": "$.parts",
        "ItemSelector": {"part.$": "$$.Map.Item.Value"},
        "MaxConcurrency": task.max_concurrency or task.parts,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": iterator,
            "States": {iterator: {**_unit(workflow, target, step, name, "$.part"), "End": True}},
        },
        "ResultPath": None,
        "End": True,
    }
    listing = {"Type": "Pass", "Result": parts, "ResultPath": "$.parts", "Next": name}
    return {"StartAt": f"{name} parts", "States": {f"{name} parts": listing, name: fan_out}}


def _unit(
    workflow: WorkflowConfig, target: StepFunctionsTarget, step: StepSpec, task: str, part: str
) -> dict[str, Any]:
    """One unit as an ECS task that Step Functions waits for; `part` is an intrinsic
    function argument (a quoted literal or a path)."""
    command = ", ".join(
        [
            *(_literal(word) for word in ("batch", "workflow", "unit", target.workflow_file)),
            _literal("--run-id"),
            RUN_NAME,
            _literal("--unit"),
            _literal(task),
            _literal("--part"),
            part,
        ]
    )
    network = {
        "Subnets": list(target.subnets),
        "SecurityGroups": list(target.security_groups),
        "AssignPublicIp": "ENABLED" if target.assign_public_ip else "DISABLED",
    }
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": RUN_TASK,
        "Parameters": {
            "Cluster": target.cluster,
            "TaskDefinition": target.task_definition,
            "LaunchType": target.launch_type,
            "NetworkConfiguration": {"AwsvpcConfiguration": network},
            "PropagateTags": "TASK_DEFINITION",
            "Overrides": {
                "ContainerOverrides": [
                    {"Name": target.container, "Command.$": f"States.Array({command})"}
                ]
            },
        },
        "TimeoutSeconds": max(1, math.ceil(workflow.unit_timeout_s)),
        "ResultPath": None,
    }
    attempts = step.max_attempts or workflow.max_attempts
    if attempts > 1:
        state["Retry"] = [
            {
                "ErrorEquals": ["States.ALL"],
                "MaxAttempts": attempts - 1,
                "IntervalSeconds": workflow.retry_interval_s,
                "BackoffRate": 2.0,
                "JitterStrategy": "FULL",
            }
        ]
    return state


def _failed(workflow: WorkflowConfig, step: StepSpec) -> dict[str, Any]:
    """The message of a failed step (the caught error is under `$.failure`)."""
    return {
        "Type": "Pass",
        "Parameters": {
            "workflow": workflow.name,
            "run_id.$": RUN_NAME,
            "state": "failed",
            "step": step.name,
            "error.$": "$.failure.Error",
            "cause.$": "$.failure.Cause",
            "summary.$": f"States.Format('step {_escape(step.name)} failed: {{}}', "
            "$.failure.Error)",
        },
        "Next": "Record run failed",
    }


def _record_end(target: StepFunctionsTarget, state: str, following: str) -> dict[str, Any]:
    names = {"#state": "state"}
    values: dict[str, Any] = {":state": {"S": state}}
    expression = "SET #state = :state"
    if state == "failed":
        names["#error"] = "error"
        values[":error"] = {"S.$": "$.summary"}
        expression += ", #error = :error"
    return {
        "Type": "Task",
        "Resource": UPDATE_ITEM,
        "Parameters": {
            "TableName": target.runs_table,
            "Key": {"run_id": {"S.$": RUN_NAME}, "item": {"S": "run"}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": {
                "#state": "state",
                **({"#error": "error"} if state == "failed" else {}),
            },
            "ExpressionAttributeValues": values,
        },
        "ResultPath": None,
        "Next": following,
    }


def _failure_path(workflow: WorkflowConfig, target: StepFunctionsTarget) -> dict[str, Any]:
    """Record the failure, tell the topic, fail the execution. A record or a publish that
    fails is logged in the history and never hides the run's failure."""
    topic = target.notify_topic_arn
    after_record = "Notify failure" if topic else "Run failed"
    recorded = _record_end(target, "failed", after_record)
    recorded["Catch"] = [_catch(after_record, None)]
    states: dict[str, Any] = {"Record run failed": recorded}
    if topic:
        states["Notify failure"] = {
            "Type": "Task",
            "Resource": PUBLISH,
            "Parameters": {
                "TopicArn": topic,
                "Subject": f"sluice workflow {workflow.name} failed"[:100],
                "Message.$": "States.JsonToString($)",
            },
            "Retry": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "MaxAttempts": 3,
                    "IntervalSeconds": 2,
                    "BackoffRate": 2.0,
                }
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "Run failed"}],
            "ResultPath": None,
            "Next": "Run failed",
        }
    states["Run failed"] = {
        "Type": "Fail",
        "Error": "sluice.StepFailed",
        "CausePath": "$.summary",
    }
    return states


def _catch(following: str, result_path: str | None) -> dict[str, Any]:
    return {"ErrorEquals": ["States.ALL"], "ResultPath": result_path, "Next": following}


def _literal(text: str) -> str:
    """`text` as a string argument of an intrinsic function: quoted, escaped."""
    return f"'{_escape(text)}'"


def _escape(text: str) -> str:
    """The characters the intrinsic function grammar reserves in a string, escaped."""
    return "".join("\\" + c if c in "'{}\\" else c for c in text)
