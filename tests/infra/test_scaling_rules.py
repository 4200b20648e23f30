"""The autoscaling simulator's rules are the Terraform's: consumer/capacity/scaling_rules.json
equals the defaults of the consumer_service module and of the example environment."""

from __future__ import annotations

from dataclasses import asdict

from consumer.capacity.autoscale_sim import load_rules
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
