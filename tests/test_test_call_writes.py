"""A test call from the admin page changes nothing at the bank: the engine
does not run a state that writes (blocks, block requests, transfers, SMS
codes, telekod changes); the caller hears that the operation is not carried
out in a test call, and the flow goes on as after a success. Reads run.
In a normal call the same states run (their writes are tested with each
verb: tests/test_operation.py, test_payment_verbs.py, test_telekod_change.py)."""

import asyncio
from pathlib import Path
from typing import Any

import pytest

from stasis_app.flow.context import TEST_REFERENCE, CallContext
from stasis_app.flow.engine import run_flow
from stasis_app.flow.model import Flow, State
from stasis_app.verbs.base import Verb, VerbParams
from stasis_app.verbs.block_request import BlockRequest, BlockRequestParams
from stasis_app.verbs.change_telekod import ChangeTelekodParams, ChangeTelekodVerb
from stasis_app.verbs.operation import OperationParams, OperationVerb
from stasis_app.verbs.payment import ExecuteParams, ExecuteTransferVerb, SendCode, TransferParams
from tests.support.fake_call import FakeCall

pytestmark = pytest.mark.unit


class Touched:
    """Stands for the bank, the SMS sender and the safeguards: records every
    use (a test call must make none)."""

    def __init__(self) -> None:
        self.used: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.used.append(name)
        raise AssertionError(f"a test call used {name}")


class End(Verb[VerbParams]):
    name = "end"
    terminal = True

    async def run(self, ctx: CallContext, params: VerbParams) -> str:
        return "done"


WRITES: list[tuple[Verb[Any], VerbParams, str, str | None]] = [
    (OperationVerb(), OperationParams(name="block_card"), "ok", "reference"),
    (OperationVerb(), OperationParams(name="block_internet_banking"), "ok", "reference"),
    (BlockRequest(), BlockRequestParams(), "done", "reference"),
    (SendCode(), TransferParams(), "sent", None),
    (ExecuteTransferVerb(), ExecuteParams(), "ok", "transfer_reference"),
    (ChangeTelekodVerb(), ChangeTelekodParams(prompt=["confirm_telekod_change"]), "ok", None),
]


def one_step(verb: Verb[Any], params: VerbParams, event: str) -> Flow:
    """A flow: the state under test, then "after" on ``event``, "other" on any other."""
    events = verb.events(params, [])
    on = {e: ("after" if e == event else "other") for e in events}
    end = State("after", End(), VerbParams(), {})
    other = State("other", End(), VerbParams(), {})
    return Flow(
        Path("t.yaml"),
        "step",
        {"step": State("step", verb, params, on), "after": end, "other": other},
    )


def context(test_call: bool) -> tuple[CallContext, FakeCall, Touched]:
    call, touched = FakeCall(), Touched()
    ctx = CallContext(call=call, tenant=None, bank=touched, sms=touched, test_call=test_call)  # type: ignore[arg-type]
    ctx.safeguards = touched  # type: ignore[assignment]
    return ctx, call, touched


@pytest.mark.parametrize(("verb", "params", "event", "keeps"), WRITES)
def test_a_test_call_does_not_carry_out_a_write_and_goes_on_as_after_success(
    verb: Verb[Any], params: VerbParams, event: str, keeps: str | None
) -> None:
    ctx, call, touched = context(test_call=True)
    assert asyncio.run(run_flow(one_step(verb, params, event), ctx)) == "after"
    assert call.heard == [["test_call_no_write"]]  # never silence
    assert touched.used == []  # no bank, no SMS, no block journal
    if keeps is not None:  # the success prompt after it has its reference to say
        assert ctx.values[keeps] == TEST_REFERENCE


@pytest.mark.parametrize(("verb", "params", "event", "keeps"), WRITES)
def test_a_normal_call_carries_out_the_write(
    verb: Verb[Any],
    params: VerbParams,
    event: str,
    keeps: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: list[str] = []

    async def run(self: Verb[Any], ctx: CallContext, params: VerbParams) -> str:
        ran.append(self.name)
        return event

    monkeypatch.setattr(type(verb), "run", run)
    ctx, call, _ = context(test_call=False)
    assert asyncio.run(run_flow(one_step(verb, params, event), ctx)) == "after"
    assert ran == [verb.name]
    assert call.heard == []


@pytest.mark.parametrize(
    "name", ["list_cards", "accounts", "last_operations", "account_balance", "exchange_rates"]
)
def test_reads_run_in_a_test_call(name: str) -> None:
    assert OperationVerb().test_call_skip(OperationParams(name=name)) is None


def test_every_prompt_catalogue_says_a_test_call_does_not_write() -> None:
    import yaml

    root = Path(__file__).parent.parent
    for path in (
        "config/prompts/pl.yaml",
        "config/prompts/uk.yaml",
        "config/prompts/en.yaml",
        "tests/data/config/prompts-short.yaml",
        "tests/data/config/uk.yaml",
        "tests/data/config/en.yaml",
    ):
        texts = yaml.safe_load((root / path).read_text(encoding="utf-8"))
        assert texts["test_call_no_write"].strip(), path
