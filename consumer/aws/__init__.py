"""AWS access shared by every component: one place that builds boto3 clients (`clients`)
and the ECS RunTask launcher (`ecs`)."""
