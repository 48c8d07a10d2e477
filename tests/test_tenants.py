"""Tenants' consultant hours, and what a transfer does outside them."""

import asyncio
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from stasis_app.flow.context import CallContext
from stasis_app.tenants import Tenant, WorkingHours
from stasis_app.verbs.transfer import Transfer, TransferParams
from tests.support.fake_call import FakeCall

pytestmark = pytest.mark.unit

HOURS = WorkingHours(open="08:00", close="16:00", timezone="Europe/Warsaw")


@pytest.mark.parametrize(
    ("utc", "is_open"),
    [
        ("2026-11-26T07:30:00", True),  # Thursday 08:30 in Warsaw (UTC+1)
        ("2026-11-26T06:59:00", False),  # 07:59
        ("2026-11-26T15:00:00", False),  # 16:00: closed at close
        ("2026-11-28T10:00:00", False),  # Saturday
        ("2026-07-01T06:30:00", True),  # summer time (UTC+2): 08:30
    ],
)
def test_working_hours_in_the_banks_time_zone(utc: str, is_open: bool) -> None:
    moment = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert HOURS.is_open(moment) is is_open


def test_bad_hours_are_refused() -> None:
    with pytest.raises(ValidationError, match="open must be before close"):
        WorkingHours(open="16:00", close="08:00")
    with pytest.raises(ValidationError, match="unknown time zone"):
        WorkingHours(open="08:00", close="16:00", timezone="Europe/Izbica")


def test_outside_hours_the_caller_is_told_at_once() -> None:
    closed = WorkingHours(days=[], open="08:00", close="16:00")  # never open
    tenant = Tenant(
        id="izbica",
        name="BS Izbica",
        lines=["100"],
        flow="f.yaml",
        adapter={"name": "demo"},
        consultant={"hours": closed.model_dump()},
    )
    call = FakeCall()
    ctx = CallContext(call=call, tenant=tenant, bank=None)  # type: ignore[arg-type]
    assert asyncio.run(Transfer().run(ctx, TransferParams())) == "failed"
    assert call.heard == [["outside_hours"]]
    assert call.ended is None  # no transfer outside working hours
