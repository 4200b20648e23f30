"""Workflows: steps of parallel units, inline or as ECS tasks, with run records in DynamoDB,
retries and a failure notice (`runner`, `config`, `unit`, `runrecord`)."""
