"""LocalStack plugins for running sluice's tests against LocalStack without Docker."""
