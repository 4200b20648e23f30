"""sluice: containerized ETL for AWS.

The long-lived consumer reads Kinesis (and, later, SQS), decodes, validates and transforms
records in micro-batches, writes them to an S3 data lake and databases, quarantines bad
records with their reason, and acks its source only after every sink confirmed.
"""

from __future__ import annotations

__version__ = "0.1.0"
