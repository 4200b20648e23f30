"""Which models can only validate JSON that passes the decoder's token and depth limits.

The decoder refuses `NaN` and `Infinity` tokens and nesting past `max_depth` before any
parsing (consumer/pipeline/decode.py); the fast path asks `Decoder.within_tokens`, two scans of
every record's bytes, because pydantic's JSON parser accepts what orjson refuses. For a
*closed* model those scans cannot change an outcome: every object in it forbids extra
fields, no field takes arbitrary JSON (`Any`, an unparametrized `dict`, a validator that
runs before the type's), no float field accepts a non-finite value, and no type refers to
itself. Such a model validates only JSON nested no deeper than its own static depth and
holding no non-finite number; anything else fails validation, and a failed validation
takes the full path, which applies every limit. So a record of a route whose model is
closed, with a static depth within `max_depth`, skips the scans (`Pipeline._peek`).

`closed_depth` is conservative: a schema it does not know is open.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

_LEAVES = frozenset(
    {
        "bool",
        "bytes",
        "date",
        "datetime",
        "decimal",
        "enum",
        "int",
        "json",  # a JSON document inside a string: the same parser on both paths
        "literal",
        "none",
        "str",
        "time",
        "timedelta",
        "uuid",
    }
)
"""Types whose JSON input is a scalar that is never `NaN` or `Infinity` (pydantic refuses
those tokens for all of them)."""

_WRAPPERS = frozenset({"default", "nullable", "function-after", "model-field"})
"""Types that validate their input with their inner `schema` (an after-validator sees only
what the inner schema accepted)."""

_SEQUENCES = frozenset({"list", "set", "frozenset"})


def closed_depth(model: type[BaseModel]) -> int | None:
    """How deep the JSON a closed model accepts can nest (an object holding only scalars
    is 1), or None when the model is open."""
    try:
        return _Walk().depth(model.__pydantic_core_schema__)
    except _Open:
        return None


class _Open(Exception):
    """The schema may accept a token or a depth the decoder's limits refuse."""


class _Walk:
    def __init__(self) -> None:
        self.definitions: dict[str, Mapping[str, Any]] = {}
        self.visiting: set[str] = set()
        self.inf_nan: list[bool] = [True]
        """The `allow_inf_nan` of the models being walked, innermost last."""
        self._walks: dict[str, Callable[[Mapping[str, Any]], int]] = {
            "float": self._float,
            "tuple": self._tuple,
            "union": self._union,
            "tagged-union": self._tagged_union,
            "model": self._model,
            "model-fields": self._model_fields,
            "definitions": self._definitions,
            "definition-ref": self._ref,
        }

    def depth(self, schema: Mapping[str, Any]) -> int:
        ref = schema.get("ref")
        if ref is None:
            return self._depth(schema)
        if ref in self.visiting:
            return _open()  # a type that holds itself nests without bound
        self.visiting.add(ref)
        try:
            return self._depth(schema)
        finally:
            self.visiting.discard(ref)

    def _depth(self, schema: Mapping[str, Any]) -> int:
        kind = schema.get("type")
        if kind in _LEAVES:
            return 0
        if kind in _WRAPPERS:
            return self.depth(schema["schema"])
        if kind in _SEQUENCES:
            return 1 + self.depth(schema["items_schema"]) if "items_schema" in schema else _open()
        walk = self._walks.get(str(kind))
        # anything else is open: any, dict, dataclass, typed-dict, before/wrap/plain validators
        return _open() if walk is None else walk(schema)

    def _tuple(self, schema: Mapping[str, Any]) -> int:
        return 1 + max((self.depth(item) for item in schema.get("items_schema", [])), default=0)

    def _union(self, schema: Mapping[str, Any]) -> int:
        return max(self.depth(c if isinstance(c, Mapping) else c[0]) for c in schema["choices"])

    def _tagged_union(self, schema: Mapping[str, Any]) -> int:
        return max(self.depth(choice) for choice in schema["choices"].values())

    def _model_fields(self, schema: Mapping[str, Any]) -> int:
        return self._fields(schema, schema.get("extra_behavior"))

    def _definitions(self, schema: Mapping[str, Any]) -> int:
        for definition in schema["definitions"]:
            self.definitions[definition["ref"]] = definition
        return self.depth(schema["schema"])

    def _ref(self, schema: Mapping[str, Any]) -> int:
        definition = self.definitions.get(schema["schema_ref"])
        return _open() if definition is None else self.depth(definition)

    def _float(self, schema: Mapping[str, Any]) -> int:
        if not schema.get("allow_inf_nan", self.inf_nan[-1]):
            return 0
        low = next((schema[k] for k in ("ge", "gt") if k in schema), None)
        high = next((schema[k] for k in ("le", "lt") if k in schema), None)
        if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
            return _open()  # NaN fails any bound, but each infinity needs its own
        return 0

    def _model(self, schema: Mapping[str, Any]) -> int:
        config = schema.get("config", {})
        self.inf_nan.append(config.get("allow_inf_nan", True))
        try:
            inner = schema["schema"]
            if inner.get("type") == "model-fields":
                extra = inner.get("extra_behavior") or config.get("extra_fields_behavior")
                return self._fields(inner, extra)
            return self.depth(inner)
        finally:
            self.inf_nan.pop()

    def _fields(self, schema: Mapping[str, Any], extra: str | None) -> int:
        if extra != "forbid":
            return _open()  # an ignored or kept extra field may hold anything
        fields = schema["fields"].values()
        return 1 + max((self.depth(field) for field in fields), default=0)


def _open() -> int:
    raise _Open
