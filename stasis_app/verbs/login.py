"""``identify`` and ``authenticate``: log the caller in with the bank.

``identify`` uses the customer number and the date of birth (DDMMYYYY):
enough to block, not to hear balances. ``authenticate`` uses the telekod.
Both emit ``ok``, ``refused`` (wrong data, said the same way whichever part
was wrong), ``too_many`` (the call's limit of failed logins is reached, or
the customer number is locked after failures across calls, or this calling
number tried too many customer numbers) or ``unavailable`` (the bank's
system did not answer).

With the call's safeguards, every attempt is counted across calls and
audited (result, masked number; never the secret), and every answer takes
at least ``security.min_login_seconds``, so neither words nor timing tell
which part was wrong or whether the number exists.
"""

import asyncio
import logging
import time
from datetime import date
from functools import partial
from typing import Any

from pydantic import Field

from adapters.errors import NotFound, Refused, Unavailable
from adapters.spec import Customer
from stasis_app.flow.context import CallContext
from stasis_app.login_guard import Verdict
from stasis_app.safeguards import Safeguards
from stasis_app.verbs.base import Verb, VerbParams, wait_for_bank

log = logging.getLogger(__name__)


class LoginParams(VerbParams):
    number: str = Field(default="customer_number", description="value with the customer number")
    secret: str = Field(description="secret with the telekod or date of birth")
    max_failures: int = Field(default=3, ge=1, le=10, description="per call")


def parse_birth_date(digits: str) -> date | None:
    """DDMMYYYY as typed on a keypad; None when it is not a real date."""
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return date(int(digits[4:]), int(digits[2:4]), int(digits[:2]))
    except ValueError:
        return None


class _Login(Verb):
    level: str

    def events(self, params: Any, transitions: Any) -> set[str]:
        return {"ok", "refused", "too_many", "unavailable"}

    async def _login(self, ctx: CallContext, number: str, secret: str) -> Customer | None:
        raise NotImplementedError

    async def run(self, ctx: CallContext, params: Any) -> str:
        number = str(ctx.values.get(params.number, ""))
        secret = ctx.take_secret(params.secret)
        # A new login forgets the previous one, whatever its outcome.
        ctx.customer, ctx.level = None, None
        for key in ("cards", "card", "accounts", "operations", "reference"):
            ctx.values.pop(key, None)
        guards = ctx.safeguards
        started = time.monotonic()
        verdict = Verdict.ALLOW
        if guards is not None:
            tenant, caller = ctx.tenant.id, ctx.call.handle.caller
            verdict = await guards.audit.store.run(
                partial(guards.guard.verdict, tenant, caller, number)
            )
        if verdict is Verdict.LOCKED:
            outcome, customer = "locked", None
        elif verdict is Verdict.REFUSED:
            outcome, customer = "caller_refused", None  # this number tried too many customers
        else:
            if verdict is Verdict.SLOW and guards is not None:
                log.info("login slowed: this number tried many customer numbers")
                await asyncio.sleep(guards.settings.slow_seconds)
            try:
                customer = await wait_for_bank(ctx, self._login(ctx, number, secret))
                outcome = "ok" if customer is not None else "refused"
            except Unavailable:
                outcome, customer = "unavailable", None
            except (Refused, NotFound):
                outcome, customer = "refused", None
        if guards is not None:
            # The same time for every answer: a fast "no such number" tells nothing.
            floor = guards.settings.min_login_seconds - (time.monotonic() - started)
            if floor > 0:
                await asyncio.sleep(floor)
            if await self._count(ctx, guards, number, outcome):
                outcome = "locked"  # this failure locked the number: no more tries
        if outcome == "unavailable":
            return "unavailable"
        if customer is None:
            ctx.login_failures += 1
            log.info(
                "login refused",
                extra={"level": self.level, "failures": ctx.login_failures, "why": outcome},
            )
            if outcome != "refused" or ctx.login_failures >= params.max_failures:
                return "too_many"
            return "refused"
        ctx.customer = customer
        ctx.level = self.level
        log.info("caller logged in", extra={"level": self.level})
        return "ok"

    async def _count(self, ctx: CallContext, guards: Safeguards, number: str, outcome: str) -> bool:
        """Count and audit the attempt; True when it locked the customer number."""
        tenant, caller = ctx.tenant.id, ctx.call.handle.caller
        locked = False
        if outcome in ("ok", "refused"):
            locked = await guards.audit.store.run(
                partial(guards.guard.record, tenant, caller, number, outcome == "ok")
            )
            if locked:
                log.warning("customer number locked after failed logins", extra={"tenant": tenant})
        await guards.audit.record(
            tenant=tenant,
            action=self.name,
            result=outcome,
            call_id=ctx.call.channel_id,
            caller=caller,
            customer=number,
        )
        return locked


class Identify(_Login):
    name = "identify"
    Params = LoginParams
    level = "identified"

    async def _login(self, ctx: CallContext, number: str, secret: str) -> Customer | None:
        born = parse_birth_date(secret)
        if born is None:
            return None
        return await ctx.bank.identify(number, born)


class Authenticate(_Login):
    name = "authenticate"
    Params = LoginParams
    level = "authenticated"

    async def _login(self, ctx: CallContext, number: str, secret: str) -> Customer | None:
        return await ctx.bank.authenticate(number, secret)
