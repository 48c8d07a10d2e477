"""``predefined_transfers``, ``send_code`` and ``execute_transfer``: a
predefined transfer paid with a one-time SMS code (PSD2 art. 97, strong
customer authentication with dynamic linking, RTS art. 5).

* ``predefined_transfers`` asks the bank (``adapters.spec.PredefinedTransfers``)
  for the transfers the customer defined for the chosen account (the value
  ``account``, else the first of ``accounts``) and keeps them as
  ``transfers``: ``ok``, ``empty``, ``refused``, ``unavailable``,
  ``not_allowed`` (no telekod login).

The caller chooses one (``choose`` with ``read_as: transfer``: payee spoken
live by the offline engine, amount from the number fragments) and confirms
it (``confirm`` saying ``{value: transfer, as: transfer}``). Then:

* ``send_code`` issues a code bound to that order's id, amount, currency and
  payee and to the call (:mod:`stasis_app.safeguards.sca`), and sends it by
  the bank's SMS sender (``tenants.ID.sms``, :mod:`adapters.sms`) in a text
  naming the amount and the payee. The call keeps the challenge (no code):
  ``sent``; no sender, or it failed or took longer than the bank's
  ``adapter.timeout``: ``unavailable``.
* a ``gather`` with ``secret: true`` reads the code the caller types;
* ``execute_transfer`` checks it against the order about to be executed: only
  a right code, in time, once, lets the bank carry it out
  (``adapters.spec.ExecuteTransfer``, idempotent on the operation id; ``ok``,
  the bank's reference kept as ``transfer_reference``); ``wrong`` (tries are left),
  ``expired``, ``cancelled`` (the last wrong try); the bank's answer
  ``refused``, or ``unconfirmed`` when it did not answer (the order may
  have been executed: the caller is told to check before ordering again);
  ``not_allowed`` without a telekod login or a code sent for this order.

Every step is audited (``sca_code`` sent, wrong, expired, cancelled;
``execute_transfer`` with the bank's reference), never with the code. The code
is never logged, kept in the call's values (webhooks and call records see
those) or written anywhere but the SMS.
"""

import asyncio
import logging
from collections.abc import Sequence
from decimal import Decimal
from functools import partial
from typing import Any

from pydantic import Field

from adapters.errors import NotFound, Refused, Unavailable
from adapters.sms import Sms
from adapters.spec import (
    ExecuteTransfer,
    OptionalOperation,
    PredefinedTransfer,
    PredefinedTransfers,
)
from stasis_app.errors import AriError
from stasis_app.flow.context import CallContext, Skipped
from stasis_app.safeguards.code_guard import CodeGuard
from stasis_app.safeguards.sca import CODES, Binding, Challenge, Verdict
from stasis_app.verbs.base import Verb, VerbParams, wait_for_bank
from stasis_app.verbs.operation import logged_in_at

log = logging.getLogger(__name__)


def amount_text(amount: Decimal, currency: str) -> str:
    """An amount as a Polish text message writes it: 1 234,56 zł."""
    whole, _, cents = f"{amount:.2f}".partition(".")
    sign = "-" if whole.startswith("-") else ""
    digits = whole.lstrip("-")
    groups = [digits[max(0, end - 3) : end] for end in range(len(digits), 0, -3)][::-1]
    unit = "zł" if currency == "PLN" else currency
    return f"{sign}{' '.join(groups)},{cents} {unit}"


def sms_text(bank: str, code: str, order: PredefinedTransfer) -> str:
    """The code's text: names the bank, the amount and the payee (so the
    customer sees what the code authorises) and warns against passing it on."""
    return (
        f"{bank}: kod {code} potwierdza przelew {amount_text(order.amount, order.currency)} "
        f"dla {order.payee}. Nie podawaj tego kodu nikomu, także pracownikowi banku."
    )


def binding(ctx: CallContext, transfer: PredefinedTransfer) -> Binding:
    """What a code for ``transfer`` in this call is bound to."""
    return Binding(
        transfer.transfer_id,
        transfer.amount,
        transfer.currency,
        transfer.payee,
        ctx.call.channel_id,
        transfer.title,
    )


async def _audit(ctx: CallContext, action: str, result: str, reference: str = "") -> None:
    ctx.trail.operation(action, result)
    if ctx.safeguards is None or ctx.customer is None:
        return
    await ctx.safeguards.audit.record(
        tenant=ctx.tenant.id,
        action=action,
        result=result,
        call_id=ctx.call.channel_id,
        caller=ctx.call.caller,
        customer=ctx.customer.number,
        reference=reference,
    )


def chosen_account(values: dict[str, Any]) -> str | None:
    """The account the caller chose (``account``), else their first (``accounts``)."""
    account = values.get("account")
    if account is None:
        account = next(iter(values.get("accounts") or []), None)
    found = getattr(account, "account_id", None)
    return found if isinstance(found, str) else None


class ListParams(VerbParams):
    into: str = Field(default="transfers", pattern=r"^[a-z_]+$", description="kept as")


class ListTransfers(Verb[ListParams]):
    name = "predefined_transfers"
    Params = ListParams

    def events(self, params: ListParams, transitions: Sequence[str]) -> set[str]:
        return {"ok", "empty", "refused", "unavailable", "not_allowed"}

    def adapter_operations(self, params: ListParams) -> set[str]:
        return {OptionalOperation.PREDEFINED_TRANSFERS.value}

    async def run(self, ctx: CallContext, params: ListParams) -> str:
        ctx.values.pop(params.into, None)
        if not logged_in_at(ctx, "authenticated"):
            return "not_allowed"
        assert ctx.customer is not None
        bank = ctx.bank
        if not isinstance(bank, PredefinedTransfers):  # the flow checker keeps flows from here
            return "unavailable"
        try:
            account = chosen_account(ctx.values)
            if account is None:
                accounts = await wait_for_bank(ctx, bank.list_accounts(ctx.customer))
                account = accounts[0].account_id if accounts else None
            if account is None:
                await _audit(ctx, "predefined_transfers", "empty")
                return "empty"
            found = await wait_for_bank(ctx, bank.predefined_transfers(ctx.customer, account))
        except Unavailable:
            await _audit(ctx, "predefined_transfers", "unavailable")
            return "unavailable"
        except (Refused, NotFound):
            await _audit(ctx, "predefined_transfers", "refused")
            return "refused"
        # Only złoty has its words so far: never say "złotych" for euro.
        transfers = [t for t in found if t.currency == "PLN"]
        ctx.values[params.into] = transfers
        await _audit(ctx, "predefined_transfers", "ok" if transfers else "empty")
        return "ok" if transfers else "empty"


class TransferParams(VerbParams):
    transfer: str = Field(default="transfer", description="value with the chosen transfer")
    into: str = Field(
        default="transfer_reference", pattern=r"^[a-z_]+$", description="the bank's reference"
    )


async def _blocked(ctx: CallContext) -> bool:
    """Is paying by phone blocked for the caller (too many wrong codes in a
    row, over calls)? Without safeguards (flows tested alone) nothing counts."""
    if ctx.safeguards is None or ctx.customer is None:
        return False
    rules = ctx.tenant.payment_codes
    guard = CodeGuard(ctx.safeguards.audit.store)
    return await ctx.safeguards.audit.store.run(
        partial(
            guard.blocked, ctx.tenant.id, ctx.customer.number, rules.lock_after, rules.lock_minutes
        )
    )


async def _check(
    ctx: CallContext, challenge: Challenge, transfer: PredefinedTransfer, typed: str
) -> tuple[Verdict, bool]:
    """The typed code's verdict, counted per customer in the state store: the
    code is reserved as failed before it is compared (a block set meanwhile by
    another call means it is not compared: cancelled), a right one resets the
    count. Also True when this code started a block."""
    if ctx.safeguards is None or ctx.customer is None:
        return CODES.check(challenge, binding(ctx, transfer), typed), False
    rules, store = ctx.tenant.payment_codes, ctx.safeguards.audit.store
    guard = CodeGuard(store)
    key = (ctx.tenant.id, ctx.customer.number)
    if not await store.run(partial(guard.reserve, *key, rules.lock_after, rules.lock_minutes)):
        challenge.closed = True
        return Verdict.CANCELLED, False
    compared = not challenge.closed
    verdict = CODES.check(challenge, binding(ctx, transfer), typed)
    if verdict is Verdict.OK:
        outcome = "ok"
    elif verdict is Verdict.EXPIRED or not compared:
        outcome = "not_compared"
    else:
        outcome = "failed"
    locked = await store.run(
        partial(guard.settle, *key, outcome, rules.lock_after, rules.lock_minutes)
    )
    if locked:
        challenge.closed = True
        return Verdict.CANCELLED, True
    return verdict, False


class SendCode(Verb[TransferParams]):
    name = "send_code"
    Params = TransferParams

    def events(self, params: TransferParams, transitions: Sequence[str]) -> set[str]:
        return {"sent", "unavailable", "not_allowed", "blocked", "done_already"}

    def test_call_skip(self, params: TransferParams) -> Skipped | None:
        return Skipped("sent")  # no SMS to the customer

    async def run(self, ctx: CallContext, params: TransferParams) -> str:
        transfer: Any = ctx.values.get(params.transfer)
        ctx.challenge = None  # a new code replaces any earlier one
        if not logged_in_at(ctx, "authenticated") or not isinstance(transfer, PredefinedTransfer):
            log.info("code not sent: no telekod login or no transfer chosen")
            return "not_allowed"
        assert ctx.customer is not None
        done = ctx.transfers_done.get(transfer.transfer_id)
        if done is not None:  # ordered twice in one call: never paid twice, never "done" again
            ctx.values[params.into] = done
            log.info("code not sent: this transfer was carried out earlier in this call")
            await _audit(ctx, "sca_code", "done_already", reference=done)
            return "done_already"
        rules = ctx.tenant.payment_codes
        if ctx.codes_sent >= rules.per_call:
            log.info("code not sent: this call had its codes")
            await _audit(ctx, "sca_code", "call_limit")
            return "blocked"
        if await _blocked(ctx):
            log.info("code not sent: payments by phone are blocked after wrong codes")
            await _audit(ctx, "sca_code", "blocked")
            return "blocked"
        if ctx.sms is None:
            log.warning("code not sent: the bank has no SMS sender (tenants.ID.sms)")
            await _audit(ctx, "sca_code", "unavailable")
            return "unavailable"
        challenge, code = CODES.issue(binding(ctx, transfer), rules.lifetime, rules.tries)
        sms = Sms(ctx.tenant.id, ctx.customer.number, sms_text(ctx.tenant.name, code, transfer))
        del code
        ctx.codes_sent += 1
        try:
            sending = asyncio.wait_for(ctx.sms.send(sms), timeout=ctx.tenant.adapter.timeout)
            await wait_for_bank(ctx, sending)
        except AriError:  # the call ended (or failed) while sending: the SMS may be out
            await _audit(ctx, "sca_code", "abandoned")
            raise
        except Exception as exc:  # a gateway's fault, whatever it is, is an apology
            log.warning("code not sent: the SMS sender failed", extra={"error": type(exc).__name__})
            await _audit(ctx, "sca_code", "unavailable")
            return "unavailable"
        ctx.challenge = challenge
        log.info("code sent")
        await _audit(ctx, "sca_code", "sent")
        return "sent"


class ExecuteParams(TransferParams):
    code: str = Field(default="sms_code", description="secret with the code the caller typed")


class ExecuteTransferVerb(Verb[ExecuteParams]):
    name = "execute_transfer"
    Params = ExecuteParams

    def events(self, params: ExecuteParams, transitions: Sequence[str]) -> set[str]:
        return {
            "ok", "wrong", "expired", "cancelled", "refused", "unconfirmed", "not_allowed",
        }  # fmt: skip

    def test_call_skip(self, params: ExecuteParams) -> Skipped | None:
        return Skipped("ok", params.into)

    def uses_secret(self, params: ExecuteParams) -> str:
        return params.code

    def adapter_operations(self, params: ExecuteParams) -> set[str]:
        return {OptionalOperation.EXECUTE_TRANSFER.value}

    async def run(self, ctx: CallContext, params: ExecuteParams) -> str:
        typed = ctx.take_secret(params.code)
        transfer: Any = ctx.values.get(params.transfer)
        challenge = ctx.challenge
        bank = ctx.bank
        if (
            not logged_in_at(ctx, "authenticated")
            or not isinstance(transfer, PredefinedTransfer)
            or challenge is None
            or not isinstance(bank, ExecuteTransfer)
        ):
            log.info("transfer not executed: no telekod login, transfer or code sent")
            return "not_allowed"
        assert ctx.customer is not None
        verdict, locked = await _check(ctx, challenge, transfer, typed)
        del typed
        if verdict is not Verdict.OK:
            if verdict is not Verdict.WRONG:
                ctx.challenge = None
            log.info("code not accepted", extra={"verdict": verdict.value})
            await _audit(ctx, "sca_code", "wrong" if locked else verdict.value)
            if locked:
                log.warning("payments by phone blocked after wrong codes in a row")
                await _audit(ctx, "sca_code", "locked")
            return verdict.value
        ctx.challenge = None  # used: the transfer runs once
        await _audit(ctx, "sca_code", "ok")
        # One id per transfer in this call: the bank carries it out once.
        operation_id = f"{ctx.call.channel_id}:{transfer.transfer_id}"
        try:
            result = await wait_for_bank(
                ctx, bank.execute_transfer(ctx.customer, transfer, operation_id)
            )
        except Unavailable:
            await _audit(ctx, "execute_transfer", "unconfirmed")
            return "unconfirmed"
        except (Refused, NotFound):
            await _audit(ctx, "execute_transfer", "refused")
            return "refused"
        ctx.values[params.into] = result.reference
        ctx.transfers_done[transfer.transfer_id] = result.reference
        log.info("transfer carried out by the bank")
        await _audit(ctx, "execute_transfer", "ok", reference=result.reference)
        return "ok"
