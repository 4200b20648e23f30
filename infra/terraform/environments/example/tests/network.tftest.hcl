# `terraform test` of the example's network paths against a mocked AWS provider (no
# account, no credentials; Terraform 1.7 or newer). tests/infra/test_terraform_plan.py runs
# it. What it shows that parsing the HCL cannot: every path plans and applies as Terraform
# evaluates it (counts, for_each over IDs only known after apply, preconditions), and the
# gateway endpoints end up on the private route tables.

mock_provider "aws" {
  source = "./tests/mocks"
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
