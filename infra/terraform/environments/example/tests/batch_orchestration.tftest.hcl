# `terraform test` of the batch orchestration (issue 23) against the mocked AWS provider,
# like network.tftest.hcl (tests/infra/test_terraform_plan.py runs every file): by default
# the workflow runs as a Step Functions state machine (the template filled with this
# deployment's cluster, task definition, network, runs table and topic) and the
# orchestrator task has no schedule; workflow_engine = "ecs-task" schedules that task
# instead; enable_aws_batch adds the AWS Batch queue and job definition. (The roles'
# statements are checked from the HCL in tests/infra/test_terraform_orchestration.py:
# policy documents are mocked here.)

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  bucket_name  = "sluice-test-lake"
  image_digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
}

run "step_functions_by_default" {
  variables {
    workflow_schedule_enabled = true
  }

  assert {
    condition     = output.workflow_state_machine != null && output.workflow_schedule_arn == null
    error_message = "by default the state machine runs the workflow and the orchestrator task is not scheduled"
  }

  assert {
    condition     = module.workflow_state_machine[0].schedule_arn != null
    error_message = "the state machine's schedule exists"
  }

  assert {
    condition = alltrue([
      for unit in [
        jsondecode(module.workflow_state_machine[0].definition).States.load.Branches[0].States["load.0"].ItemProcessor.States["load.0 part"],
        jsondecode(module.workflow_state_machine[0].definition).States.compact.Branches[0].States["compact.0"],
      ] : unit.Resource == "arn:aws:states:::ecs:runTask.sync"
      && unit.Parameters.Cluster == module.cluster.arn
      && unit.Parameters.TaskDefinition == module.batch.task_definition_arn
      && unit.Parameters.NetworkConfiguration.AwsvpcConfiguration.Subnets == module.network[0].private_subnet_ids
      && unit.Parameters.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups == [aws_security_group.tasks.id]
    ])
    error_message = "each unit is an ECS task of the batch task definition in the deployment's cluster and private subnets"
  }

  assert {
    condition     = jsondecode(module.workflow_state_machine[0].definition).States["Notify failure"].Parameters.TopicArn == module.monitoring.workflow_topic_arn
    error_message = "a failed run is published to the workflow topic"
  }

  assert {
    condition     = jsondecode(module.workflow_state_machine[0].definition).States["Record run started"].Parameters.TableName == module.tables.runs_table_name
    error_message = "the run record goes to the deployment's runs table"
  }

  assert {
    condition     = jsondecode(module.workflow_state_machine[0].definition).States.load.Branches[0].States["load.0"].MaxConcurrency == 2
    error_message = "the Map runs the example's 4 parts 2 at a time"
  }

  assert {
    condition     = output.aws_batch == null
    error_message = "AWS Batch is off by default"
  }
}

run "orchestrator_task_engine" {
  variables {
    workflow_engine = "ecs-task"
  }

  assert {
    condition     = output.workflow_state_machine == null && length(module.workflow_state_machine) == 0
    error_message = "no state machine with the orchestrator task"
  }

  assert {
    condition     = output.workflow_schedule_arn != null
    error_message = "the orchestrator task is scheduled instead"
  }
}

run "aws_batch" {
  variables {
    enable_aws_batch = true
  }

  assert {
    condition     = output.aws_batch.job_queue == "sluice-example-batch"
    error_message = "the AWS Batch queue is named after the deployment"
  }

  assert {
    condition     = output.aws_batch.job_definition != null && output.aws_batch.submit_policy_arn != null
    error_message = "the job definition and the submit policy exist"
  }
}
