"""The guard around adapter calls: timeouts and one exception tree."""

import asyncio
import logging
from typing import Any

import pytest

from adapters.errors import Refused, Timeout, Unavailable
from adapters.guard import GuardedAdapter
from adapters.spec import Customer

pytestmark = pytest.mark.unit


class Misbehaving:
    """An adapter double: hangs, crashes or refuses on request."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    async def authenticate(self, customer_number: str, pin: str) -> Customer:
        if self.mode == "hang":
            await asyncio.sleep(3600)
        if self.mode == "crash":
            raise RuntimeError(f"core said: bad pin {pin}")
        raise Refused("not accepted")

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


async def test_a_hung_adapter_times_out(caplog: pytest.LogCaptureFixture) -> None:
    guarded = GuardedAdapter(Misbehaving("hang"), "slowbank", timeout=0.05)
    with pytest.raises(Timeout):
        await guarded.authenticate("12345678", "1234")
    assert any(r.getMessage() == "adapter timed out" for r in caplog.records)


async def test_a_crashing_adapter_becomes_unavailable_without_its_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    guarded = GuardedAdapter(Misbehaving("crash"), "crashbank", timeout=1)
    with pytest.raises(Unavailable) as caught:
        await guarded.authenticate("12345678", "8642")
    assert "8642" not in str(caught.value)
    assert "8642" not in caplog.text and "RuntimeError" in str(caught.value)


async def test_refusals_pass_through() -> None:
    guarded = GuardedAdapter(Misbehaving("refuse"), "bank", timeout=1)
    with pytest.raises(Refused):
        await guarded.authenticate("12345678", "1234")
