"""Predefined transfers with a one-time SMS code and the telekod change, on
real calls to the demo banks, all placed at once.

The transfer callers are SIPp phones (tests/support/sms_phone.py): they type
their keys as RFC 4733 events, and when the demo outbox (the customer's
phone) has the code, the test tells the phone, which types it. What each
caller heard is read from the ARI events of its channel; what the bank did,
from the demo bank's records.
"""

import asyncio
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.demo import DemoBank, DemoSettings
from adapters.sms_outbox import read_outbox
from devtools.sandbox import Sandbox
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from tests.conftest import TEST_CONFIG, connected
from tests.support.app_process import AppProcess
from tests.support.ari_client import Ari, Witness
from tests.support.leak_scan import leaks
from tests.support.sipp import SippResult, sipp_call
from tests.support.sms_phone import SmsPhone
from voice.polish import UNITS

pytestmark = pytest.mark.asterisk

SETTINGS = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
DEPLOYMENT = build_deployment(SETTINGS, with_adapters=False)
TEXTS = dict(DEPLOYMENT.tenants["cieszyn"].prompts.texts)
HEARD = DEPLOYMENT.heard_texts()
OUTBOX = Path(SETTINGS.tenants["cieszyn"].sms.settings["outbox"])  # type: ignore[union-attr]
LINES = {"cieszyn": "101", "staszow": "102"}
# Typed ahead: balance with the telekod, 2 predefined transfers, 1 the first
# (PGE Obrót, 120 zł). Then 1 to confirm once the confirmation said the payee
# and amount, and the code once the SMS came (the test tells the phone).
TRANSFER_KEYS = [(800, "2123456781234#21")]
NEW_PIN = "739164"  # occurs nowhere else, so finding it in a file means something
CHANGER, NEW_LOGIN, OLD_LOGIN = "48500100303", "48500100304", "48500100305"


def bank(tenant: str) -> DemoBank:
    return DemoBank(DemoSettings(**SETTINGS.tenants[tenant].adapter.settings))


@dataclass
class Phoned:
    """What one SIPp transfer caller heard and how its call ended."""

    sipp: SippResult
    heard: list[str]  # prompt texts and number words, in order
    sms: dict[str, Any]  # the message the phone got


def code_of(sms: dict[str, Any]) -> str:
    found = re.search(r"kod (\d{6}) ", sms["text"])
    assert found is not None, sms
    return found.group(1)


async def sms_for(tenant: str, after: str, timeout: float = 30) -> dict[str, Any]:
    """The first message to ``tenant``'s customer 12345678 written after ``after``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in read_outbox(OUTBOX):
            if message["tenant"] == tenant and message["at"] > after:
                return message
        await asyncio.sleep(0.1)
    raise AssertionError(f"no SMS for {tenant} within {timeout}s")


def heard_on(witness: Witness, caller: str) -> list[str]:
    channels = {
        e["channel"]["id"]
        for e in witness.events
        if e.get("type") == "ChannelCreated" and e["channel"]["caller"]["number"] == caller
    }
    return [
        HEARD.get(e["playback"]["media_uri"], "(live)")
        for e in witness.events
        if e.get("type") == "PlaybackStarted"
        and e["playback"]["target_uri"].removeprefix("channel:") in channels
    ]


async def until_heard(witness: Witness, caller: str, text: str, times: int = 1) -> None:
    """Until ``text`` started playing to ``caller`` for the ``times``-th time."""
    for _ in range(400):
        if heard_on(witness, caller).count(text) >= times:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{caller} never heard {text!r}: {heard_on(witness, caller)}")


async def transfer_call(
    witness: Witness,
    tenant: str,
    caller: str,
    workdir: Path,
    tell: Any,
    until: tuple[str, int],
    wait_after_sms: float = 0,
) -> Phoned:
    """A SIPp caller at ``tenant`` orders the first predefined transfer, types
    what ``tell(code)`` gives once the SMS came, and hangs up when it heard
    ``until`` (a prompt's text, the how-many-th time)."""
    started = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
    phone = SmsPhone(LINES[tenant], TRANSFER_KEYS, workdir, caller=caller, tells=2)
    call = asyncio.create_task(phone.call())
    try:
        await until_heard(witness, caller, TEXTS["confirm_order"])
        await asyncio.sleep(0.4)  # a short prompt: heard whole
        phone.tell("1")
        sms = await sms_for(tenant, started)
        await asyncio.sleep(wait_after_sms)
        phone.tell(tell(code_of(sms)))
        await until_heard(witness, caller, *until)
    finally:
        phone.hang_up()
    result = await call
    return Phoned(result, heard_on(witness, caller), sms)


def digits_after(heard: list[str], text: str) -> str:
    start = len(heard) - heard[::-1].index(text)
    digits = ""
    for word in heard[start:]:
        if word not in UNITS[:10]:
            break
        digits += str(UNITS.index(word))
    return digits


@dataclass
class Round:
    right: Phoned  # a wrong code first, then the right one
    expired: Phoned  # the code typed after it expired
    change: list[str]  # what the caller changing the telekod heard
    new_login: list[str]  # the next call: the new telekod
    old_login: list[str]  # the next call: the old one
    records: dict[str, dict[str, Any]]
    leaks: list[str]  # files (other than the phone's outbox) holding a code or the telekod


async def timed(name: str, work: Any) -> Any:
    began = time.monotonic()
    try:
        return await work
    finally:
        print(f"{name}: {time.monotonic() - began:.1f} s")


async def all_calls(ari: Ari, workdir: Path, places: list[Path]) -> Round:
    async with Witness(ari) as witness:

        def wrong_then_right(code: str) -> str:
            return f"{(int(code) + 1) % 10**6:06d}{code}"

        async def telekod() -> tuple[list[str], list[str], list[str]]:
            # Typed ahead in one go (the prompts they answer are skipped): 2
            # balance, number, telekod; 3 change: the one in use, the new one
            # twice, 1 confirm. Then the next calls: the new one, the old one.
            keys = f"2876543214321#34321#{NEW_PIN}#{NEW_PIN}#1"
            change = await sipp_call(
                "101", keys, 800, workdir / "change", caller=CHANGER, hangup_after_ms=3500
            )
            assert change.returncode == 0, change.output
            logins = await asyncio.gather(
                *(
                    sipp_call(
                        "101", f"287654321{pin}#", 800, workdir / pin, caller=who,
                        hangup_after_ms=2500,
                    )
                    for pin, who in ((NEW_PIN, NEW_LOGIN), ("4321", OLD_LOGIN))
                )
            )  # fmt: skip
            assert all(login.returncode == 0 for login in logins), logins
            changed, new, old = (heard_on(witness, who) for who in (CHANGER, NEW_LOGIN, OLD_LOGIN))
            return changed, new, old

        right, expired, (change, new, old) = await asyncio.gather(
            timed(
                "right",
                transfer_call(
                    witness,
                    "cieszyn",
                    "48500100301",
                    workdir / "right",
                    wrong_then_right,
                    until=(TEXTS["after_order_menu"], 1),
                ),
            ),
            transfer_call(
                witness,
                "staszow",
                "48500100302",
                workdir / "expired",
                str,
                until=(TEXTS["main_menu"], 2),
                wait_after_sms=1.5,
            ),
            telekod(),
        )
    records = {tenant: bank(tenant).snapshot("12345678") for tenant in LINES}
    await asyncio.sleep(0.5)  # logs flushed
    secrets = [NEW_PIN, code_of(right.sms), code_of(expired.sms)]
    found = leaks([*places, OUTBOX.parent], secrets)
    return Round(
        right, expired, change, new, old, records, [f for f in found if str(OUTBOX) not in f]
    )


@pytest.fixture(scope="module")
def calls(
    app: AppProcess, ari: Ari, sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> Round:
    connected(app, ari)
    banks = [bank(tenant) for tenant in LINES]
    for each in banks:
        each.reset()
    places = [
        app.log_path.parent,  # the app's log
        Path(str(SETTINGS.state)).parent,  # state store, audit, demo bank
        SETTINGS.voice.cache_dir,  # rendered prompts and live speech
        sandbox.root / "var" / "log" / "asterisk",
        sandbox.root / "var" / "spool" / "asterisk",
    ]
    try:
        return asyncio.run(all_calls(ari, tmp_path_factory.mktemp("sms"), places))
    finally:
        for each in banks:
            each.reset()  # the seed telekods again, for every other test


def test_a_transfer_is_carried_out_only_with_the_right_sms_code(calls: Round) -> None:
    """A wrong code is refused and the right one, typed next, carries the
    transfer out: the caller hears its reference, the bank has it, once."""
    right = calls.right
    assert right.sipp.returncode == 0, right.sipp.output
    # The text names the amount and the payee of the transfer chosen.
    assert "120,00 zł dla PGE Obrót" in right.sms["text"]
    assert TEXTS["sms_code_wrong"] in right.heard
    [done] = calls.records["cieszyn"]["transfers_done"]
    assert done["transfer_id"] == "pt-1"
    assert digits_after(right.heard, TEXTS["order_done"]) == done["reference"]
    # The confirmation said the payee live (offline engine, never cached) and
    # the amount in words.
    assert TEXTS["confirm_order"] in right.heard, " | ".join(right.heard)
    confirm = right.heard.index(TEXTS["confirm_order"])
    start = confirm - right.heard[confirm::-1].index(TEXTS["order_to"])
    payee, amount = right.heard[start + 1], right.heard[start + 3 : confirm]
    assert payee == "(live)" and right.heard[start + 2] == TEXTS["order_amount"]
    assert " ".join(amount) == "sto dwadzieścia złotych"


def test_an_expired_code_carries_out_nothing(calls: Round) -> None:
    expired = calls.expired
    assert expired.sipp.returncode == 0, expired.sipp.output
    assert TEXTS["sms_code_expired"] in expired.heard
    assert TEXTS["order_done"] not in expired.heard
    assert calls.records["staszow"]["transfers_done"] == []


def test_the_telekod_is_changed_and_only_the_new_one_logs_in(calls: Round) -> None:
    assert TEXTS["telekod_changed"] in calls.change, calls.change
    assert TEXTS["balance_is"] in calls.new_login, calls.new_login
    assert TEXTS["login_refused"] in calls.old_login, calls.old_login
    assert TEXTS["balance_is"] not in calls.old_login


def test_the_codes_and_the_new_telekod_are_in_no_file(calls: Round) -> None:
    """Only the phone (the demo outbox) has the codes; nothing has the telekod."""
    assert calls.leaks == []
