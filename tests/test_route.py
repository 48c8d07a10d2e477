"""The ``route`` verb (issue 25): a flow branches on the caller's number
(exact, prefix, a bank's list from a file, withheld), the dialled line, the
bank's hours and holidays, and a value; the checker refuses a bad branch
naming file, state and field; the picture shows every branch."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stasis_app.errors import ConfigError
from stasis_app.flow.context import CallContext
from stasis_app.flow.graph import to_dot, to_mermaid
from stasis_app.flow.model import load_flow
from stasis_app.tenants import OpeningHours, Tenant
from stasis_app.verbs.registry import VerbRegistry
from stasis_app.verbs.route import Route, RouteParams
from tests.support.fake_call import FakeCall

pytestmark = pytest.mark.unit


def tenant(routing: dict[str, Any]) -> Tenant:
    return Tenant.model_validate(
        {
            "id": "izbica",
            "name": "Izbica",
            "lines": ["100", "103"],
            "flow": "bank.yaml",
            "adapter": {"name": "demo"},
            "routing": routing,
        }
    )


async def route(
    branches: list[dict[str, Any]],
    *,
    caller: str = "48500100200",
    line: str = "100",
    routing: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
) -> str:
    params = RouteParams.model_validate({"branches": branches, "default": "main"})
    call = FakeCall(caller=caller, line=line)
    ctx = CallContext(call=call, tenant=tenant(routing or {}), bank=None, values=values or {})  # type: ignore[arg-type]
    return await Route().run(ctx, params)


async def test_the_callers_number_exact_prefix_withheld() -> None:
    assert await route([{"caller": "+48500100200", "to": "a"}]) == "caller +48500100200"
    assert await route([{"caller": "48500100201", "to": "a"}]) == "default"
    assert await route([{"caller": 48500100200, "to": "a"}]) == "caller 48500100200"  # YAML
    assert await route([{"caller_prefix": ["4822", "48500"], "to": "a"}]) == (
        "caller starts 4822 or 48500"
    )
    for hidden in ("", "anonymous"):
        assert await route([{"caller": "withheld", "to": "a"}], caller=hidden) == "caller withheld"
    assert await route([{"caller": "withheld", "to": "a"}]) == "default"
    # A withheld number is on no list and starts with no prefix.
    assert await route([{"caller_prefix": "4", "to": "a"}], caller="anonymous") == "default"


async def test_a_banks_list_from_a_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    listed = tmp_path / "vip.txt"
    listed.write_text("# VIPs\n+48500100200  # the chairman\n")
    routing = {"lists": {"vip": {"file": str(listed), "numbers": ["600100200"]}}}
    vip = [{"caller_in": "vip", "to": "consultant"}]
    assert await route(vip, routing=routing) == "caller in vip"
    assert await route(vip, caller="600100200", routing=routing) == "caller in vip"
    listed.write_text("48999999999\n")
    assert await route(vip, routing=routing) == "default"
    listed.unlink()  # gone: the listed numbers only, and a warning
    assert await route(vip, caller="600100200", routing=routing) == "caller in vip"
    # A bank without the list: nobody is on it.
    assert await route(vip) == "default"


async def test_the_dialled_line_on_a_banks_list() -> None:
    routing = {"lists": {"webservice_lines": {"numbers": ["103"]}}}
    branch = [{"line_in": "webservice_lines", "to": "webservice"}]
    assert await route(branch, line="103", routing=routing) == "line in webservice_lines"
    assert await route(branch, line="100", routing=routing) == "default"


async def test_hours_and_holidays() -> None:
    never = {"hours": {"office": {"days": [], "open": "08:00", "close": "16:00"}}}
    assert await route([{"closed": "office", "to": "night"}], routing=never) == "closed office"
    assert await route([{"open": "office", "to": "day"}], routing=never) == "default"
    # A bank without such hours is open at any hour.
    assert await route([{"closed": "office", "to": "night"}]) == "default"
    office = OpeningHours.model_validate(
        {"open": "08:00", "close": "16:00", "holidays": ["2026-12-24"]}
    )
    assert office.is_open(datetime(2026, 12, 23, 10, tzinfo=UTC))  # a Wednesday, 11:00 there
    assert not office.is_open(datetime(2026, 12, 24, 10, tzinfo=UTC))  # Christmas Eve
    assert not office.is_open(datetime(2026, 12, 23, 16, tzinfo=UTC))  # 17:00 in Warsaw
    assert not office.is_open(datetime(2026, 12, 26, 10, tzinfo=UTC))  # a Saturday


async def test_values_equal_in_over_under() -> None:
    values: dict[str, Any] = {"amount": "1500.50", "segment": "vip", "cards": ["x"]}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"value": "segment", "equals": "vip"}, "segment is vip"),
        ({"value": "segment", "in": ["gold", "vip"]}, "segment in gold or vip"),
        ({"value": "amount", "in": [7, "1500.50"]}, "amount in 7 or 1500.50"),
        ({"value": "amount", "greater_than": 1000}, "amount over 1000"),
        ({"value": "amount", "less_than": "2000"}, "amount under 2000"),
    ]
    for condition, event in cases:
        assert await route([{**condition, "to": "a"}], values=values) == event
    assert await route([{"value": "amount", "less_than": 1000, "to": "a"}], values=values) == (
        "default"
    )
    # Not a number, a list, or nothing collected: the branch does not hold.
    for name in ("segment", "cards", "missing"):
        branch = [{"value": name, "greater_than": 0, "to": "a"}]
        assert await route(branch, values=values) == "default"


async def test_the_first_branch_that_holds_wins() -> None:
    branches = [{"caller": "withheld", "to": "a"}, {"caller_prefix": "48", "to": "b"}]
    branches.append({"caller_prefix": "4850", "to": "c"})
    assert await route(branches) == "caller starts 48"


FLOW = """\
initial: split
states:
  split:
    verb: route
    params:
      branches:
{branches}
      default: main
  main: {{verb: hangup}}
  vip: {{verb: hangup}}
"""


def load(tmp_path: Path, branches: str) -> Any:
    path = tmp_path / "route.yaml"
    path.write_text(FLOW.format(branches=branches))
    return load_flow(path, VerbRegistry())


@pytest.mark.parametrize(
    ("branches", "field", "why"),
    [
        ("        - {caller_in: vip, to: nowhere}", "states.split.on.caller in vip", "nowhere"),
        ("        - {to: vip}", "states.split.params.branches.0", "exactly one of"),
        ("        - {caller: vip, to: vip}", "states.split.params.branches.0.caller", "neither"),
        ("        - {value: amount, to: vip}", "states.split.params.branches.0", "equals"),
        (
            "        - {caller_in: vip, equals: x, to: vip}",
            "states.split.params.branches.0",
            "value",
        ),
        ("        - {opne: office, to: vip}", "states.split.params.branches.0.opne", "Extra"),
        (
            "        - {caller_in: vip, to: vip}\n        - {caller_in: vip, to: main}",
            "states.split.params",
            "never runs",
        ),
    ],
)
def test_the_checker_names_the_bad_branch(
    tmp_path: Path, branches: str, field: str, why: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, branches)
    assert str(tmp_path / "route.yaml") in str(caught.value)
    assert field in str(caught.value) and why in str(caught.value)


def test_the_picture_shows_every_branch(tmp_path: Path) -> None:
    flow = load(
        tmp_path, "        - {caller_in: vip, to: vip}\n        - {closed: office, to: vip}"
    )
    mermaid = to_mermaid(flow)
    assert "split -->|caller in vip| vip" in mermaid
    assert "split -->|closed office| vip" in mermaid
    assert "split -->|default| main" in mermaid
    assert 'split -> vip [label="caller in vip"]' in to_dot(flow)
