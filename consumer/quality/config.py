"""The `quality` table of a route: checks, corrections, threshold and policy."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CheckKind = Literal["completeness", "consistency", "uniqueness", "freshness", "range", "allowed"]
Policy = Literal["write", "write_and_alert", "quarantine_batch"]

_NEEDS: dict[str, tuple[str, ...]] = {
    "completeness": ("field",),
    "consistency": (),
    "uniqueness": ("fields",),
    "freshness": ("field", "max_age_s"),
    "range": ("field",),
    "allowed": ("field", "values"),
}


class CheckConfig(BaseModel):
    """One declarative check. Row checks (consistency, freshness, range, allowed) judge each
    row; batch checks (completeness, uniqueness) judge the batch as a whole."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    kind: CheckKind
    weight: float = Field(1.0, gt=0, description="share of the score this check carries")
    field: str | None = Field(None, description="the row field the check reads")
    fields: tuple[str, ...] = Field((), description="uniqueness: the key within the batch")
    min_ratio: float = Field(1.0, ge=0, le=1, description="completeness: share present")
    expr: str | None = Field(None, description="consistency: safe expression, 'end >= start'")
    predicate: str | None = Field(None, description="consistency: 'module:function'(row)")
    max_age_s: float | None = Field(None, gt=0, description="freshness: oldest event allowed")
    min: float | None = None
    max: float | None = None
    values: tuple[Any, ...] = Field((), description="allowed: the allowed values")

    @model_validator(mode="after")
    def _complete(self) -> CheckConfig:
        for needed in _NEEDS[self.kind]:
            if not getattr(self, needed):
                raise ValueError(f"check {self.name!r} ({self.kind}) needs {needed!r}")
        if self.kind == "consistency" and (self.expr is None) == (self.predicate is None):
            raise ValueError(f"check {self.name!r} (consistency) needs one of expr, predicate")
        if self.kind == "range" and self.min is None and self.max is None:
            raise ValueError(f"check {self.name!r} (range) needs min or max")
        return self


class QualityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    checks: tuple[CheckConfig, ...] = Field(min_length=1)
    corrections: tuple[str, ...] = Field(
        (), description="'module:function'(row) -> repaired row or None, tried in order"
    )
    threshold: float = Field(0.95, ge=0, le=1, description="a batch scoring below fails")
    policy: Policy = "write"
    corrected_field: str = Field("_corrected", description="set true on repaired rows")

    @model_validator(mode="after")
    def _unique_names(self) -> QualityConfig:
        names = [check.name for check in self.checks]
        if len(names) != len(set(names)):
            raise ValueError("quality.checks: names must be unique")
        return self
