# `terraform test` of the SQS source's exactly-once ledger (issue 18) against a mocked AWS
# provider, like network.tftest.hcl (tests/infra/test_terraform_plan.py runs both): the
# ledger table exists only for an SQS source and its name reaches the consumer's
# environment; the staging prefixes of the lake and the quarantine and their expiry follow
# the queue's retention. (The task role's statements are checked from the HCL in
# tests/infra/test_terraform_sqs_ledger.py: policy documents are mocked here.)

mock_provider "aws" {
  source = "./tests/mocks"
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
    condition     = output.sqs_staging.prefixes == tolist(["lake/_staging/", "parquet/_staging/", "quarantine/_staging/"])
    error_message = "the lake's, the Parquet sink's and the quarantine's staging prefixes expire"
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
    condition     = output.sqs_staging.prefixes == tolist(["data/events/_staging/", "parquet/_staging/", "quarantine/_staging/"])
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
