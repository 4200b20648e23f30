# `terraform test` of the SQS source's exactly-once ledger (issue 18) against a mocked AWS
# provider, like network.tftest.hcl (tests/infra/test_terraform_plan.py runs both): the
# ledger table exists only for an SQS source and its name reaches the consumer's
# environment; the staging prefixes of the lake and the quarantine and their expiry follow
# the queue's retention. (The task role's statements are checked from the HCL in
# tests/infra/test_terraform_sqs_ledger.py: policy documents are mocked here.)

mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = {
      names = ["us-east-1a", "us-east-1b", "us-east-1c"]
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "us-east-1"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }


  # Resource ARNs the provider validates where they are passed on.
  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mock"
    }
  }

  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:us-east-1:123456789012:mock"
    }
  }

  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:us-east-1:123456789012:mock"
    }
  }

  mock_resource "aws_kinesis_stream" {
    defaults = {
      arn = "arn:aws:kinesis:us-east-1:123456789012:stream/mock"
    }
  }

  mock_resource "aws_ecs_cluster" {
    defaults = {
      arn = "arn:aws:ecs:us-east-1:123456789012:cluster/mock"
    }
  }

  mock_resource "aws_ecs_task_definition" {
    defaults = {
      arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/mock:1"
    }
  }

  mock_resource "aws_ecr_repository" {
    defaults = {
      arn = "arn:aws:ecr:us-east-1:123456789012:repository/mock"
    }
  }

  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn = "arn:aws:dynamodb:us-east-1:123456789012:table/mock"
    }
  }

  mock_resource "aws_s3_bucket" {
    defaults = {
      arn = "arn:aws:s3:::mock"
    }
  }

  mock_resource "aws_efs_file_system" {
    defaults = {
      arn = "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-mock"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  bucket_name  = "sluice-test-lake"
  image_digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
}

run "sqs_ledger" {
  variables {
    source_type = "sqs"
  }

  assert {
    condition     = output.sqs_ledger_table_name == "sluice-example-sqs-ledger" && output.sqs_ledger_table_arn != null
    error_message = "an SQS source gets its ledger table"
  }

  assert {
    condition     = local.environment["SLUICE__SOURCE__LEDGER_TABLE"] == output.sqs_ledger_table_name
    error_message = "the consumer's environment names the ledger table"
  }

  assert {
    condition     = local.batch_environment["SLUICE__SOURCE__LEDGER_TABLE"] == output.sqs_ledger_table_name
    error_message = "the batch and workflow tasks' environment names the ledger table"
  }

  assert {
    condition     = output.sqs_staging.prefixes == tolist(["lake/_staging/", "quarantine/_staging/"])
    error_message = "the lake's and the quarantine's staging prefixes expire"
  }

  assert {
    condition     = output.sqs_staging.expiration_days == 6
    error_message = "staged objects expire after the queue's 4 days of retention plus 2"
  }
}

run "sqs_ledger_longest_retention" {
  command = plan

  variables {
    source_type           = "sqs"
    sqs_retention_seconds = 1209600
    lake_prefix           = "data/events/"
  }

  assert {
    condition     = output.sqs_staging.expiration_days == 16
    error_message = "14 days of retention: staged objects expire after 16"
  }

  assert {
    condition     = output.sqs_staging.prefixes == tolist(["data/events/_staging/", "quarantine/_staging/"])
    error_message = "the staging prefix follows lake_prefix"
  }
}

run "kinesis_has_no_ledger" {
  command = plan

  assert {
    condition     = output.sqs_ledger_table_name == null && length(output.sqs_staging.prefixes) == 0
    error_message = "a Kinesis source gets no ledger table and no staging rules"
  }

  assert {
    condition     = !contains(keys(local.environment), "SLUICE__SOURCE__LEDGER_TABLE")
    error_message = "a Kinesis consumer is not given a ledger table"
  }
}
