"""Router: the most specific route wins; no match is a route error, never a crash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from consumer.errors import ConfigError, RecordError
from consumer.pipeline.route import Route, RouteConfig
from consumer.pipeline.router import Router


class Anything(BaseModel):
    pass


MakeRoute = Callable[..., Route]


@pytest.fixture()
def make_route() -> MakeRoute:
    counter = iter(range(100))

    def make(name: str, record_type: str | None = None, source: str | None = None) -> Route:
        config = RouteConfig.model_validate(
            {
                "name": name,
                "record_type": record_type,
                "source": source,
                "schema": f"{__name__}:Anything",
                "sinks": ["lake"],
            }
        )
        return Route(config, next(counter))

    return make


@pytest.fixture()
def router(make_route: MakeRoute) -> Router:
    return Router(
        [
            make_route("catch_all"),
            make_route("from_orders_stream", source="orders"),
            make_route("any_click", record_type="click"),
            make_route("orders_click", record_type="click", source="orders"),
        ],
        type_field="type",
    )


@pytest.mark.parametrize(
    ("source", "value", "expected"),
    [
        ("orders", {"type": "click"}, "orders_click"),
        ("web", {"type": "click"}, "any_click"),
        ("orders", {"type": "view"}, "from_orders_stream"),
        ("orders", {}, "from_orders_stream"),
        ("web", {"type": "view"}, "catch_all"),
        ("web", [1, 2], "catch_all"),
    ],
)
def test_most_specific_route_wins(router: Router, source: str, value: Any, expected: str) -> None:
    assert router.route(source, value).name == expected


def test_unknown_type_without_catch_all_is_unknown_route(make_route: MakeRoute) -> None:
    router = Router([make_route("clicks", record_type="click")], type_field="type")
    with pytest.raises(RecordError) as info:
        router.route("web", {"type": "view"})
    assert (info.value.stage, info.value.error_type) == ("route", "UnknownRoute")
    assert "source='web'" in info.value.message and "type='view'" in info.value.message


@pytest.mark.parametrize("type_value", [5, None, ["click"], {"click": 1}, True])
def test_non_string_type_does_not_crash(make_route: MakeRoute, type_value: Any) -> None:
    # GIVEN a record whose type field is not a string
    clicks = make_route("clicks", record_type="click")
    value = {"type": type_value}
    # THEN it is no match for a typed route, falls to the catch-all when there is one
    with pytest.raises(RecordError, match="UnknownRoute"):
        Router([clicks], type_field="type").route("web", value)
    with_catch_all = Router([clicks, make_route("rest")], type_field="type")
    assert with_catch_all.route("web", value).name == "rest"


def test_two_routes_matching_the_same_records_are_a_config_error(make_route: MakeRoute) -> None:
    routes = [make_route("a", record_type="click"), make_route("b", record_type="click")]
    with pytest.raises(ConfigError, match=r"^routes\.1: .*route 'a'"):
        Router(routes, type_field="type")


def test_record_type_without_type_field_is_a_config_error(make_route: MakeRoute) -> None:
    with pytest.raises(ConfigError, match=r"router\.type_field"):
        Router([make_route("clicks", record_type="click")], type_field=None)


def test_without_type_field_routes_by_source(make_route: MakeRoute) -> None:
    router = Router([make_route("a", source="s1"), make_route("b")], type_field=None)
    assert router.route("s1", {"type": "x"}).name == "a"
    assert router.route("s2", {"type": "x"}).name == "b"
