"""`sluice batch workflow render FILE --target stepfunctions`: the workflow file as an
Amazon States Language definition (batch_jobs/workflow/stepfunctions.py), on stdout.

The deployment's values come from the ECS flags or `SLUICE_ECS_*` (as for `--launch ecs`)
and the workflow file (its runs table and topic, `SLUICE_WORKFLOW__*` overriding them);
`--terraform-template`, or no ECS settings at all, leaves them as the placeholders the
`step_functions_workflow` Terraform module fills in.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from batch_jobs.workflow.config import WorkflowConfig, load_workflow
from batch_jobs.workflow.stepfunctions import StepFunctionsTarget, render, template_target
from consumer.errors import ConfigError

log = logging.getLogger(__name__)


def add_render_arguments(render_parser: argparse.ArgumentParser) -> None:
    render_parser.add_argument("file", help="workflow file (TOML)")
    render_parser.add_argument(
        "--target",
        choices=["stepfunctions"],
        required=True,
        help="stepfunctions: an AWS Step Functions state machine (Amazon States Language)",
    )
    render_parser.add_argument(
        "--file-in-image",
        default=None,
        metavar="PATH",
        help="the workflow file as the unit tasks open it (default: /app/<its name>)",
    )
    render_parser.add_argument(
        "--terraform-template",
        action="store_true",
        help="placeholders for the cluster, task definition, network, runs table and topic, "
        "for the step_functions_workflow Terraform module (infra/terraform/)",
    )


def cmd_render(args: argparse.Namespace) -> int:
    workflow = load_workflow(args.file)
    in_image = args.file_in_image or f"/app/{Path(args.file).name}"
    if args.terraform_template or not _ecs_settings(args):
        if not args.terraform_template:
            log.warning(
                "no ECS settings (--ecs-cluster ... or SLUICE_ECS_*): Terraform placeholders "
                "stand for the deployment's values, as with --terraform-template"
            )
        if "${" in in_image or "%{" in in_image:
            raise ConfigError(f"--file-in-image {in_image!r}: no ${{ or %{{ in a template")
        target = template_target(in_image)
    else:
        target = deployed_target(args, workflow, in_image)
    sys.stdout.write(definition_json(render(workflow, target)))
    return 0


def _ecs_settings(args: argparse.Namespace) -> bool:
    """Whether any ECS setting is given, by a flag or in the environment."""
    flags = ("ecs_cluster", "ecs_task_definition", "ecs_subnets", "ecs_security_groups")
    given = any(getattr(args, name, None) for name in flags)
    return given or any(
        name.startswith("SLUICE_ECS_") and value for name, value in os.environ.items()
    )


def deployed_target(
    args: argparse.Namespace, workflow: WorkflowConfig, in_image: str
) -> StepFunctionsTarget:
    """The target from the ECS flags or `SLUICE_ECS_*`; a Fargate task needs its network."""
    from pydantic import ValidationError

    from consumer.aws.ecs import EcsLaunchConfig

    try:
        ecs = EcsLaunchConfig.from_flags(os.environ, args)
    except ValidationError as exc:
        missing = sorted(str(e["loc"][0]) for e in exc.errors() if e["type"] == "missing")
        flags = ", ".join(f"--ecs-{name.replace('_', '-')}" for name in missing)
        raise ConfigError(
            f"render --target stepfunctions needs {flags or 'valid ECS settings'} "
            "(or SLUICE_ECS_*), or --terraform-template"
        ) from None
    if not ecs.subnets or not ecs.security_groups:
        raise ConfigError(
            "render --target stepfunctions needs --ecs-subnets and --ecs-security-groups "
            "(awsvpc), or --terraform-template"
        )
    return StepFunctionsTarget(
        cluster=ecs.cluster,
        task_definition=ecs.task_definition,
        container=ecs.container,
        subnets=ecs.subnets,
        security_groups=ecs.security_groups,
        workflow_file=in_image,
        runs_table=workflow.runs_table,
        notify_topic_arn=workflow.notify_topic_arn,
        assign_public_ip=ecs.assign_public_ip,
        launch_type=ecs.launch_type,
    )


def definition_json(definition: dict[str, Any]) -> str:
    """The definition as the command prints it (and as Terraform reads the template)."""
    return orjson.dumps(definition, option=orjson.OPT_INDENT_2).decode() + "\n"
