"""The call's Protocol (``CallPort`` in stasis_app/telephony/ports.py) lists
exactly what flows, verbs and the consultant queue ask of a call, the real
``Call`` and the unit tests' ``FakeCall`` keep to it, nothing outside
telephony reaches into a call's insides, and the fake behaves as the real
call does where a verb notices."""

import ast
import asyncio
from pathlib import Path

import pytest

from stasis_app.errors import CallHungUp
from stasis_app.telephony.call import Call
from stasis_app.telephony.ports import CallPort
from tests.support.fake_call import BY_APP, TRANSFERRED, FakeCall

pytestmark = pytest.mark.unit

APP = Path(__file__).resolve().parent.parent / "stasis_app"
DRIVERS = ("flow", "verbs", "queue")  # the packages that drive a call
INSIDES = {"keys", "gateway", "handle", "left_app", "prompts"}


def conforming(real: Call, fake: FakeCall) -> list[CallPort]:
    """Checked by mypy, not run: both stand where a flow's call stands."""
    return [real, fake]


def members(protocol: type) -> set[str]:
    return {name for name in vars(protocol) if not name.startswith("_")}


def asked_of_call(path: Path) -> set[str]:
    """What ``path`` asks of a call reached as ``<x>.call`` or a local ``call``."""
    asked = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Attribute):
            continue
        target = node.value
        if isinstance(target, ast.Name) and target.id == "call":
            asked.add(node.attr)
        if isinstance(target, ast.Attribute) and target.attr == "call":
            asked.add(node.attr)
    return asked


def test_call_port_lists_what_flows_verbs_and_the_queue_ask_of_a_call() -> None:
    asked: set[str] = set()
    for package in DRIVERS:
        for path in (APP / package).glob("*.py"):
            asked |= asked_of_call(path)
    assert asked == members(CallPort)


def test_nothing_outside_telephony_reaches_into_a_call() -> None:
    reaching = {
        f"{path.relative_to(APP)}: call.{name}"
        for path in APP.rglob("*.py")
        if "telephony" not in path.parts and path.name != "app.py"  # app.py owns the Call
        for name in asked_of_call(path) & INSIDES
    }
    assert reaching == set()


@pytest.mark.parametrize("call", [Call, FakeCall])
def test_the_real_call_and_the_fake_have_every_member(call: type) -> None:
    attributes = {"channel_id", "line", "caller", "hung_up", "interrupts", "language"}
    assert members(CallPort) - attributes <= set(dir(call))


async def test_the_fake_reads_typed_keys_as_the_real_call_reads_its_buffer() -> None:
    call = FakeCall(keys="12#9")
    assert await call.read_digits(4) == "12"  # the terminator ends it, not returned
    assert call.drop_key("8") is False and call.drop_key("9") is True
    call.press("1")
    assert await call.say(["main_menu"], barge_in=True) is True  # already answered
    assert call.heard == []
    assert call.take_key() == "1" and call.take_key() is None
    assert await call.read_digits(3) == ""  # nothing typed: a timeout


async def test_after_a_transfer_or_hangup_the_next_wait_raises() -> None:
    call = FakeCall()
    await call.continue_in_dialplan("consultants", "100")
    assert (call.ended, call.transferred_to) == (TRANSFERRED, ("consultants", "100"))
    with pytest.raises(CallHungUp):
        await call.next_event(1)
    assert call.hung_up
    gone = FakeCall()
    await gone.hangup()
    await gone.hangup()  # one already gone is fine
    assert gone.ended == BY_APP
    with pytest.raises(CallHungUp):
        await gone.read_digits(1)


async def test_the_fake_knows_only_its_prompts_and_plays_the_filler_when_work_is_slow() -> None:
    call = FakeCall(prompts=["greeting", "please_wait"])
    assert call.unknown_prompts(["greeting", "goodbye"]) == {"goodbye"}
    with pytest.raises(KeyError, match="goodbye"):
        await call.say(["goodbye"])
    assert await call.while_waiting(asyncio.sleep(0.05, "ok"), "please_wait", 0.01) == "ok"
    assert await call.while_waiting(asyncio.sleep(0, "quick"), "please_wait", 1) == "quick"
    assert call.heard == [["please_wait"]]
