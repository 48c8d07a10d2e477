"""``identify`` and ``authenticate``: log the caller in with the bank.

``identify`` uses the customer number and the date of birth (DDMMYYYY):
enough to block, not to hear balances. ``authenticate`` uses the telekod.
Both emit ``ok``, ``refused`` (wrong data, said the same way whichever part
was wrong; also when another login for the same customer number is under
way), ``too_many`` (the call's limit of failed logins is reached, or this
login method is locked for the customer number after failures across
calls, or this calling number tried too many customer numbers, or the bank
takes no more logins this minute) or ``unavailable`` (the bank's system did
not answer).

With the call's safeguards, every attempt is reserved with the guard
(:mod:`stasis_app.safeguards.login_guard`) before the bank is asked, counted across
calls and audited (result, masked number; never the secret), and every
answer takes at least ``security.min_login_seconds``, so neither words nor
timing tell which part was wrong or whether the number exists.
"""

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import date
from functools import partial

from pydantic import Field

from adapters.errors import CircuitOpen, NotFound, Refused, Unavailable
from adapters.spec import Customer
from stasis_app.flow.context import CallContext
from stasis_app.safeguards import Safeguards
from stasis_app.safeguards.login_guard import Attempt, Outcome, Verdict
from stasis_app.telephony.key_waits import STORE, waiting_on
from stasis_app.verbs.base import Verb, VerbParams, wait_for_bank
from stasis_app.verbs.operation import CUSTOMER_VALUES

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


BUSY_POLL = 0.2  # seconds between looks at a customer number's login slot

# How a login the guard did not let through is answered and audited.
REFUSALS = {
    Verdict.LOCKED: "locked",  # this login method is locked for the customer number
    Verdict.REFUSED: "caller_refused",  # this calling number tried too many customers
    Verdict.BUSY: "busy",  # another login for this customer number is under way
    Verdict.RATE: "rate_limited",  # the bank's logins a minute are used up
}


class _Login(Verb[LoginParams]):
    Params = LoginParams
    level: str

    def events(self, params: LoginParams, transitions: Sequence[str]) -> set[str]:
        return {"ok", "refused", "too_many", "unavailable"}

    def uses_secret(self, params: LoginParams) -> str:
        return params.secret

    async def _login(self, ctx: CallContext, number: str, secret: str) -> Customer | None:
        raise NotImplementedError

    async def run(self, ctx: CallContext, params: LoginParams) -> str:
        number = str(ctx.values.get(params.number, ""))
        secret = ctx.take_secret(params.secret)
        # A new login forgets the previous one, whatever its outcome.
        ctx.customer, ctx.level = None, None
        for key in CUSTOMER_VALUES:
            ctx.values.pop(key, None)
        guards = ctx.safeguards
        started = time.monotonic()
        attempt: Attempt | None = None
        if guards is not None:
            try:
                attempt = await self._reserve(ctx, guards, number)
            except Exception:
                # The guard's store cannot be reached (PostgreSQL restarting):
                # without its counters no login is checked, or guessing would
                # have no limit. The caller hears that the line cannot check
                # now (a block request is still taken: the node's spool keeps it).
                log.exception("login refused: the state store cannot be reached")
                return "unavailable"
        customer: Customer | None = None
        settle: Outcome = "refused"
        if attempt is not None and not attempt.allowed:
            outcome = REFUSALS[attempt.verdict]
        else:
            try:
                outcome, customer, settle = await self._ask_bank(ctx, number, secret, attempt)
            except BaseException:
                if guards is not None and attempt is not None:
                    await asyncio.shield(self._abandon(ctx, guards, attempt, number))
                raise
        if guards is not None:
            # The same time for every answer: a fast "no such number" tells nothing.
            floor = guards.settings.min_login_seconds - (time.monotonic() - started)
            if floor > 0:
                await asyncio.sleep(floor)
            if await self._settle(ctx, guards, attempt, number, outcome, settle):
                outcome = "locked"  # this failure locked the number: no more tries
        if outcome == "unavailable":
            return "unavailable"
        if customer is None:
            ctx.login_failures += 1
            log.info(
                "login refused",
                extra={"login_level": self.level, "failures": ctx.login_failures, "why": outcome},
            )
            if outcome not in ("refused", "busy") or ctx.login_failures >= params.max_failures:
                return "too_many"
            return "refused"
        ctx.customer = customer
        ctx.level = self.level
        log.info("caller logged in", extra={"login_level": self.level})
        return "ok"

    async def _reserve(self, ctx: CallContext, guards: Safeguards, number: str) -> Attempt:
        """The verdict and the reservation of this attempt, in one transaction.
        While another login for the same customer number is under way (two
        calls of one family, or a guesser's calls at once), wait for its
        answer, up to ``security.login_wait_seconds``: logins for one customer
        number reach the bank one after the other."""
        begin = partial(
            guards.guard.begin,
            ctx.tenant.id,
            ctx.call.caller,
            number,
            self.name,
            ctx.tenant.login_rate_per_minute,
        )
        deadline = time.monotonic() + guards.settings.login_wait_seconds
        with waiting_on(STORE):
            attempt = await guards.audit.store.run(begin)
            while attempt.verdict is Verdict.BUSY and time.monotonic() < deadline:
                await asyncio.sleep(BUSY_POLL)
                attempt = await guards.audit.store.run(begin)
        return attempt

    async def _ask_bank(
        self, ctx: CallContext, number: str, secret: str, attempt: Attempt | None
    ) -> tuple[str, Customer | None, Outcome]:
        """What the caller is told, who logged in, and how the guard settles it."""
        if attempt is not None and attempt.verdict is Verdict.SLOW and ctx.safeguards is not None:
            log.info("login slowed: this number tried many customer numbers")
            await asyncio.sleep(ctx.safeguards.settings.slow_seconds)
        try:
            customer = await wait_for_bank(ctx, self._login(ctx, number, secret))
        except CircuitOpen:
            return "unavailable", None, "unavailable"  # never sent: not an attempt
        except Unavailable:
            # A late or failed answer may still have checked the secret (a core
            # that answers wrong secrets slowly must not give free guesses).
            return "unavailable", None, "abandoned"
        except (Refused, NotFound):
            return "refused", None, "refused"
        if customer is None:
            return "refused", None, "refused"
        return "ok", customer, "ok"

    async def _abandon(
        self, ctx: CallContext, guards: Safeguards, attempt: Attempt, number: str
    ) -> None:
        """The caller hung up mid-login: the bank may be checking the secret right
        now, so the attempt stays counted and audited, and the customer number's
        slot stays held for as long as the bank may still answer."""
        await guards.audit.store.run(
            partial(
                guards.guard.finish, attempt, "abandoned", hold_seconds=ctx.tenant.adapter.timeout
            )
        )
        await self._audit(ctx, guards, number, "abandoned")

    async def _settle(
        self,
        ctx: CallContext,
        guards: Safeguards,
        attempt: Attempt | None,
        number: str,
        outcome: str,
        settle: Outcome,
    ) -> bool:
        """Settle the reserved attempt and audit it; True when it locked the number.

        A right login cannot lock anything: it is settled and audited while the
        next prompt starts (:meth:`CallPort.after_prompt`), not before it. A
        failed one is settled first (it may lock the number: the caller must
        not hear the menu then)."""
        if settle == "ok" and attempt is not None and attempt.allowed:
            await ctx.call.after_prompt(self._settle_ok(ctx, guards, attempt, number, outcome))
            return False
        locked = False
        if attempt is not None and attempt.allowed:
            with waiting_on(STORE):
                locked = await guards.audit.store.run(partial(guards.guard.finish, attempt, settle))
            if locked:
                log.warning(
                    "customer number locked after failed logins", extra={"tenant": ctx.tenant.id}
                )
        await self._audit(ctx, guards, number, outcome)
        return locked

    async def _settle_ok(
        self, ctx: CallContext, guards: Safeguards, attempt: Attempt, number: str, outcome: str
    ) -> None:
        with waiting_on(STORE):
            await guards.audit.store.run(partial(guards.guard.finish, attempt, "ok"))
        await self._audit(ctx, guards, number, outcome)

    async def _audit(self, ctx: CallContext, guards: Safeguards, number: str, result: str) -> None:
        await guards.audit.record(
            tenant=ctx.tenant.id,
            action=self.name,
            result=result,
            call_id=ctx.call.channel_id,
            caller=ctx.call.caller,
            customer=number,
        )


class Identify(_Login):
    name = "identify"
    level = "identified"

    async def _login(self, ctx: CallContext, number: str, secret: str) -> Customer | None:
        born = parse_birth_date(secret)
        if born is None:
            return None
        return await ctx.bank.identify(number, born)


class Authenticate(_Login):
    name = "authenticate"
    level = "authenticated"

    async def _login(self, ctx: CallContext, number: str, secret: str) -> Customer | None:
        return await ctx.bank.authenticate(number, secret)
