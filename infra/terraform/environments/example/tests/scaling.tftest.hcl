# `terraform test` of the consumer service's scaling (issue 21) against a mocked AWS
# provider, like network.tftest.hcl (tests/infra/test_terraform_plan.py runs every file
# here). Each run plans the consumer_service module itself, so its policies and alarms are
# visible as Terraform evaluates them: the KCL service tracks KinesisRecordsBehind capped
# at the shard count, the surge steps' bounds, the surge alarm's period and datapoints,
# memory that never scales in, and the refusals. The figures are those of
# consumer/capacity/scaling_rules.json (tests/infra/test_scaling_rules.py).

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  name               = "scaling-test"
  cluster_arn        = "arn:aws:ecs:us-east-1:123456789012:cluster/test"
  cluster_name       = "test"
  image              = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sluice"
  image_digest       = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
  task_role_arn      = "arn:aws:iam::123456789012:role/task"
  execution_role_arn = "arn:aws:iam::123456789012:role/execution"
  region             = "us-east-1"
  log_group_name     = "/ecs/test"
  subnet_ids         = ["subnet-00000000"]
  security_group_ids = ["sg-00000000"]
  metrics_service    = "sluice-demo"
}

run "kcl_scales_on_records_behind_up_to_the_shards" {
  command = plan

  module {
    source = "../../modules/consumer_service"
  }

  variables {
    source_type         = "kinesis"
    kinesis_driver      = "kcl"
    kinesis_shard_count = 10
    max_tasks           = 12
  }

  assert {
    condition     = aws_appautoscaling_target.this[0].max_capacity == 10
    error_message = "the KCL service is capped at the shard count"
  }

  assert {
    condition = (
      aws_appautoscaling_policy.kinesis_backlog[0].target_tracking_scaling_policy_configuration[0].target_value == 1000
      && aws_appautoscaling_policy.kinesis_backlog[0].target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].metric_name == "KinesisRecordsBehind"
      && aws_appautoscaling_policy.kinesis_backlog[0].target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].statistic == "Average"
    )
    error_message = "the KCL service tracks the average KinesisRecordsBehind of its tasks"
  }

  assert {
    condition     = length(aws_appautoscaling_policy.cpu) == 1 && length(aws_appautoscaling_policy.backlog_per_task) == 0
    error_message = "CPU is kept as a second signal; the SQS policy is not created"
  }

  assert {
    condition = (
      aws_appautoscaling_policy.memory[0].target_tracking_scaling_policy_configuration[0].disable_scale_in
      && aws_appautoscaling_policy.memory[0].target_tracking_scaling_policy_configuration[0].target_value == 80
    )
    error_message = "memory tracks 80 % and never scales in"
  }

  assert {
    condition = toset([
      for step in aws_appautoscaling_policy.backlog_surge[0].step_scaling_policy_configuration[0].step_adjustment : [
        tonumber(step.metric_interval_lower_bound),
        step.metric_interval_upper_bound == null ? -1 : tonumber(step.metric_interval_upper_bound),
        step.scaling_adjustment,
      ]
    ]) == toset([[0, 60000, 100], [60000, 180000, 300], [180000, -1, 700]])
    error_message = "the surge doubles from 1x, quadruples from 2x, multiplies by eight from 4x the threshold"
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.kinesis_surge[0].threshold == 60000
      && aws_cloudwatch_metric_alarm.kinesis_surge[0].evaluation_periods == 1
      && aws_cloudwatch_metric_alarm.kinesis_surge[0].datapoints_to_alarm == 1
      && one([for q in aws_cloudwatch_metric_alarm.kinesis_surge[0].metric_query : q.metric[0].period]) == 10
    )
    error_message = "the KCL surge alarm fires on one 10 s datapoint"
  }
}

run "sqs_surge_on_one_minute_of_queue_depth" {
  command = plan

  module {
    source = "../../modules/consumer_service"
  }

  variables {
    source_type    = "sqs"
    sqs_queue_name = "events"
  }

  assert {
    condition     = length(aws_appautoscaling_policy.backlog_per_task) == 1 && length(aws_appautoscaling_policy.kinesis_backlog) == 0
    error_message = "SQS keeps its BacklogPerTask metric math"
  }

  assert {
    condition = (
      length(aws_cloudwatch_metric_alarm.kinesis_surge) == 0
      && aws_cloudwatch_metric_alarm.sqs_surge[0].datapoints_to_alarm == 1
      && [for q in aws_cloudwatch_metric_alarm.sqs_surge[0].metric_query : q.metric[0].period if length(q.metric) > 0] == [60, 60]
    )
    error_message = "the SQS surge alarm fires on one 60 s datapoint of visible messages per task"
  }
}

run "high_resolution_utilization" {
  command = plan

  module {
    source = "../../modules/consumer_service"
  }

  variables {
    source_type              = "sqs"
    sqs_queue_name           = "events"
    utilization_resolution_s = 20
  }

  assert {
    condition = (
      aws_appautoscaling_policy.cpu[0].target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].predefined_metric_type == "ECSServiceAverageCPUUtilizationHighResolution"
      && aws_appautoscaling_policy.memory[0].target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].predefined_metric_type == "ECSServiceAverageMemoryUtilizationHighResolution"
    )
    error_message = "20 s utilization uses ECS's high-resolution predefined metrics"
  }
}

run "the_polling_reader_is_not_scaled" {
  command = plan

  module {
    source = "../../modules/consumer_service"
  }

  variables {
    source_type = "kinesis"
  }

  assert {
    condition     = length(aws_appautoscaling_target.this) == 0 && length(aws_appautoscaling_policy.backlog_surge) == 0
    error_message = "one polling reader, no policy"
  }
}

run "a_surge_below_twice_the_target_is_refused" {
  command = plan

  module {
    source = "../../modules/consumer_service"
  }

  variables {
    source_type            = "sqs"
    sqs_queue_name         = "events"
    backlog_surge_per_task = 1500
  }

  expect_failures = [aws_appautoscaling_policy.backlog_surge]
}
