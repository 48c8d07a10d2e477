"""The operation verb against the demo bank: blocks, ids, levels."""

import typing
from pathlib import Path

import pytest

from adapters.demo import DemoBank, DemoSettings
from adapters.spec import Customer
from stasis_app.flow.context import CallContext
from stasis_app.tenants import Tenant
from stasis_app.verbs.operation import OPERATIONS, OperationParams, OperationVerb
from tests.support.fake_call import FakeCall

pytestmark = pytest.mark.unit


def context(tmp_path: Path, level: str = "identified") -> tuple[CallContext, DemoBank]:
    bank = DemoBank(DemoSettings(database=tmp_path / "d.sqlite", tenant="izbica"))
    tenant = Tenant(
        id="izbica", name="BS Izbica", lines=["100"], flow=Path("f.yaml"), adapter={"name": "demo"}
    )
    ctx = CallContext(call=FakeCall(), tenant=tenant, bank=bank)
    ctx.customer, ctx.level, ctx.state = Customer("12345678"), level, "card_block"
    return ctx, bank


async def run(ctx: CallContext, name: str) -> str:
    params = OperationParams(name=name)  # a str: pydantic checks it is an operation
    return await OperationVerb().run(ctx, params)


async def test_two_cards_blocked_in_one_call_are_two_blocks(tmp_path: Path) -> None:
    ctx, bank = context(tmp_path)
    assert await run(ctx, "list_cards") == "ok"
    first, second = ctx.values["cards"]
    ctx.values["card"] = first
    assert await run(ctx, "block_card") == "ok"
    reference = ctx.values["reference"]
    assert await run(ctx, "block_card") == "ok"  # confirmed again: the same block
    assert ctx.values["reference"] == reference
    ctx.values["card"] = second
    assert await run(ctx, "block_card") == "ok"  # same state, another card
    assert ctx.values["reference"] != reference
    state = bank.snapshot("12345678")
    assert [c["status"] for c in state["cards"]] == ["blocked", "blocked"]
    assert len(state["blocks"]) == 2


async def test_balance_needs_the_telekod(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, level="identified")
    assert await run(ctx, "accounts") == "not_allowed"
    assert "accounts" not in ctx.values
    ctx.level = "authenticated"
    assert await run(ctx, "accounts") == "ok"


def test_every_operation_in_the_table_may_be_named_in_a_flow() -> None:
    """A banking operation is a row of OPERATIONS and a name the flow's params
    accept: the two lists are one (a row without the name could never run)."""
    field = OperationParams.model_fields["name"].annotation
    assert set(typing.get_args(field)) == set(OPERATIONS)
