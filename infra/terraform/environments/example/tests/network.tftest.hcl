# `terraform test` of the example's network paths against a mocked AWS provider (no
# account, no credentials; Terraform 1.7 or newer). tests/infra/test_terraform_plan.py runs
# it. What it shows that parsing the HCL cannot: every path plans and applies as Terraform
# evaluates it (counts, for_each over IDs only known after apply, preconditions), and the
# gateway endpoints end up on the private route tables.

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

# The first plan of an empty account (first here: later runs share the state the applies
# leave): subnet and security group IDs are unknown, so nothing may be keyed by them
# (EFS mount targets, ingress rules).
run "empty_account_first_plan_with_efs" {
  command = plan

  variables {
    enable_efs  = true
    source_type = "sqs"
  }

  assert {
    condition     = length(module.network) == 1
    error_message = "plans with the network module"
  }
}

run "empty_account_endpoints_only" {
  assert {
    condition     = length(module.network) == 1 && length(output.private_subnet_ids) == 2
    error_message = "an empty account gets the network module and two private subnets"
  }

  assert {
    condition     = length(distinct(module.network[0].availability_zones)) == 2
    error_message = "the private subnets are in two zones"
  }

  assert {
    condition     = length(module.network[0].nat_gateway_ids) == 0 && length(module.network[0].public_subnet_ids) == 0
    error_message = "endpoints-only egress has no NAT gateway and no public subnet"
  }

  assert {
    condition = alltrue([
      for service in ["s3", "dynamodb"] :
      toset(output.vpc_endpoint_route_tables[service]) == toset(module.network[0].private_route_table_ids)
    ])
    error_message = "each gateway endpoint is attached to every private route table"
  }

  assert {
    condition     = length(setsubtract(["ecr.api", "ecr.dkr", "logs", "kinesis-streams", "sqs", "monitoring", "sts", "kms", "secretsmanager", "ecs", "sns"], output.vpc_interface_endpoints)) == 0
    error_message = "endpoints-only egress gets every interface endpoint the tasks call"
  }
}

run "empty_account_nat" {
  variables {
    network_egress                 = "nat"
    network_one_nat_gateway_per_az = true
  }

  assert {
    condition     = length(module.network[0].nat_gateway_ids) == 2 && length(module.network[0].public_subnet_ids) == 2
    error_message = "one NAT gateway and one public subnet per zone"
  }

  assert {
    condition     = length(output.vpc_interface_endpoints) == 0
    error_message = "behind the NAT gateway no interface endpoint is made by default"
  }

  assert {
    condition     = toset(output.vpc_endpoint_route_tables["s3"]) == toset(module.network[0].private_route_table_ids)
    error_message = "the S3 gateway endpoint still routes the private subnets (no NAT charge for the lake)"
  }
}

run "own_vpc" {
  variables {
    vpc_id             = "vpc-0123456789abcdef0"
    private_subnet_ids = ["subnet-a", "subnet-b"]
    route_table_ids    = ["rtb-a", "rtb-b"]
  }

  assert {
    condition     = length(module.network) == 0 && output.vpc_id == "vpc-0123456789abcdef0"
    error_message = "a given VPC is used as it is"
  }

  assert {
    condition     = output.vpc_endpoint_route_tables["dynamodb"] == toset(["rtb-a", "rtb-b"])
    error_message = "the gateway endpoints attach to the route tables given"
  }
}

# (A given VPC without route_table_ids is refused too, by the vpc_endpoints module's own
# validation, which `expect_failures` cannot name from here; tests/infra checks it.)
run "endpoints_only_without_endpoints_is_refused" {
  command = plan

  variables {
    create_vpc_endpoints = false
  }

  expect_failures = [aws_security_group.tasks]
}
