"""Job messages: a validated spec (`spec`) per SQS message, run once per idempotency key
by `sluice jobs` (`runner`), here or as an ECS task (`dispatch`)."""
