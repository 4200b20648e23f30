"""DynamoDB for LocalStack, served by moto (LocalStack's fork, moto-ext, which it ships).

Both of LocalStack's own DynamoDB engines start DynamoDB Local, which they download with a
Java runtime at run time; machines that reach only package registries cannot. This
provider implements no operation itself, so LocalStack's moto fallback answers every one:
the same DynamoDB the embedded emulator has. Selected with PROVIDER_OVERRIDE_DYNAMODB=moto.
"""

from __future__ import annotations

from localstack.aws.api.dynamodb import DynamodbApi
from localstack.services.moto import MotoFallbackDispatcher
from localstack.services.plugins import Service, aws_provider


class MotoDynamoDBProvider(DynamodbApi):
    """Every operation raises NotImplementedError, which hands it to moto."""


@aws_provider(api="dynamodb", name="moto")
def dynamodb_moto() -> Service:
    return Service.for_provider(
        MotoDynamoDBProvider(), dispatch_table_factory=MotoFallbackDispatcher
    )
