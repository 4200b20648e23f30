"""A route: which records it takes, the schema that validates them, the transform that turns
a valid model into output rows, and where the rows go."""

from __future__ import annotations

import collections.abc
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from consumer.delivery.buffer import BufferConfig
from consumer.errors import ConfigError, RecordError
from consumer.loading import load_object
from consumer.pipeline.external import ExternalTransform, ExternalTransformConfig
from consumer.pipeline.partitioning import PartitionConfig, Partitioner
from consumer.quality.config import QualityConfig
from consumer.sinks.base import RouteShape

Row = dict[str, Any]
Transform = Callable[[Any], Any]


class RouteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    record_type: str | None = Field(None, description="value of the router's type_field")
    source: str | None = Field(None, description="stream or queue name; any when unset")
    schema_path: str = Field(alias="schema", description="pydantic model, 'module:Class'")
    transform: str | ExternalTransformConfig | None = Field(
        None,
        description="'module:function', or { command = [...] } for an external command "
        "(docs/external-transforms.md); the validated model itself, as JSON, when unset",
    )
    output_model: str | None = Field(
        None, description="pydantic model of the output rows, 'module:Class' (column types)"
    )
    sinks: tuple[str, ...] = Field(min_length=1)
    key: tuple[str, ...] = Field((), description="row fields that identify a row in databases")
    table: str | None = Field(
        None, description="this route's table in its database sinks; else the sink's, else name"
    )
    version_field: str | None = Field(None, description="monotonic guard for database upserts")
    partition: PartitionConfig = PartitionConfig()
    buffer: BufferConfig | None = None
    quality: QualityConfig | None = Field(None, description="data quality checks (docs/quality.md)")

    @field_validator("key", "sinks", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value


def _dump(model: Any) -> Row:
    dumped: Row = model.model_dump()
    return dumped


def _row(item: Any) -> Row:
    if isinstance(item, dict):
        return item
    if isinstance(item, Mapping):
        return dict(item)
    if isinstance(item, BaseModel):
        return _dump(item)
    raise TypeError(f"transform returned a {type(item).__name__} where a row was expected")


def _rows(result: Any) -> list[Row]:
    """Normalise what a transform returned: None, a row, a model, or an iterable of rows or
    models. Anything else (a nested list, None inside a list) is an error, never a silent
    loss of rows."""
    if type(result) is dict:  # the common case, before the slower ABC checks
        return [result]
    if result is None:
        return []
    if isinstance(result, Mapping | BaseModel):
        return [_row(result)]
    if isinstance(result, Iterable) and not isinstance(result, str | bytes):
        return [_row(item) for item in result]
    raise TypeError(f"transform returned {type(result).__name__}, expected rows")


class Route:
    def __init__(self, config: RouteConfig, index: int) -> None:
        where = f"routes.{index}"
        model = load_object(config.schema_path, f"{where}.schema")
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise ConfigError(f"{where}.schema: {config.schema_path!r} is not a pydantic model")
        self.model: type[BaseModel] = model
        self.external: ExternalTransform | None = None
        self.transform_fn: Transform = _dump
        if isinstance(config.transform, ExternalTransformConfig):
            self.external = ExternalTransform(config.transform, config.name)
        elif config.transform:
            self.transform_fn = load_object(config.transform, f"{where}.transform")
        if not callable(self.transform_fn):
            raise ConfigError(f"{where}.transform: {config.transform!r} is not callable")
        output_model = self._output_model(config.output_model, f"{where}.output_model")
        self.column_types = (
            None
            if output_model is None
            else {name: info.annotation for name, info in output_model.model_fields.items()}
        )
        self.row_model: type[BaseModel] | None = (
            output_model
            or (self.model if config.transform is None else None)
            or (None if self.external is not None else returned_model(self.transform_fn))
        )
        """The pydantic model of the rows (columns of Parquet and Iceberg): the schema when
        there is no transform, else `output_model`, else the transform's return annotation."""
        self.name = config.name
        self.config = config
        self.identity = config.transform is None
        self.partitioner = Partitioner(config.partition)
        self._model_partition = self._partition_from_model()

    def close(self) -> None:
        if self.external is not None:
            self.external.close()

    @staticmethod
    def _output_model(path: str | None, field: str) -> type[BaseModel] | None:
        if path is None:
            return None
        model = load_object(path, field)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise ConfigError(f"{field}: {path!r} is not a pydantic model")
        return model

    def shape(self) -> RouteShape:
        """What the route's sinks learn about it before any record (`Sink.bind`)."""
        config = self.config
        return RouteShape(
            self.name,
            self.row_model,
            model_rows=self.identity,
            key_fields=config.key,
            version_field=config.version_field,
            partition=config.partition,
        )

    def validate(self, value: Any) -> BaseModel:
        try:
            return self.model.model_validate(value)
        except ValidationError as exc:
            raise RecordError("validate", "SchemaViolation", _summary(exc)) from None

    def partition_view(self, model: BaseModel) -> dict[str, Any] | None:
        """What the partitioner reads, taken from the model instead of its JSON row: the
        time field's value (a datetime, an epoch number or an ISO string gives the same
        instant either way). None when the row is needed: partition `fields` are written
        in their JSON form, and a field read under an alias is not an attribute."""
        if not self._model_partition:
            return None
        name = self.config.partition.time_field
        return {} if name is None else {name: getattr(model, name)}

    @property
    def partitions_from_model(self) -> bool:
        """Whether `partition_view` stands for the row (it is never None)."""
        return self._model_partition

    def _partition_from_model(self) -> bool:
        config = self.config.partition
        if config.fields:
            return False
        if config.time_field is None:
            return True
        field = self.model.model_fields.get(config.time_field)
        return field is not None and (field.alias or config.time_field) == config.time_field

    def validate_json(self, data: bytes) -> BaseModel | None:
        """The model straight from the record's bytes (pydantic parses and validates in one
        pass), or None when it does not validate: the caller then takes the full path,
        which names the exact stage and error."""
        try:  # model_validate_json without its Python frame: the same call
            return self.model.__pydantic_validator__.validate_json(data)  # type: ignore[no-any-return]
        except ValidationError:
            return None

    def transform(self, model: BaseModel) -> list[Row]:
        try:
            result = self.transform_fn(model)
            return [result] if type(result) is dict else _rows(result)
        except RecordError:
            raise  # an external transform's own error envelope
        except Exception as exc:
            raise RecordError("transform", type(exc).__name__, str(exc)) from None


def returned_model(function: Any) -> type[BaseModel] | None:
    """The pydantic model a transform says it returns (`-> Row`, `-> list[Row]`,
    `-> Iterator[Row]`, `-> Row | None`), or None when it does not say."""
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # unresolvable annotations say nothing
        return None
    return _model_in(hints.get("return"))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    origin = typing.get_origin(annotation)
    if len(args) == 1 and origin in _CONTAINERS:
        return _model_in(args[0])
    return None


_CONTAINERS = frozenset(
    {
        list,
        tuple,
        typing.Union,
        types.UnionType,
        collections.abc.Iterable,
        collections.abc.Iterator,
        collections.abc.Sequence,
        collections.abc.Generator,
    }
)


def _summary(exc: ValidationError, limit: int = 5) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in errors]
    more = f" (+{len(parts) - limit} more)" if len(parts) > limit else ""
    return "; ".join(parts[:limit]) + more
