"""``change_telekod``: the telekod in use, the new one typed twice, checked
against the bank's rules, confirmed, then sent to the bank
(``adapters.spec.ChangeTelekod``, an optional operation).

A caller logged in with the telekod types, in three ``gather`` states with
``secret: true``, the telekod in use (``old``), the new one (``new``) and the
new one again (``again``); this state takes all three. Before the bank is
asked, the two new ones must be the same (else ``mismatch``) and keep the
bank's rules (``tenants.ID.telekod_rules``: length, no digit repeated
throughout, no run like 1234 or 9876; else ``weak``). The telekod in use is
then checked as the ``authenticate`` verb checks a login: through the login
guard (a wrong one counts towards the customer number's lock like any wrong
telekod), with the same floor of time, audited; a wrong one logs the caller
out (``refused``; ``too_many`` at the call's limit or a lock). A new
telekod equal to the old one is ``weak``. The caller confirms (1) or
cancels (2, or no answer: ``cancelled``); the bank's answer is ``ok``,
``rejected`` (it keeps rules of its own) or ``unavailable``;
``not_allowed`` without a telekod login.

Both telekods are held in this state's local variables only: never logged,
never kept in the call's values, never audited (the audit says that a
change was asked for and how it ended, under ``change_telekod``).
"""

import itertools
import logging
from collections.abc import Sequence

from pydantic import Field

from adapters.errors import NotFound, Refused, Unavailable
from adapters.spec import ChangeTelekod, OptionalOperation
from stasis_app.flow.context import CallContext, Skipped
from stasis_app.tenants import TelekodRules
from stasis_app.verbs.base import Answer, AskParams, Verb, ask, wait_for_bank
from stasis_app.verbs.confirm import ANSWERS
from stasis_app.verbs.login import Authenticate, LoginParams
from stasis_app.verbs.operation import logged_in_at

log = logging.getLogger(__name__)


def telekod_problem(rules: TelekodRules, telekod: str) -> str | None:
    """Which of the bank's rules ``telekod`` breaks (a word for the log and
    the audit, never the digits), or None when it keeps them all."""
    if not telekod.isdigit():
        return "not_digits"
    if not rules.min_length <= len(telekod) <= rules.max_length:
        return "length"
    if rules.no_repeated and len(set(telekod)) == 1:
        return "repeated"
    steps = {int(b) - int(a) for a, b in itertools.pairwise(telekod)}
    if rules.no_sequential and steps in ({1}, {-1}):
        return "sequential"
    return None


class ChangeTelekodParams(AskParams):
    old: str = Field(default="pin", description="secret with the telekod in use")
    new: str = Field(default="new_pin", description="secret with the new telekod")
    again: str = Field(default="new_pin_again", description="secret with it typed again")
    max_failures: int = Field(default=3, ge=1, le=10, description="wrong telekods per call")


class ChangeTelekodVerb(Verb[ChangeTelekodParams]):
    name = "change_telekod"
    Params = ChangeTelekodParams

    def test_call_skip(self, params: ChangeTelekodParams) -> Skipped | None:
        return Skipped("ok")

    def events(self, params: ChangeTelekodParams, transitions: Sequence[str]) -> set[str]:
        return {
            "ok", "mismatch", "weak", "refused", "too_many", "cancelled", "rejected",
            "unavailable", "not_allowed",
        }  # fmt: skip

    def uses_secret(self, params: ChangeTelekodParams) -> str:
        return params.old

    def uses_secrets(self, params: ChangeTelekodParams) -> tuple[str, ...]:
        return (params.old, params.new, params.again)

    def adapter_operations(self, params: ChangeTelekodParams) -> set[str]:
        return {OptionalOperation.CHANGE_TELEKOD.value}

    async def run(self, ctx: CallContext, params: ChangeTelekodParams) -> str:
        new, again = ctx.take_secret(params.new), ctx.take_secret(params.again)
        if ctx.customer is None or not logged_in_at(ctx, "authenticated"):
            log.info("telekod change not allowed", extra={"level": ctx.level})
            return "not_allowed"
        customer = ctx.customer
        result = await self._change(ctx, params, new, again)
        del new, again
        log.info("telekod change", extra={"result": result})
        ctx.trail.operation("change_telekod", result)
        if ctx.safeguards is not None:
            await ctx.safeguards.audit.record(
                tenant=ctx.tenant.id,
                action="change_telekod",
                result=result,
                call_id=ctx.call.channel_id,
                caller=ctx.call.caller,
                customer=customer.number,
            )
        return result

    async def _change(
        self, ctx: CallContext, params: ChangeTelekodParams, new: str, again: str
    ) -> str:
        if new != again:
            return "mismatch"
        problem = telekod_problem(ctx.tenant.telekod_rules, new)
        if problem is not None:
            log.info("new telekod breaks a rule", extra={"rule": problem})
            return "weak"
        # The telekod in use, checked as a login (the guard counts a wrong one,
        # the same floor of time, audited; a wrong one logs the caller out).
        old = ctx.secrets.get(params.old, "")
        login = LoginParams(secret=params.old, max_failures=params.max_failures)
        checked = await Authenticate().run(ctx, login)
        if checked != "ok" or ctx.customer is None:
            return {"too_many": "too_many", "unavailable": "unavailable"}.get(checked, "refused")
        if new == old:
            return "weak"

        async def listen() -> Answer:
            key = await ctx.call.read_digits(1, terminator=None, timeouts=params.timeouts)
            return Answer(ANSWERS.get(key), typed=key)

        if await ask(ctx, params, listen) != "yes":
            return "cancelled"
        bank = ctx.bank
        if not isinstance(bank, ChangeTelekod):  # the flow checker keeps flows from here
            return "unavailable"
        try:
            await wait_for_bank(ctx, bank.change_telekod(ctx.customer, old, new))
        except Unavailable:
            return "unavailable"
        except (Refused, NotFound):
            return "rejected"
        return "ok"
