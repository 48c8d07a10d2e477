"""``identify`` and ``authenticate``: log the caller in with the bank.

``identify`` uses the customer number and the date of birth (DDMMYYYY):
enough to block, not to hear balances. ``authenticate`` uses the telekod.
Both emit ``ok``, ``refused`` (wrong data, said the same way whichever part
was wrong), ``too_many`` (the call's limit of failed logins is reached) or
``unavailable`` (the bank's system did not answer).
"""

import logging
from datetime import date
from typing import Any

from pydantic import Field

from adapters.errors import NotFound, Refused, Unavailable
from adapters.spec import Customer
from stasis_app.flow.context import CallContext
from stasis_app.verbs.base import Verb, VerbParams

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
        try:
            customer = await self._login(ctx, number, secret)
        except Unavailable:
            return "unavailable"
        except (Refused, NotFound):
            customer = None
        if customer is None:
            ctx.login_failures += 1
            log.info("login refused", extra={"level": self.level, "failures": ctx.login_failures})
            return "too_many" if ctx.login_failures >= params.max_failures else "refused"
        ctx.customer = customer
        ctx.level = self.level
        log.info("caller logged in", extra={"level": self.level})
        return "ok"


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
