"""The autoscaling simulator's rules are the Terraform's: consumer/capacity/scaling_rules.json
equals the defaults of the consumer_service module and of the example environment, and the
policies the simulator models (consumer/capacity/autoscale_sim_alarms.py) are the ones the
module creates: their metrics, targets, surge steps and periods.
(infra/terraform/environments/example/tests/scaling.tftest.hcl plans them with Terraform.)"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from consumer.capacity.autoscale_sim import load_rules
from consumer.capacity.autoscale_sim_alarms import SURGE_LADDER, SURGE_PERIOD_S
from tests.infra.tf import EXAMPLE, MODULES, load_dir


def test_rules_equal_the_consumer_service_module_defaults() -> None:
    variables = load_dir(MODULES / "consumer_service").variables
    for name, value in asdict(load_rules()).items():
        assert variables[name]["default"] == value, name


def test_rules_equal_the_example_environment_defaults_it_sets() -> None:
    variables = load_dir(EXAMPLE).variables
    shared = {k: v for k, v in asdict(load_rules()).items() if k in variables}
    assert shared.keys() >= {"min_tasks", "max_tasks", "backlog_per_task_target"}
    for name, value in shared.items():
        assert variables[name]["default"] == value, name


def _policy(name: str) -> dict[str, Any]:
    policy: dict[str, Any] = load_dir(MODULES / "consumer_service").resources[
        ("aws_appautoscaling_policy", name)
    ]
    return policy


def test_the_surge_steps_and_periods_are_the_simulators() -> None:
    # GIVEN the consumer_service module as written
    module = load_dir(MODULES / "consumer_service")
    # THEN its surge steps are SURGE_LADDER, and its alarm periods SURGE_PERIOD_S
    assert module.locals["surge_ladder"] == [list(step) for step in SURGE_LADDER]
    periods = re.fullmatch(r"\$\{local\.kcl \? (\d+) : (\d+)\}", module.locals["surge_period_s"])
    assert periods is not None
    assert (int(periods[1]), int(periods[2])) == (SURGE_PERIOD_S["kinesis"], SURGE_PERIOD_S["sqs"])
    surge = _policy("backlog_surge")["step_scaling_policy_configuration"][0]
    assert surge["adjustment_type"] == "PercentChangeInCapacity"
    assert surge["min_adjustment_magnitude"] == 1
    assert surge["cooldown"] == "${var.scale_out_cooldown_s}"
    for name in ("kinesis_surge", "sqs_surge"):
        alarm = module.resources[("aws_cloudwatch_metric_alarm", name)]
        assert alarm["threshold"] == "${var.backlog_surge_per_task}"
        assert alarm["comparison_operator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["evaluation_periods"] == alarm["datapoints_to_alarm"] == 1
        periods_used = {q["metric"][0]["period"] for q in alarm["metric_query"] if "metric" in q}
        assert periods_used == {"${local.surge_period_s}"}, name
        assert alarm["alarm_actions"] == ["${aws_appautoscaling_policy.backlog_surge[0].arn}"]


def test_the_kcl_service_tracks_records_behind_per_task_and_memory_never_scales_in() -> None:
    kinesis = _policy("kinesis_backlog")["target_tracking_scaling_policy_configuration"][0]
    assert kinesis["target_value"] == "${var.backlog_per_task_target}"
    metric = kinesis["customized_metric_specification"][0]
    assert (metric["metric_name"], metric["statistic"]) == ("KinesisRecordsBehind", "Average")
    assert metric["dimensions"] == [{"name": "service", "value": "${var.metrics_service}"}]
    assert "local.kcl" in _policy("kinesis_backlog")["count"]
    memory = _policy("memory")["target_tracking_scaling_policy_configuration"][0]
    assert memory["target_value"] == "${var.memory_target_percent}"
    assert memory["disable_scale_in"] is True  # the simulator's memory policy: scale_in=False
    for name, metric_type in (("cpu", "CPUUtilization"), ("memory", "MemoryUtilization")):
        spec = _policy(name)["target_tracking_scaling_policy_configuration"][0]
        chosen = spec["predefined_metric_specification"][0]["predefined_metric_type"]
        assert f'"ECSServiceAverage{metric_type}HighResolution"' in chosen
        assert f'"ECSServiceAverage{metric_type}"' in chosen
