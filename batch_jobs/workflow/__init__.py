"""Workflows: steps of parallel units, inline or as ECS tasks, with run records in DynamoDB,
retries and a failure notice (`runner`, `config`, `unit`, `runrecord`); the same file as an
AWS Step Functions state machine (`stepfunctions`)."""
