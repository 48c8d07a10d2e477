"""The login verb with the guard: what the bank's answers (late, failed, never
sent, interrupted by a hangup) do to the count, the slot and the audit."""

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from adapters.errors import CircuitOpen, Timeout
from adapters.spec import Customer
from stasis_app.config import SecuritySettings
from stasis_app.flow.context import CallContext
from stasis_app.safeguards import Safeguards
from stasis_app.safeguards.audit import AuditLog
from stasis_app.safeguards.login_guard import Verdict
from stasis_app.store import Store
from stasis_app.verbs.login import Authenticate, LoginParams
from tests.support.fake_call import FakeCall

pytestmark = pytest.mark.unit
NUMBER = "12345678"


class Bank:
    """A core whose authenticate does what ``answer`` says, counting the asks."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.asked = 0

    async def authenticate(self, number: str, pin: str) -> Customer:
        self.asked += 1
        if isinstance(self.answer, BaseException):
            raise self.answer
        customer: Customer = await self.answer()
        return customer


def guards(tmp_path: Path) -> Safeguards:
    policy = SecuritySettings(min_login_seconds=0, lock_after=5, login_wait_seconds=0)
    return Safeguards.on(Store(tmp_path / "state.sqlite"), policy)


async def login(safeguards: Safeguards, bank: Bank) -> str:
    tenant = SimpleNamespace(id="t", login_rate_per_minute=None, adapter=SimpleNamespace(timeout=5))
    ctx = CallContext(call=FakeCall(), tenant=tenant, bank=bank)  # type: ignore[arg-type]
    ctx.safeguards = safeguards
    ctx.values["customer_number"] = NUMBER
    ctx.secrets["pin"] = "0000"
    return await Authenticate().run(ctx, LoginParams(secret="pin"))


async def test_late_answers_give_no_free_guesses(tmp_path: Path) -> None:
    """A core that answers wrong telekods after the adapter's timeout has still
    checked them: each counts, and the sixth never reaches the bank. (Before,
    a timeout took the attempt back and guessing had no limit.)"""
    safeguards, bank = guards(tmp_path), Bank(Timeout("late"))
    answers = [await login(safeguards, bank) for _ in range(6)]
    assert answers == ["unavailable"] * 4 + ["too_many", "too_many"]
    assert bank.asked == 5
    assert safeguards.guard.failures("t", NUMBER, "authenticate")[1] > time.time()


async def test_a_request_the_breaker_never_sent_is_not_an_attempt(tmp_path: Path) -> None:
    safeguards, bank = guards(tmp_path), Bank(CircuitOpen("open"))
    for _ in range(8):
        assert await login(safeguards, bank) == "unavailable"
    assert safeguards.guard.failures("t", NUMBER, "authenticate") == (0, 0.0)


async def test_a_hangup_mid_login_is_audited_and_keeps_the_slot(tmp_path: Path) -> None:
    """The caller hangs up while the bank checks: the attempt stays counted, is
    audited as abandoned, and no other login for the number reaches the bank
    while this one may still be checked. (Before: no audit entry, and the slot
    was free at once.)"""
    never = asyncio.Event()

    async def checking() -> Customer:
        await never.wait()
        raise AssertionError("unreachable")

    safeguards = guards(tmp_path)
    task = asyncio.create_task(login(safeguards, Bank(checking)))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    guard = safeguards.guard
    assert guard.failures("t", NUMBER, "authenticate")[0] == 1
    [entry] = AuditLog(safeguards.audit.store).entries(limit=5)
    assert (entry.action, entry.result, entry.customer) == ("authenticate", "abandoned", "*****678")
    assert guard.begin("t", "700", NUMBER, "authenticate").verdict is Verdict.BUSY
    later = time.time() + 6  # the adapter's timeout has passed
    assert guard.begin("t", "700", NUMBER, "authenticate", now=later).allowed
