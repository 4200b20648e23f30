"""One root exception with a few branches, so callers can catch exactly what they handle."""

from __future__ import annotations


class EtlError(Exception):
    """Root of every error sluice raises on purpose."""


class ConfigError(EtlError):
    """The pipeline configuration is invalid; the message names the field."""


class UsageError(ConfigError, ValueError):
    """A command-line argument is invalid (`--part 2/2`); exits 2, like a configuration
    error. A ValueError too, for callers that validate arguments that way."""


class RecordError(EtlError):
    """A single record failed a stage. It is data for the quarantine, never fatal.

    `stage` is one of decode, route, validate, transform, load; `error_type` is a short stable
    name (InvalidJson, RecordTooLarge, ...) used in the quarantine envelope and metrics.
    """

    def __init__(self, stage: str, error_type: str, message: str) -> None:
        super().__init__(f"{stage}/{error_type}: {message}")
        self.stage = stage
        self.error_type = error_type
        self.message = message


class SinkError(EtlError):
    """A sink could not confirm a write after its retry budget; nothing was acked."""


class SinkConfigError(SinkError, ConfigError):
    """A sink write failed in a way the configuration causes (a NOT NULL column the route
    does not write, a schema that does not exist), so every retry and every restart would
    fail the same way: the consumer stops at once with this diagnosis, exit 2."""


class SourceError(EtlError):
    """A source failed in a way that retries cannot fix (stream missing, access denied)."""
