"""The network an empty account gets (modules/network) and the VPC endpoints on it: private
subnets in two zones, every gateway endpoint on the tasks' route tables in every way the
example can be configured, and nothing keyed by IDs that exist only after apply."""

from __future__ import annotations

import ipaddress
import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from tests.infra.hcl_eval import Evaluator
from tests.infra.tf import EXAMPLE, MODULES, TERRAFORM, load_dir, module_dir, tf_dirs

NETWORK = MODULES / "network"


def _network() -> Any:
    return load_dir(NETWORK)


def _defaults(folder: Path) -> dict[str, Any]:
    return {name: body.get("default") for name, body in load_dir(folder).variables.items()}


def _valid(folder: Path, name: str, value: Any) -> bool:
    """Whether every validation block of variable `name` accepts `value`."""
    variables = {**_defaults(folder), name: value}
    checks = load_dir(folder).variables[name].get("validation", [])
    return all(Evaluator(variables)(check["condition"]) for check in checks)


def _count(folder: Path, kind: str, name: str, variables: dict[str, Any]) -> int:
    tf = load_dir(folder)
    count = tf.resources[(kind, name)].get("count", 1)
    return int(Evaluator(variables, tf.locals)(str(count)))


def test_private_subnets_spread_over_at_least_two_zones() -> None:
    # GIVEN the network module's private subnets
    tf = _network()
    subnet = tf.resources[("aws_subnet", "private")]
    # THEN there is one per zone, each in its own zone from the region's list
    assert subnet["count"] == "${var.az_count}"
    assert subnet["availability_zone"] == "${local.azs[count.index]}"
    assert (
        tf.locals["azs"] == "${slice(data.aws_availability_zones.available.names, 0, var.az_count)}"
    )
    zones = tf.data[("aws_availability_zones", "available")]
    assert zones["state"] == "available"
    # AND two zones by default, fewer refused
    assert tf.variables["az_count"]["default"] == 2
    assert not _valid(NETWORK, "az_count", 1)
    assert _valid(NETWORK, "az_count", 2) and _valid(NETWORK, "az_count", 3)
    assert subnet["map_public_ip_on_launch"] is False


def _subnet_plan(resource: dict[str, Any]) -> tuple[int, int]:
    match = re.fullmatch(
        r"\$\{cidrsubnet\(var\.cidr_block, (\d+), count\.index(?: \+ (\d+))?\)\}",
        resource["cidr_block"],
    )
    assert match, resource["cidr_block"]
    return int(match[1]), int(match[2] or 0)


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "172.20.0.0/20", "192.168.8.0/24"])
def test_subnet_ranges_fit_the_vpc_and_never_overlap(cidr: str) -> None:
    tf = _network()
    assert _valid(NETWORK, "cidr_block", cidr)
    assert not _valid(NETWORK, "cidr_block", "10.0.0.0/8")
    assert not _valid(NETWORK, "cidr_block", "not-a-cidr")
    vpc = ipaddress.IPv4Network(cidr)
    for zones in range(2, 9):
        if not _valid(NETWORK, "az_count", zones):
            continue
        ranges: list[ipaddress.IPv4Network] = []
        for name in ("private", "public"):
            bits, offset = _subnet_plan(tf.resources[("aws_subnet", name)])
            subnets = list(vpc.subnets(prefixlen_diff=bits))
            ranges += [subnets[offset + index] for index in range(zones)]
        for a, b in itertools.combinations(ranges, 2):
            assert not a.overlaps(b), (cidr, zones, a, b)


def test_each_private_subnet_has_its_route_table_and_the_module_outputs_them() -> None:
    tf = _network()
    association = tf.resources[("aws_route_table_association", "private")]
    assert association["count"] == tf.resources[("aws_route_table", "private")]["count"]
    assert association["count"] == tf.resources[("aws_subnet", "private")]["count"]
    assert association["subnet_id"] == "${aws_subnet.private[count.index].id}"
    assert association["route_table_id"] == "${aws_route_table.private[count.index].id}"
    assert tf.outputs["private_route_table_ids"]["value"] == "${aws_route_table.private[*].id}"
    assert tf.outputs["private_subnet_ids"]["value"] == "${aws_subnet.private[*].id}"


@pytest.mark.parametrize("per_zone", [False, True])
def test_nat_egress_routes_every_private_table_through_a_nat_gateway(per_zone: bool) -> None:
    variables = {**_defaults(NETWORK), "egress": "nat", "one_nat_gateway_per_az": per_zone}
    zones = variables["az_count"]
    assert _count(NETWORK, "aws_route", "private_nat", variables) == zones
    assert _count(NETWORK, "aws_nat_gateway", "this", variables) == (zones if per_zone else 1)
    assert _count(NETWORK, "aws_internet_gateway", "this", variables) == 1
    assert _count(NETWORK, "aws_subnet", "public", variables) == zones
    route = _network().resources[("aws_route", "private_nat")]
    assert route["destination_cidr_block"] == "0.0.0.0/0"
    assert route["route_table_id"] == "${aws_route_table.private[count.index].id}"
    assert "aws_nat_gateway.this[" in route["nat_gateway_id"]
    public = _network().resources[("aws_subnet", "public")]
    assert public["map_public_ip_on_launch"] is False


def test_endpoints_egress_has_no_way_to_the_internet() -> None:
    variables = {**_defaults(NETWORK), "egress": "endpoints"}
    assert variables["egress"] == _network().variables["egress"]["default"]
    for kind, name in (
        ("aws_internet_gateway", "this"),
        ("aws_nat_gateway", "this"),
        ("aws_eip", "nat"),
        ("aws_subnet", "public"),
        ("aws_route", "private_nat"),
        ("aws_route", "public_internet"),
    ):
        assert _count(NETWORK, kind, name, variables) == 0, (kind, name)


def test_the_vpc_logs_its_flows_and_its_default_security_group_allows_nothing() -> None:
    tf = _network()
    flow = tf.resources[("aws_flow_log", "this")]
    assert flow["vpc_id"] == "${aws_vpc.this.id}"
    assert flow["log_destination"] == "${aws_cloudwatch_log_group.flow_logs.arn}"
    group = tf.resources[("aws_cloudwatch_log_group", "flow_logs")]
    assert group["kms_key_id"] == "${var.kms_key_arn}"
    default = tf.resources[("aws_default_security_group", "this")]
    assert "ingress" not in default and "egress" not in default
    vpc = tf.resources[("aws_vpc", "this")]
    # private DNS of the interface endpoints needs both
    assert vpc["enable_dns_support"] is True and vpc["enable_dns_hostnames"] is True


def _gateway_endpoints() -> list[tuple[Path, str, dict[str, Any]]]:
    found = []
    for folder in tf_dirs():
        for (kind, name), body in load_dir(folder).resources.items():
            if kind == "aws_vpc_endpoint" and body.get("vpc_endpoint_type") == "Gateway":
                found.append((folder, name, body))
    return found


def test_every_gateway_endpoint_takes_route_tables_that_cannot_be_empty() -> None:
    endpoints = _gateway_endpoints()
    assert endpoints, "no gateway endpoint in infra/terraform"
    for folder, name, body in endpoints:
        where = f"{folder.relative_to(TERRAFORM)} aws_vpc_endpoint.{name}"
        match = re.fullmatch(r"\$\{var\.(\w+)\}", str(body.get("route_table_ids", "")))
        assert match, (
            f"{where}: route_table_ids must be a variable, not {body.get('route_table_ids')}"
        )
        assert not _valid(folder, match[1], []), f"{where}: an empty {match[1]} is accepted"
        assert _valid(folder, match[1], ["rtb-1"])


EXAMPLE_CASES = [
    pytest.param(vpc, egress, endpoints, tables, id=f"{vpc}-{egress}-{endpoints}-{tables}")
    for vpc in ("created", "given")
    for egress in ("endpoints", "nat")
    for endpoints in (None, True, False)
    for tables in ("none", "some")
    if not (vpc == "given" and egress == "nat")  # network_egress only applies to created ones
]


@pytest.mark.parametrize(("vpc", "egress", "endpoints", "tables"), EXAMPLE_CASES)
def test_every_gateway_endpoint_of_the_example_gets_route_tables(
    vpc: str, egress: str, endpoints: bool | None, tables: str
) -> None:
    # GIVEN the example configured one way: its own network or a given VPC, and endpoints
    example = load_dir(EXAMPLE)
    network_zones = _defaults(EXAMPLE)["network_az_count"]
    variables = {
        **_defaults(EXAMPLE),
        "vpc_id": None if vpc == "created" else "vpc-1",
        "private_subnet_ids": [] if vpc == "created" else ["subnet-1", "subnet-2"],
        "route_table_ids": ["rtb-1", "rtb-2"] if tables == "some" else [],
        "network_egress": egress,
        "create_vpc_endpoints": endpoints,
    }
    network_tables = [f"rtb-network-{i}" for i in range(network_zones)]
    evaluate = Evaluator(
        variables,
        example.locals,
        {"network.private_route_table_ids": network_tables, "network.vpc_id": "vpc-n"},
    )
    # WHEN Terraform would check the preconditions and count the endpoints module
    lifecycle = example.resources[("aws_security_group", "tasks")]["lifecycle"][0]
    accepted = all(evaluate(check["condition"]) for check in lifecycle["precondition"])
    call = example.modules["endpoints"]
    created = bool(evaluate(str(call["count"])))
    if not accepted:
        # a plan refused: only for a given VPC without its tables, or endpoints-only
        # egress with the endpoints turned off
        assert (vpc == "given" and tables == "none") or (
            egress == "endpoints" and endpoints is False
        )
        return
    # THEN the gateway endpoints, whenever made, get route tables the module accepts
    if created:
        route_tables = evaluate(call["route_table_ids"])
        assert route_tables, "gateway endpoints without route tables"
        assert route_tables == (
            network_tables if vpc == "created" else variables["route_table_ids"]
        )
        source = module_dir(EXAMPLE, call["source"])
        assert _valid(source, "route_table_ids", route_tables)
    # AND a created network always gets its gateway endpoints (free; the image layers and
    # the lake are in S3), and endpoints-only egress also every interface endpoint
    if vpc == "created" and endpoints is not False:
        assert created
    if vpc == "created" and egress == "endpoints":
        assert created and evaluate(call["create_interface_endpoints"]) is True
    if vpc == "created" and egress == "nat" and endpoints is None:
        assert evaluate(call["create_interface_endpoints"]) is False
    if vpc == "given" and endpoints is None:
        assert created and evaluate(call["create_interface_endpoints"]) is True


def test_the_example_runs_everything_in_the_chosen_network() -> None:
    example = load_dir(EXAMPLE)
    assert example.modules["network"]["count"] == "${local.create_network ? 1 : 0}"
    assert example.locals["create_network"] == "${var.vpc_id == null}"
    assert example.variables["vpc_id"]["default"] is None
    code = example.code()
    # after the locals, no resource or module reads the network variables directly
    uses = re.findall(r"var\.(vpc_id|private_subnet_ids|route_table_ids)\b", code)
    locals_text = "\n".join(str(example.locals[name]) for name in example.locals)
    in_locals = re.findall(r"var\.(vpc_id|private_subnet_ids|route_table_ids)\b", locals_text)
    lifecycle = str(example.resources[("aws_security_group", "tasks")]["lifecycle"])
    in_checks = re.findall(r"var\.(vpc_id|private_subnet_ids|route_table_ids)\b", lifecycle)
    assert sorted(uses) == sorted(in_locals + in_checks)
    for name in ("consumer", "batch", "workflow"):
        assert example.modules[name]["subnet_ids"] == "${local.private_subnet_ids}"


_APPLY_TIME = re.compile(r"(?<![\w.])(module\.\w+|aws_\w+\.\w+)")


def _known_only_after_apply(folder: Path, value: Any, seen: frozenset[str] = frozenset()) -> bool:
    """Whether an expression in `folder` reads a resource attribute or a module output
    (directly or through locals): unknown at the first plan."""
    text = str(value)
    if _APPLY_TIME.search(text.replace("data.aws_", "data_aws_")):
        return True
    tf = load_dir(folder)
    return any(
        name not in seen and _known_only_after_apply(folder, tf.locals[name], seen | {name})
        for name in re.findall(r"(?<![\w.])local\.(\w+)", text)
        if name in tf.locals
    )


@pytest.mark.parametrize("folder", [EXAMPLE], ids=["example"])
def test_no_resource_is_keyed_by_ids_known_only_after_apply(folder: Path) -> None:
    """`for_each` keys must be known at plan: a set of subnet or security group IDs the same
    apply creates (the network module's, the tasks' group) would fail the first plan."""
    meta = {"source", "count", "for_each", "depends_on", "providers"}
    for name, call in load_dir(folder).modules.items():
        source = module_dir(folder, call["source"])
        late = {
            arg
            for arg, value in call.items()
            if arg not in meta and _known_only_after_apply(folder, value)
        }
        for (kind, resource), body in load_dir(source).resources.items():
            keyed = set(re.findall(r"var\.(\w+)", str(body.get("for_each", ""))))
            assert not keyed & late, (
                f"module {name}: {kind}.{resource} for_each over {sorted(keyed & late)}, "
                "which the example passes from resources created in the same apply"
            )
