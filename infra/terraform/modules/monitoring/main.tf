# The dashboard and alarms of one sluice consumer, rendered from the definitions in
# infra/monitoring/ (dashboard.json, alarms.json), the SNS topic the alarms notify and,
# optionally, the topic failed workflow runs are published to.

locals {
  definitions_dir = coalesce(var.definitions_dir, "${path.module}/../../../monitoring")
  source_name     = var.source_type == "kinesis" ? var.stream_name : var.queue_name

  template_values = {
    region      = var.region
    service     = var.service_name
    source      = local.source_name
    stream      = var.stream_name
    queue       = var.queue_name
    dlq         = var.dlq_name
    cluster     = var.cluster_name
    ecs_service = var.ecs_service_name
  }

  alarm_definitions = jsondecode(templatefile("${local.definitions_dir}/alarms.json", local.template_values)).alarms
  alarms = {
    for alarm in local.alarm_definitions : alarm.id => alarm
    if contains(alarm.sources, var.source_type) && !contains(var.disabled_alarms, alarm.id)
  }
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = toset(var.alarm_emails)
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

# Failed workflow runs (`sluice batch workflow run`, the workflow file's notify_topic_arn)
# publish a JSON message of their own: a topic apart from the alarms', so integrations
# that parse CloudWatch alarm notifications never see it. The same addresses subscribe.
resource "aws_sns_topic" "workflow_failures" {
  count             = var.create_workflow_topic ? 1 : 0
  name              = "${var.name}-workflow-failures"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "workflow_email" {
  for_each  = var.create_workflow_topic ? toset(var.alarm_emails) : toset([])
  topic_arn = aws_sns_topic.workflow_failures[0].arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = templatefile("${local.definitions_dir}/dashboard.json", local.template_values)
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  comparison_operator = each.value.comparison
  threshold           = lookup(var.alarm_thresholds, each.key, each.value.threshold)
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.datapoints_to_alarm
  treat_missing_data  = each.value.treat_missing_data
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  dynamic "metric_query" {
    for_each = each.value.queries

    content {
      id          = metric_query.value.id
      return_data = metric_query.value.return_data
      label       = lookup(metric_query.value, "label", null)
      expression  = lookup(metric_query.value, "expression", null)

      dynamic "metric" {
        for_each = contains(keys(metric_query.value), "metric") ? [metric_query.value.metric] : []

        content {
          namespace   = metric.value.namespace
          metric_name = metric.value.name
          stat        = metric.value.stat
          period      = metric.value.period
          unit        = lookup(metric.value, "unit", null)
          dimensions  = metric.value.dimensions
        }
      }
    }
  }

  tags = var.tags
}
