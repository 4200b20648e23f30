"""Route: loads its schema and transform by import path, validates, and normalises rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import BaseModel, Field

from consumer.errors import ConfigError, RecordError
from consumer.pipeline.route import Route, RouteConfig

HERE = __name__  # "tests.unit.test_route"


class Order(BaseModel):
    id: int
    amount: float = Field(ge=0)
    sku: str


class OrderRow(BaseModel):
    order_id: int
    cents: int


def to_none(order: Order) -> None:
    return None


def to_dict(order: Order) -> dict[str, Any]:
    return {"order_id": order.id, "cents": round(order.amount * 100)}


def to_model(order: Order) -> OrderRow:
    return OrderRow(order_id=order.id, cents=round(order.amount * 100))


def to_list(order: Order) -> list[Any]:
    return [{"order_id": order.id, "part": 1}, OrderRow(order_id=order.id, cents=2)]


def to_generator(order: Order) -> Iterator[dict[str, Any]]:
    for part in range(3):
        yield {"order_id": order.id, "part": part}


def to_string(order: Order) -> str:
    return "not rows"


def to_nested(order: Order) -> list[Any]:
    return [[{"order_id": order.id, "part": 1}, {"order_id": order.id, "part": 2}]]


def to_list_with_none(order: Order) -> list[Any]:
    return [{"order_id": order.id}, None]


def explode(order: Order) -> dict[str, Any]:
    raise ZeroDivisionError(f"order {order.id} has no items")


NOT_CALLABLE = 42

MakeRoute = Callable[..., Route]


@pytest.fixture()
def make_route() -> MakeRoute:
    def make(transform: str | None = None, schema: str = "Order", index: int = 0) -> Route:
        config = RouteConfig.model_validate(
            {
                "name": "orders",
                "schema": f"{HERE}:{schema}",
                "transform": f"{HERE}:{transform}" if transform else None,
                "sinks": "lake",
            }
        )
        return Route(config, index)

    return make


@pytest.fixture()
def order() -> Order:
    return Order(id=7, amount=12.5, sku="A-1")


def test_valid_value_becomes_the_model(make_route: MakeRoute) -> None:
    model = make_route().validate({"id": "7", "amount": 1, "sku": "A-1"})
    assert isinstance(model, Order)
    assert model == Order(id=7, amount=1.0, sku="A-1")


def test_schema_violation_names_the_bad_field(make_route: MakeRoute) -> None:
    with pytest.raises(RecordError) as info:
        make_route().validate({"id": 7, "amount": -1, "sku": "A-1"})
    assert (info.value.stage, info.value.error_type) == ("validate", "SchemaViolation")
    assert info.value.message.startswith("amount: ")
    assert "greater than or equal to 0" in info.value.message


def test_schema_violation_lists_every_bad_field(make_route: MakeRoute) -> None:
    with pytest.raises(RecordError) as info:
        make_route().validate({"amount": "lots"})
    fields = [part.split(":")[0] for part in info.value.message.split("; ")]
    assert fields == ["id", "amount", "sku"]


def test_non_object_value_is_a_schema_violation(make_route: MakeRoute) -> None:
    with pytest.raises(RecordError) as info:
        make_route().validate([1, 2])
    assert info.value.error_type == "SchemaViolation"
    assert info.value.message.startswith("<root>: ")


def test_without_transform_the_model_is_dumped(make_route: MakeRoute, order: Order) -> None:
    assert make_route().transform(order) == [{"id": 7, "amount": 12.5, "sku": "A-1"}]


@pytest.mark.parametrize(
    ("transform", "expected"),
    [
        ("to_none", []),
        ("to_dict", [{"order_id": 7, "cents": 1250}]),
        ("to_model", [{"order_id": 7, "cents": 1250}]),
        ("to_list", [{"order_id": 7, "part": 1}, {"order_id": 7, "cents": 2}]),
        ("to_generator", [{"order_id": 7, "part": p} for p in range(3)]),
    ],
)
def test_transform_results_are_normalised_to_rows(
    make_route: MakeRoute, order: Order, transform: str, expected: list[dict[str, Any]]
) -> None:
    assert make_route(transform).transform(order) == expected


def test_transform_raising_is_a_transform_error_named_by_type(
    make_route: MakeRoute, order: Order
) -> None:
    with pytest.raises(RecordError) as info:
        make_route("explode").transform(order)
    assert (info.value.stage, info.value.error_type) == ("transform", "ZeroDivisionError")
    assert info.value.message == "order 7 has no items"


def test_transform_returning_a_non_row_is_a_type_error(make_route: MakeRoute, order: Order) -> None:
    with pytest.raises(RecordError) as info:
        make_route("to_string").transform(order)
    assert (info.value.stage, info.value.error_type) == ("transform", "TypeError")
    assert "str" in info.value.message


@pytest.mark.parametrize("transform", ["to_nested", "to_list_with_none"])
def test_rows_inside_rows_are_an_error_never_a_silent_loss(
    make_route: MakeRoute, order: Order, transform: str
) -> None:
    with pytest.raises(RecordError) as info:
        make_route(transform).transform(order)
    assert (info.value.stage, info.value.error_type) == ("transform", "TypeError")
    assert "where a row was expected" in info.value.message


@pytest.mark.parametrize(
    ("kwargs", "field", "detail"),
    [
        ({"schema": "NoSuchModel"}, "routes.3.schema", "has no 'NoSuchModel'"),
        ({"schema": "to_dict"}, "routes.3.schema", "is not a pydantic model"),
        ({"transform": "nope"}, "routes.3.transform", "has no 'nope'"),
        ({"transform": "NOT_CALLABLE"}, "routes.3.transform", "is not callable"),
    ],
)
def test_bad_import_paths_name_the_config_field(
    make_route: MakeRoute, kwargs: dict[str, str], field: str, detail: str
) -> None:
    with pytest.raises(ConfigError) as info:
        make_route(index=3, **kwargs)
    assert str(info.value).startswith(f"{field}: ")
    assert detail in str(info.value)


@pytest.mark.parametrize("schema", ["no_such_package.models:Order", "no_colon", ":Order"])
def test_unimportable_schema_names_the_config_field(schema: str) -> None:
    config = RouteConfig.model_validate({"name": "r", "schema": schema, "sinks": ["lake"]})
    with pytest.raises(ConfigError, match=r"^routes\.1\.schema: "):
        Route(config, 1)
