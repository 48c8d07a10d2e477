"""Predefined transfers paid with a one-time SMS code, and the telekod change,
on the demo bank with a real audit trail and the demo outbox as the phone."""

import asyncio
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from adapters.demo import DemoBank, DemoSettings
from adapters.sms import Sms
from adapters.sms_outbox import OutboxSender, OutboxSettings, read_outbox
from adapters.spec import Customer, PredefinedTransfer
from stasis_app.config import SecuritySettings
from stasis_app.errors import CallHungUp
from stasis_app.flow.context import CallContext
from stasis_app.safeguards import Safeguards
from stasis_app.store import Store
from stasis_app.tenants import Tenant
from stasis_app.verbs.change_telekod import ChangeTelekodParams, ChangeTelekodVerb
from stasis_app.verbs.payment import (
    ExecuteParams,
    ExecuteTransferVerb,
    ListParams,
    ListTransfers,
    SendCode,
    TransferParams,
    amount_text,
)
from tests.support.fake_call import FakeCall

pytestmark = pytest.mark.unit


def context(
    tmp_path: Path, keys: str = "", sms: Any = "outbox", **tenant: Any
) -> tuple[CallContext, DemoBank]:
    bank = DemoBank(DemoSettings(database=tmp_path / "d.sqlite", tenant="izbica"))
    policy = SecuritySettings(min_login_seconds=0, lock_after=5, login_wait_seconds=0)
    config = Tenant(
        id="izbica",
        name="BS w Izbicy",
        lines=["100"],
        flow=Path("f.yaml"),
        **{"adapter": {"name": "demo"}, **tenant},
    )
    sender = OutboxSender(OutboxSettings(outbox=tmp_path / "sms.jsonl")) if sms == "outbox" else sms
    ctx = CallContext(call=FakeCall(keys=keys), tenant=config, bank=bank, sms=sender)
    ctx.safeguards = Safeguards.on(Store(tmp_path / "state.sqlite"), policy)
    ctx.customer, ctx.level = Customer("12345678"), "authenticated"
    ctx.values["customer_number"] = "12345678"
    return ctx, bank


def last_code(tmp_path: Path) -> str:
    text = read_outbox(tmp_path / "sms.jsonl")[-1]["text"]
    found = re.search(r"kod (\d{6})", text)
    assert found is not None, text
    return found.group(1)


async def chosen(ctx: CallContext) -> PredefinedTransfer:
    assert await ListTransfers().run(ctx, ListParams()) == "ok"
    transfer: PredefinedTransfer = ctx.values["transfers"][0]
    ctx.values["transfer"] = transfer
    return transfer


async def pay(ctx: CallContext, code: str) -> str:
    ctx.secrets["sms_code"] = code
    return await ExecuteTransferVerb().run(ctx, ExecuteParams())


def audit(ctx: CallContext) -> list[tuple[str, str]]:
    assert ctx.safeguards is not None
    return [(e.action, e.result) for e in ctx.safeguards.audit.entries()]


def test_amounts_as_a_text_message_writes_them() -> None:
    from decimal import Decimal

    assert amount_text(Decimal("120.00"), "PLN") == "120,00 zł"
    assert amount_text(Decimal("1234567.5"), "PLN") == "1 234 567,50 zł"
    assert amount_text(Decimal("5"), "EUR") == "5,00 EUR"


async def test_the_right_code_carries_out_the_transfer_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ctx, _ = context(tmp_path)
    transfer = await chosen(ctx)
    assert await SendCode().run(ctx, TransferParams()) == "sent"
    [sms] = read_outbox(tmp_path / "sms.jsonl")
    assert sms["customer"] == "12345678" and sms["tenant"] == "izbica"
    # The text names the bank, the amount and the payee, as banks' texts do.
    assert sms["text"].startswith("BS w Izbicy: kod ")
    assert f"{amount_text(transfer.amount, 'PLN')} dla {transfer.payee}" in sms["text"]
    code = last_code(tmp_path)
    assert await pay(ctx, code) == "ok"
    reference = ctx.values["transfer_reference"]
    assert reference.isdigit()
    assert await pay(ctx, code) == "not_allowed"  # used: no second transfer
    assert audit(ctx) == [
        ("predefined_transfers", "ok"),
        ("sca_code", "sent"),
        ("sca_code", "ok"),
        ("execute_transfer", "ok"),
    ]
    assert ctx.safeguards is not None
    assert ctx.safeguards.audit.entries()[-1].reference == reference
    # The code is nowhere but the phone (the outbox): no log, audit, value, state file.
    everywhere = caplog.text + repr(ctx.values) + repr(ctx.challenge)
    everywhere += repr(ctx.safeguards.audit.entries())
    assert code not in everywhere
    for path in tmp_path.iterdir():
        if path.name != "sms.jsonl":
            assert code.encode() not in path.read_bytes(), path


async def test_a_wrong_code_then_the_right_one(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path)
    await chosen(ctx)
    await SendCode().run(ctx, TransferParams())
    code = last_code(tmp_path)
    assert await pay(ctx, f"{(int(code) + 1) % 10**6:06d}") == "wrong"
    assert await pay(ctx, code) == "ok"


async def test_three_wrong_codes_cancel_the_transfer(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path)
    await chosen(ctx)
    await SendCode().run(ctx, TransferParams())
    code = last_code(tmp_path)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert [await pay(ctx, wrong) for _ in range(3)] == ["wrong", "wrong", "cancelled"]
    assert await pay(ctx, code) == "not_allowed"
    assert ("sca_code", "cancelled") in audit(ctx)
    assert not any(action == "execute_transfer" for action, _ in audit(ctx))


async def test_an_expired_code_carries_out_nothing(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, payment_codes={"lifetime": 0.05})
    await chosen(ctx)
    await SendCode().run(ctx, TransferParams())
    await asyncio.sleep(0.1)
    assert await pay(ctx, last_code(tmp_path)) == "expired"
    assert ("sca_code", "expired") in audit(ctx)
    assert not any(action == "execute_transfer" for action, _ in audit(ctx))


async def test_a_code_for_one_transfer_never_pays_another(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path)
    await chosen(ctx)
    await SendCode().run(ctx, TransferParams())
    ctx.values["transfer"] = ctx.values["transfers"][1]  # another payee and amount
    assert await pay(ctx, last_code(tmp_path)) == "wrong"


async def test_no_sender_or_a_failing_one_is_unavailable(tmp_path: Path) -> None:
    class Broken:
        async def send(self, sms: Sms) -> None:
            raise OSError("gateway down")

        async def close(self) -> None:
            return None

    class Hanging(Broken):
        async def send(self, sms: Sms) -> None:
            await asyncio.sleep(60)

    for sender in (None, Broken(), Hanging()):
        ctx, _ = context(tmp_path, sms=sender, adapter={"name": "demo", "timeout": 0.1})
        await chosen(ctx)
        assert await SendCode().run(ctx, TransferParams()) == "unavailable"
        assert ctx.challenge is None
        assert await pay(ctx, "123456") == "not_allowed"


async def test_only_a_telekod_login_pays(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path)
    await chosen(ctx)
    ctx.level = "identified"
    assert await SendCode().run(ctx, TransferParams()) == "not_allowed"
    assert await ListTransfers().run(ctx, ListParams()) == "not_allowed"
    assert read_outbox(tmp_path / "sms.jsonl") == []


def wrong_of(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def test_five_wrong_codes_in_a_row_block_paying_over_calls(tmp_path: Path) -> None:
    """PSD2 RTS art. 4(3)(b): failed codes count per customer, not per code,
    so a new login and a new code do not start the count again."""
    first, bank = context(tmp_path)
    await chosen(first)
    assert await SendCode().run(first, TransferParams()) == "sent"
    wrong = wrong_of(last_code(tmp_path))
    assert [await pay(first, wrong) for _ in range(3)] == ["wrong", "wrong", "cancelled"]
    second, _ = context(tmp_path)  # the caller logs in again, on another call
    await chosen(second)
    assert await SendCode().run(second, TransferParams()) == "sent"
    right = last_code(tmp_path)
    # The fifth wrong code in a row blocks at once, though this code had a try left.
    assert [await pay(second, wrong_of(right)) for _ in range(2)] == ["wrong", "cancelled"]
    assert await pay(second, right) == "not_allowed"
    assert ("sca_code", "locked") in audit(second)
    third, _ = context(tmp_path)
    await chosen(third)
    sent = len(read_outbox(tmp_path / "sms.jsonl"))
    assert await SendCode().run(third, TransferParams()) == "blocked"
    assert len(read_outbox(tmp_path / "sms.jsonl")) == sent  # no code for a blocked customer
    assert audit(third)[-1] == ("sca_code", "blocked")
    assert bank.snapshot("12345678")["transfers_done"] == []  # nothing paid


async def test_a_right_code_starts_the_count_again_and_the_block_ends(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, payment_codes={"lock_after": 2, "lock_minutes": 0.001})
    await chosen(ctx)
    await SendCode().run(ctx, TransferParams())
    code = last_code(tmp_path)
    assert await pay(ctx, wrong_of(code)) == "wrong"
    assert await pay(ctx, code) == "ok"  # the count is back at zero
    ctx.values["transfer"] = ctx.values["transfers"][1]
    assert await SendCode().run(ctx, TransferParams()) == "sent"
    assert await pay(ctx, wrong_of(last_code(tmp_path))) == "wrong"  # one in a row only
    assert await pay(ctx, wrong_of(last_code(tmp_path))) == "cancelled"  # two: blocked
    later, _ = context(tmp_path, payment_codes={"lock_after": 2, "lock_minutes": 0.001})
    later.values["transfer"] = ctx.values["transfer"]
    assert await SendCode().run(later, TransferParams()) == "blocked"
    await asyncio.sleep(0.1)  # the block (0.06 s here) is over
    assert await SendCode().run(later, TransferParams()) == "sent"


async def test_a_call_gets_only_so_many_codes(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path)
    await chosen(ctx)
    assert [await SendCode().run(ctx, TransferParams()) for _ in range(4)] == [
        "sent", "sent", "sent", "blocked",
    ]  # fmt: skip
    assert len(read_outbox(tmp_path / "sms.jsonl")) == 3
    assert audit(ctx)[-1] == ("sca_code", "call_limit")
    assert ctx.challenge is None


async def test_a_hang_up_while_sending_unwinds_the_call(tmp_path: Path) -> None:
    class HungUp:
        async def send(self, sms: Sms) -> None:
            raise CallHungUp("gone")

        async def close(self) -> None:
            return None

    ctx, _ = context(tmp_path, sms=HungUp())
    await chosen(ctx)
    with pytest.raises(CallHungUp):
        await SendCode().run(ctx, TransferParams())
    # Not "unavailable": the code may have gone out when the call ended.
    assert audit(ctx)[-1] == ("sca_code", "abandoned")
    assert ctx.challenge is None


async def test_the_same_transfer_twice_in_a_call_is_not_paid_or_told_as_new(
    tmp_path: Path,
) -> None:
    ctx, bank = context(tmp_path)
    await chosen(ctx)
    await SendCode().run(ctx, TransferParams())
    assert await pay(ctx, last_code(tmp_path)) == "ok"
    reference = ctx.values.pop("transfer_reference")
    assert await SendCode().run(ctx, TransferParams()) == "done_already"
    assert ctx.values["transfer_reference"] == reference  # the first one's reference
    assert len(read_outbox(tmp_path / "sms.jsonl")) == 1  # no code for it
    assert ctx.challenge is None and await pay(ctx, "000000") == "not_allowed"
    assert audit(ctx)[-1] == ("sca_code", "done_already")
    assert len(bank.snapshot("12345678")["transfers_done"]) == 1
    ctx.values["transfer"] = ctx.values["transfers"][1]  # another one is a new order
    assert await SendCode().run(ctx, TransferParams()) == "sent"


NEW_TELEKOD = "258036"


async def change(ctx: CallContext, old: str, new: str, again: str | None = None) -> str:
    ctx.secrets.update(pin=old, new_pin=new, new_pin_again=new if again is None else again)
    return await ChangeTelekodVerb().run(
        ctx, ChangeTelekodParams(prompt=["confirm_telekod_change"])
    )


async def test_the_telekod_is_changed_after_confirming(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Six digits: a four-digit value turns up by chance in the store's hex
    # hashes and time stamps (one run in a few dozen), a six-digit one does not.
    caplog.set_level(logging.DEBUG)
    ctx, bank = context(tmp_path, keys="1")
    assert await change(ctx, "1234", NEW_TELEKOD) == "ok"
    assert await bank.authenticate("12345678", NEW_TELEKOD) == Customer("12345678")
    with pytest.raises(Exception, match="not accepted"):
        await bank.authenticate("12345678", "1234")
    assert ("change_telekod", "ok") in audit(ctx)
    assert NEW_TELEKOD not in caplog.text and NEW_TELEKOD not in repr(ctx.safeguards)
    assert ctx.secrets == {}
    for path in tmp_path.iterdir():
        assert NEW_TELEKOD.encode() not in path.read_bytes(), path


async def test_the_rules_are_checked_before_the_bank_is_asked(tmp_path: Path) -> None:
    ctx, bank = context(tmp_path, keys="1")
    assert await change(ctx, "1234", "2580", "2581") == "mismatch"
    assert await change(ctx, "1234", "1111") == "weak"
    assert await change(ctx, "1234", "6789") == "weak"
    # The bank was not asked: no login was audited, the old telekod still works.
    assert audit(ctx) == [("change_telekod", r) for r in ("mismatch", "weak", "weak")]
    assert await bank.authenticate("12345678", "1234") == Customer("12345678")


async def test_a_wrong_old_telekod_is_a_counted_failed_login(tmp_path: Path) -> None:
    ctx, bank = context(tmp_path, keys="1")
    assert await change(ctx, "9999", "2580") == "refused"
    assert ctx.customer is None  # logged out
    assert audit(ctx)[-2:] == [("authenticate", "refused"), ("change_telekod", "refused")]
    assert ctx.safeguards is not None
    assert ctx.login_failures == 1
    assert await bank.authenticate("12345678", "1234") == Customer("12345678")


async def test_cancelling_keeps_the_telekod(tmp_path: Path) -> None:
    ctx, bank = context(tmp_path, keys="2")
    assert await change(ctx, "1234", "2580") == "cancelled"
    assert await bank.authenticate("12345678", "1234") == Customer("12345678")
