"""Whole calls with random keys, pauses and hangups (hypothesis).

Sessions of one to three calls (one after another, or at once) go through
the app's own per-call handler (``InfoliniaApp.handle_call``: catch-all,
apology, hangup, safeguards) running the default bank flow
(``config/flows/bank.yaml``, checked against the test prompts as the app
checks it) on the real demo bank in SQLite behind the adapter guard, over
the scripted caller and fake gateway of ``tests/support/fake_call.py``, in
virtual time (``tests/support/virtual_clock.py``: a caller's silence, a
6 s key timeout or a bank that never answers cost no real time). For every
session:

* every call's task ends (within an hour of virtual time), nothing escapes
  it, no task is left with an exception nobody retrieved, and nothing is
  logged as an error (the handler's catch-all is never needed);
* each call ends one way: hung up (by the app or the caller) or handed to
  the consultants, and the app sends nothing on a channel it has handed
  over, nor anything but a hangup on one it has hung up;
* every block the bank is asked for comes right after the caller's "1" at
  that block's confirmation; the bank's blocks are exactly those it was
  asked for; on a bank that answers, every confirmed block is in its
  database, also when the caller hung up right after confirming;
* no PIN or date of birth typed in the session shows in any log record
  (as the app writes it, or in any extra field) or in any request to Asterisk;
* nothing of a call reaches another: each call's context starts empty, the
  bank is asked only about the customer this call logged in (at the level
  the operation needs), the caller hears customer data only after logging
  in during this call, failed logins count from one in every call, and each
  call's live audio is deleted when it ends.

* no transfer is carried out without the right, unexpired code for that
  order (issue 21, PSD2 SCA): the bank is asked to execute a transfer only
  right after the caller typed the code of the last SMS this call sent,
  bound to exactly that order, within its lifetime, once, before the tries
  ran out; no code of the SMS shows in any log or request.

The second property runs the same on a bank that fails as hypothesis
chooses: any operation raises, refuses, is unavailable, never answers,
answers too late (after doing it) or slowly, the first few times or always.
A third drives calls to the SMS code step and types the right code, a
wrong one, another call's (another order's) or one after the expiry: only
the right one in time has the order carried out, and it always does.
"""

import asyncio
import contextlib
import dataclasses
import functools
import gc
import hashlib
import json
import logging
import re
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import adapters.demo
import stasis_app.app
import stasis_app.verbs.payment
from adapters.demo import DemoBank, DemoSettings
from adapters.errors import Refused, Unavailable
from adapters.guard import GuardedAdapter
from adapters.sms import Sms
from adapters.spec import (
    Account,
    AccountSummary,
    Balance,
    BlockResult,
    Card,
    Customer,
    ExchangeRate,
    Operation,
    OptionalOperation,
    PredefinedTransfer,
    TransferResult,
)
from stasis_app.app import InfoliniaApp
from stasis_app.config import Settings, load_settings
from stasis_app.deployment import Deployment, build_deployment
from stasis_app.features import Features
from stasis_app.flow.context import CallContext
from stasis_app.flow.model import Flow
from stasis_app.logs import JsonLineFormatter, call_id_var
from stasis_app.reports.records import CallRecord
from stasis_app.safeguards.sca import OneTimeCodes
from stasis_app.telephony.call import Call
from stasis_app.telephony.gateway import ChannelHandle
from stasis_app.tenants import HandOver, PaymentCodes, RecordingNotice
from stasis_app.verbs.payment import amount_text
from tests.support.fake_call import (
    BY_APP,
    BY_CALLER,
    TRANSFERRED,
    FakeGateway,
    FakeLiveSpeech,
    HangUp,
    KeyedPrompts,
    Press,
    Request,
    Step,
    dial,
)
from tests.support.virtual_clock import VirtualClockLoop, monotonic_follows_the_loop

# live_state: uses the test config's state, prompt cache or demo bank, as the
# real calls' app does (./dev test runs it with them, never beside them).
pytestmark = [pytest.mark.unit, pytest.mark.live_state]

T = TypeVar("T")

TEST_CONFIG = Path(__file__).parent / "data" / "config" / "infolinia.yaml"
TENANT, LINE, CALLER = "izbica", "100", "600100200"
CHANNELS = ("call-alpha", "call-bravo", "call-charlie")
CUSTOMERS = ("12345678", "87654321")
HOUR = 3600.0  # of virtual time: a call still running after it would never end

BLOCKS = {"block_card": "card", "block_internet_banking": "internet_banking"}
# The optional services of issue 21, all on (LineSetup.services).
SERVICES = Features.model_validate(
    {
        "several_accounts": True,
        "bank_information": {},
        "exchange_rates": {"currencies": ["EUR", "CHF"]},
        "predefined_transfers": True,
        "change_telekod": True,
    }
)
# What each bank operation needs the caller to have done in this call.
NEEDS = {
    "list_cards": "identified",
    "block_card": "identified",
    "block_internet_banking": "identified",
    "list_accounts": "authenticated",
    "last_operations": "authenticated",
    # The optional services (issue 21; LineSetup.services turns them on).
    "account_list": "authenticated",
    "account_balance": "authenticated",
    "account_operations": "authenticated",
    "predefined_transfers": "authenticated",
    "execute_transfer": "authenticated",
    "change_telekod": "authenticated",
}
LEVELS = {"identified": 1, "authenticated": 2}
# Prompts that only ever come with a customer's data (balances, cards,
# references, operations); counterparties are spoken live ("live:...").
CUSTOMER_DATA = {
    "balance_is",
    "card_debit",
    "card_credit",
    "card_ending",
    "card_blocked",
    "ib_blocked",
    "block_registered",
    "history_intro",
    "operation_in",
    "operation_out",
    "account_current",
    "account_savings",
    "account_currency",
    "account_ending",
    "available_is",
    "order_done",
}
EMPTY_START: dict[str, Any] = {
    "values": {},
    "secrets": {},
    "customer": None,
    "level": None,
    "login_failures": 0,
    "ended": False,
}
OUTCOMES = {  # the handler's outcome -> how the channel may have left the app
    "completed": {BY_APP, BY_CALLER},  # the flow hung up (the caller may have been quicker)
    "transferred": {TRANSFERRED},
    "caller hung up": {BY_CALLER},
}


@pytest.fixture(autouse=True, scope="module")
def _collect_only_what_the_runs_make() -> Iterator[None]:
    """Each run ends with gc.collect() (a task that failed unawaited is
    reported when collected); with everything older frozen it costs
    microseconds instead of tens of milliseconds."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


# --- the deployment, as the app loads it ------------------------------------------


@functools.cache
def app_settings() -> Settings:
    return load_settings(TEST_CONFIG, resolve_secrets=False, env={})


@functools.cache
def loaded() -> Deployment:
    """The test config's tenants with their flows checked against the test
    prompts, as ``infolinia run`` loads them; each session brings its own bank."""
    return build_deployment(app_settings(), with_adapters=False)


def guarded(adapter: Any, settings: Settings) -> GuardedAdapter:
    """The adapter wrapped as build_deployment wraps a tenant's."""
    choice = settings.tenants[TENANT].adapter
    return GuardedAdapter(
        adapter,
        choice.name,
        choice.timeout,
        breaker_failures=settings.security.breaker_failures,
        breaker_seconds=settings.security.breaker_seconds,
        offers=frozenset(OptionalOperation),  # the demo bank's: every one
    )


def cheap_hash(secret: str, salt: bytes) -> bytes:
    return hashlib.sha256(salt + secret.encode()).digest()  # scrypt costs ~50 ms a login


# --- what happened, in order ------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """One thing that happened: a log record, a question to the bank or its
    answer, a request to Asterisk; ``call`` is the call it happened in."""

    call: str | None
    kind: str  # "log", "asked", "answered", "request" or "read" (keys a read returned)
    name: str  # the log message, the bank operation, the ARI request, "read_digits"
    data: dict[str, Any]
    text: str = ""  # for logs and requests: everything they carry, as text
    severity: int = 0  # of a log record


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
LOGGERS = ("stasis_app", "adapters", "voice")


class LogCapture(logging.Handler):
    """Keeps every record with the call it came from, as the app writes it."""

    def __init__(self, timeline: list[Seen]) -> None:
        super().__init__(logging.DEBUG)
        self.timeline = timeline
        self.written = JsonLineFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        line = json.loads(self.written.format(record))
        line.pop("ts")  # the wall clock: digits that are nobody's secret
        extras = {
            key: value
            for key, value in record.__dict__.items()
            if key not in _STANDARD and not key.startswith("_")
        }
        # Durations ("seconds": 1234.5 after a long call) are not typed digits.
        text = json.dumps(_no_floats(line), ensure_ascii=False) + " " + repr(_no_floats(extras))
        call = call_id_var.get()
        self.timeline.append(Seen(call, "log", record.getMessage(), extras, text, record.levelno))


def _no_floats(value: Any) -> Any:
    if isinstance(value, float):
        return "<float>"
    if isinstance(value, dict):
        return {key: _no_floats(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_no_floats(item) for item in value]
    return value


@contextlib.contextmanager
def capturing_logs(timeline: list[Seen]) -> Iterator[None]:
    handler = LogCapture(timeline)
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.setLevel(logging.DEBUG)
        logger.propagate = False  # thousands of records per test: not for pytest's report
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, level, propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate


# --- the bank -------------------------------------------------------------------------

HOWS = ("raises", "refuses", "unavailable", "hangs", "late", "slow")


@dataclass(frozen=True)
class Fault:
    """How an operation fails: ``raises`` (an exception of the adapter's own,
    whose message carries what it was given), ``refuses``, ``unavailable``,
    ``hangs`` (never answers), ``late`` (does it, answers after the guard's
    timeout), ``slow`` (answers in half the timeout), the first ``times`` times."""

    how: str
    times: int


class ScriptedBank:
    """The demo bank behind a recorder, failing as told: every question goes
    on the timeline with its call, and every answer the demo bank gave."""

    def __init__(
        self, demo: DemoBank, timeline: list[Seen], faults: dict[str, Fault], timeout: float
    ) -> None:
        self.demo = demo
        self.timeline = timeline
        self.faults = faults
        self.timeout = timeout
        self.asked: Counter[str] = Counter()

    async def _ask(
        self, operation: str, args: tuple[str, ...], work: Callable[[], Awaitable[T]]
    ) -> T:
        call = call_id_var.get()
        self.asked[operation] += 1
        self.timeline.append(Seen(call, "asked", operation, {"args": args}))
        fault = self.faults.get(operation)
        failing = fault is not None and self.asked[operation] <= fault.times
        if fault is not None and failing:
            if fault.how == "raises":
                raise RuntimeError(f"core system exploded in {operation}{args}")
            if fault.how == "refuses":
                raise Refused(f"{operation} refused")
            if fault.how == "unavailable":
                raise Unavailable(f"{operation} unavailable")
            if fault.how == "hangs":
                await asyncio.Event().wait()
            if fault.how == "slow":
                await asyncio.sleep(self.timeout / 2)
        result = await work()
        self.timeline.append(Seen(call, "answered", operation, {"args": args, "result": result}))
        if fault is not None and failing and fault.how == "late":
            await asyncio.sleep(self.timeout * 2)
        return result

    async def identify(self, customer_number: str, birth_date: date) -> Customer:
        args = (customer_number, birth_date.strftime("%d%m%Y"))
        return await self._ask(
            "identify", args, lambda: self.demo.identify(customer_number, birth_date)
        )

    async def authenticate(self, customer_number: str, pin: str) -> Customer:
        return await self._ask(
            "authenticate",
            (customer_number, pin),
            lambda: self.demo.authenticate(customer_number, pin),
        )

    async def list_cards(self, customer: Customer) -> list[Card]:
        return await self._ask(
            "list_cards", (customer.number,), lambda: self.demo.list_cards(customer)
        )

    async def block_card(self, customer: Customer, card_id: str, operation_id: str) -> BlockResult:
        return await self._ask(
            "block_card",
            (customer.number, card_id, operation_id),
            lambda: self.demo.block_card(customer, card_id, operation_id),
        )

    async def block_internet_banking(self, customer: Customer, operation_id: str) -> BlockResult:
        return await self._ask(
            "block_internet_banking",
            (customer.number, customer.number, operation_id),
            lambda: self.demo.block_internet_banking(customer, operation_id),
        )

    async def list_accounts(self, customer: Customer) -> list[Account]:
        return await self._ask(
            "list_accounts", (customer.number,), lambda: self.demo.list_accounts(customer)
        )

    async def last_operations(self, customer: Customer, limit: int = 5) -> list[Operation]:
        return await self._ask(
            "last_operations",
            (customer.number,),
            lambda: self.demo.last_operations(customer, limit),
        )

    async def account_list(self, customer: Customer) -> list[AccountSummary]:
        return await self._ask(
            "account_list", (customer.number,), lambda: self.demo.account_list(customer)
        )

    async def account_balance(self, customer: Customer, account_id: str) -> Balance:
        return await self._ask(
            "account_balance",
            (customer.number, account_id),
            lambda: self.demo.account_balance(customer, account_id),
        )

    async def account_operations(
        self, customer: Customer, account_id: str, limit: int = 5
    ) -> list[Operation]:
        return await self._ask(
            "account_operations",
            (customer.number, account_id),
            lambda: self.demo.account_operations(customer, account_id, limit),
        )

    async def exchange_rates(self) -> list[ExchangeRate]:
        return await self._ask("exchange_rates", (), self.demo.exchange_rates)

    async def change_telekod(self, customer: Customer, old: str, new: str) -> None:
        # Only the customer: the telekods are typed secrets (checked to be nowhere).
        return await self._ask(
            "change_telekod",
            (customer.number,),
            lambda: self.demo.change_telekod(customer, old, new),
        )

    async def predefined_transfers(
        self, customer: Customer, account_id: str
    ) -> list[PredefinedTransfer]:
        return await self._ask(
            "predefined_transfers",
            (customer.number, account_id),
            lambda: self.demo.predefined_transfers(customer, account_id),
        )

    async def execute_transfer(
        self, customer: Customer, transfer: PredefinedTransfer, operation_id: str
    ) -> TransferResult:
        return await self._ask(
            "execute_transfer",
            (customer.number, *order_of(transfer), operation_id),
            lambda: self.demo.execute_transfer(customer, transfer, operation_id),
        )

    async def close(self) -> None:
        await self.demo.close()


def order_of(transfer: PredefinedTransfer) -> tuple[str, ...]:
    """What a code is bound to, as text: id, amount, currency, payee, title."""
    return (
        transfer.transfer_id, f"{transfer.amount:.2f}", transfer.currency, transfer.payee,
        transfer.title,
    )  # fmt: skip


CODE_IN_SMS = re.compile(r"kod ([0-9]{6}) potwierdza przelew ([0-9 ]+,[0-9]{2}) zł dla (.+?)\. ")


class Phone:
    """The bank's SMS sender as the customers' phones: every message on the
    timeline (kind "sms") with the call that sent it, its code, the order's
    amount and payee, and when (virtual time)."""

    def __init__(self, timeline: list[Seen]) -> None:
        self.timeline = timeline

    async def send(self, sms: Sms) -> None:
        found = CODE_IN_SMS.search(sms.text)
        assert found is not None, "the SMS names no code, amount and payee"
        code, amount, payee = found.groups()
        data = {"code": code, "customer": sms.customer, "amount": amount, "payee": payee,
                "at": asyncio.get_running_loop().time()}  # fmt: skip
        self.timeline.append(Seen(call_id_var.get(), "sms", "sms", data))

    async def close(self) -> None:
        return None


# --- the calls' contexts ------------------------------------------------------------


@dataclass
class ContextSpy:
    """What each call's context held when it was made, and every secret a
    gather kept in any of them."""

    starts: dict[str, dict[str, Any]] = field(default_factory=dict)
    typed: set[str] = field(default_factory=set)


class _RememberingSecrets(dict[str, str]):
    def __init__(self, typed: set[str]) -> None:
        super().__init__()
        self.typed = typed

    def __setitem__(self, key: str, value: str) -> None:
        self.typed.add(value)
        super().__setitem__(key, value)


def spying(spy: ContextSpy) -> type[CallContext]:
    class SpiedContext(CallContext):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            spy.starts[self.call.channel_id] = {
                name: getattr(self, name) for name in EMPTY_START
            } | {"values": dict(self.values), "secrets": dict(self.secrets)}
            remembering = _RememberingSecrets(spy.typed)
            remembering.update(self.secrets)
            self.secrets = remembering

    return SpiedContext


# --- a session of calls --------------------------------------------------------------


@dataclass(frozen=True)
class LineSetup:
    speech_seconds: float = 1.0  # per prompt item
    consultant_online: bool = True
    transfer_fails: bool = False
    # Issue 21: the line is the bank's 828 828 828 hand-over line (straight to
    # card blocking, the date of birth first); the bank plays the recording notice.
    handed_over: bool = False
    notice: bool = False
    # Issue 21: the bank's optional services on (several accounts, its
    # information, exchange rates, predefined transfers paid with an SMS
    # code, the telekod change) on an adapter that offers them.
    services: bool = False
    code_lifetime: float = 300.0  # seconds an SMS code is good for (with services)


@dataclass(frozen=True)
class TypeCode:
    """The caller reads an SMS code off the phone and types it, ``pause``
    seconds after the prompt ends: ``whose`` is "own" (the last SMS this call
    had sent), "wrong" (that code with its last digit changed) or "other" (the
    last SMS another call had sent: another order, or another call's)."""

    whose: str = "own"
    pause: float = 0.5


CallerStep = Step | TypeCode
CODE = "<code>"  # in an errand: the caller types the code of the SMS (TypeCode)


@dataclass
class Session:
    channels: list[str]
    flow: Flow
    gateway: FakeGateway
    live: FakeLiveSpeech
    timeline: list[Seen] = field(default_factory=list)
    spy: ContextSpy = field(default_factory=ContextSpy)
    loop_errors: list[str] = field(default_factory=list)
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: list[CallRecord] = field(default_factory=list)  # the calls' records
    line: LineSetup = LineSetup()

    def of(self, channel: str) -> list[Seen]:
        return [seen for seen in self.timeline if seen.call == channel]

    def logs(self, channel: str, message: str | None = None) -> list[Seen]:
        return [
            seen
            for seen in self.of(channel)
            if seen.kind == "log" and (message is None or seen.name == message)
        ]


def run_session(
    scripts: Sequence[Sequence[CallerStep]],
    *,
    together: bool = False,
    faults: dict[str, Fault] | None = None,
    line: LineSetup = LineSetup(),
) -> Session:
    """Place the calls (caller ``i`` follows ``scripts[i]``) on one app and one bank."""
    base = loaded()
    session = Session(
        channels=list(CHANNELS[: len(scripts)]),
        flow=base.tenants[TENANT].flow,
        gateway=FakeGateway(
            speech_seconds=line.speech_seconds,
            consultant_online=line.consultant_online,
            transfer_fails=line.transfer_fails,
        ),
        live=FakeLiveSpeech(),
        line=line,
    )
    session.gateway.on_request = lambda request: session.timeline.append(_seen(request))
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        patch.setattr(adapters.demo, "_hash", cheap_hash)
        # The codes' clock is the loop's (virtual) one: expiry costs no real time.
        patch.setattr(stasis_app.verbs.payment, "CODES", OneTimeCodes(lambda: time.monotonic()))
        patch.setattr(stasis_app.app, "CallContext", spying(session.spy))
        patch.setattr(Call, "read_digits", _noting_reads(Call.read_digits, session.timeline))
        stack.enter_context(monotonic_follows_the_loop())
        stack.enter_context(capturing_logs(session.timeline))
        runner = stack.enter_context(asyncio.Runner(loop_factory=VirtualClockLoop))
        runner.run(_serve_session(session, scripts, together, faults or {}, tmp, line))
        # A task that failed and that nobody awaited is reported when it is
        # collected (to the loop's handler, which keeps it in loop_errors).
        gc.collect()
    return session


def _noting_reads(
    read: Callable[..., Awaitable[str]], timeline: list[Seen]
) -> Callable[..., Awaitable[str]]:
    """Call.read_digits, noting on the timeline what each read returned."""

    @functools.wraps(read)
    async def noted(call: Call, *args: Any, **kwargs: Any) -> str:
        digits = await read(call, *args, **kwargs)
        at = asyncio.get_running_loop().time()
        timeline.append(Seen(call.channel_id, "read", "read_digits", {"digits": digits, "at": at}))
        return digits

    return noted


def _seen(request: Request) -> Seen:
    text = f"{request.operation} {request.channel} {request.args!r}"
    return Seen(request.channel, "request", request.operation, dict(request.args), text)


async def _serve_session(
    session: Session,
    scripts: Sequence[Sequence[CallerStep]],
    together: bool,
    faults: dict[str, Fault],
    tmp: Path,
    line: LineSetup,
) -> None:
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: session.loop_errors.append(str(context)))
    settings = app_settings().model_copy(update={"state": tmp / "state.sqlite"})
    demo = DemoBank(DemoSettings(database=tmp / "bank.sqlite", tenant=TENANT))
    timeout = settings.tenants[TENANT].adapter.timeout
    bank = guarded(ScriptedBank(demo, session.timeline, faults, timeout), settings)
    base = loaded()
    shipped = base.tenants[TENANT]
    prompts = KeyedPrompts(shipped.prompts.texts, shipped.prompts.cache)
    tenant = shipped.tenant
    if line.handed_over:
        tenant = tenant.model_copy(update={"handover": HandOver(lines=[LINE])})
    if line.notice:
        tenant = tenant.model_copy(update={"recording_notice": RecordingNotice(enabled=True)})
    phone = None
    if line.services:
        codes = PaymentCodes(lifetime=line.code_lifetime)
        tenant = tenant.model_copy(update={"features": SERVICES, "payment_codes": codes})
        phone = Phone(session.timeline)
    served = dataclasses.replace(shipped, tenant=tenant, prompts=prompts, bank=bank, sms=phone)
    deployment = Deployment(
        lines=dict.fromkeys(shipped.tenant.lines, served),
        tenants={TENANT: served},
        default_prompts=KeyedPrompts(base.default_prompts.texts, base.default_prompts.cache),
        live=session.live,  # type: ignore[arg-type]
    )
    app = InfoliniaApp(settings, deployment)
    app.gateway = session.gateway  # type: ignore[assignment]

    async def one(channel: str, script: Sequence[CallerStep]) -> None:
        handle = ChannelHandle(channel_id=channel, line=LINE, caller=CALLER)
        session.gateway.connect(handle)
        caller = asyncio.create_task(dial_with_phone(session, channel, script))
        call = asyncio.create_task(_run_call(app, handle))
        try:
            await asyncio.wait_for(call, HOUR)
        except TimeoutError:
            raise AssertionError(f"{channel} still runs after an hour of virtual time") from None
        finally:
            caller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await caller

    if together:
        await asyncio.gather(*(one(c, s) for c, s in zip(session.channels, scripts, strict=False)))
    else:
        for channel, script in zip(session.channels, scripts, strict=False):
            await one(channel, script)
    # Work a call leaves behind (a block shielded from the caller's hangup) ends too.
    left = asyncio.all_tasks() - {asyncio.current_task()}
    if left:
        _, pending = await asyncio.wait(left, timeout=HOUR)
        assert not pending, f"tasks still running an hour after the calls: {pending}"
    session.snapshots = {number: demo.snapshot(number) for number in CUSTOMERS}
    session.records = app.records.records(TENANT, 0, float("inf"))


async def dial_with_phone(session: Session, channel: str, script: Sequence[CallerStep]) -> None:
    """The caller's part (tests.support.fake_call.dial), reading codes off the phone."""
    gateway = session.gateway
    for step in script:
        if isinstance(step, TypeCode):
            await gateway.quiet(channel)
            await asyncio.sleep(step.pause)
            if channel in gateway.ended:
                return
            step = Press(code_for(session, channel, step.whose), gap=0.1)
        await dial(gateway, channel, [step])
        if channel in gateway.ended:
            return


def code_for(session: Session, channel: str, whose: str) -> str:
    sent = [seen for seen in session.timeline if seen.kind == "sms"]
    own = [seen.data["code"] for seen in sent if seen.call == channel]
    others = [seen.data["code"] for seen in sent if seen.call != channel]
    if whose == "other":
        return others[-1] if others else "000000"
    if not own:
        return "000000"
    code: str = own[-1]
    return code if whose == "own" else code[:5] + str((int(code[5]) + 1) % 10)


async def _run_call(app: InfoliniaApp, handle: ChannelHandle) -> None:
    """What AriGateway does with a StasisStart: the call's id in its logs, then the handler."""
    call_id_var.set(handle.channel_id)
    await app.handle_call(handle)


# --- the properties -------------------------------------------------------------------


def check_session(session: Session, *, bank_answers: bool) -> None:
    assert not session.loop_errors, session.loop_errors
    errors = [seen.name for seen in session.timeline if seen.severity >= logging.ERROR]
    assert not errors, f"logged as errors: {errors}"
    for channel in session.channels:
        check_ends_once(session, channel)
        check_blocks_follow_confirmation(session, channel, bank_answers=bank_answers)
        check_nothing_from_other_calls(session, channel)
        check_one_record(session, channel)
        check_transfers_need_their_code(session, channel)
    check_bank_blocks_are_those_asked(session)
    check_secrets_stay_secret(session)


def check_ends_once(session: Session, channel: str) -> None:
    outcomes = [seen.data["outcome"] for seen in session.logs(channel, "call ended")]
    assert len(outcomes) == 1, f"{channel}: call ended {outcomes}"
    how = session.gateway.ended.get(channel)
    assert how is not None, f"{channel}: left in the app without a hangup or a transfer"
    assert how in OUTCOMES.get(outcomes[0], set()), f"{channel}: {outcomes[0]!r}, but {how}"
    after = [r.operation for r in session.gateway.requests if r.channel == channel and not r.live]
    if how == TRANSFERRED:
        assert not after, f"{channel}: after the transfer the app sent {after}"
    if how == BY_APP:
        assert set(after) <= {"hangup"}, f"{channel}: after hanging up the app sent {after}"


def check_one_record(session: Session, channel: str) -> None:
    """The call left one record: ended as the handler says, through the
    states the flow went through, with no customer number in it."""
    [record] = [r for r in session.records if r.call_id == channel]
    [ended] = session.logs(channel, "call ended")
    assert record.ending == ended.data["outcome"], record  # no failures, no queue here
    moves = session.logs(channel, "transition")
    went = [session.flow.initial, *(seen.data["to"] for seen in moves)]
    if not record.states:  # hung up during the bank's recording notice: no state entered
        notices = [
            s for s in session.logs(channel, "prompt") if s.data.get("prompt") == "recording_notice"
        ]
        assert notices and not moves and ended.data["outcome"] == "caller hung up", record
        went = []
    assert [state for state, _ in record.states] == went
    assert not any(number in json.dumps(record.as_dict()) for number in CUSTOMERS)


def confirmations(flow: Flow) -> set[tuple[str, str, str]]:
    """(confirm state, block state, bank operation) of every block the flow confirms."""
    found = set()
    for state in flow.states.values():
        if state.verb.name == "confirm":
            then = flow.states[state.on["yes"]]
            operation = getattr(then.params, "name", None)
            if then.verb.name == "operation" and operation in BLOCKS:
                found.add((state.name, then.name, str(operation)))
    return found


def check_blocks_follow_confirmation(session: Session, channel: str, *, bank_answers: bool) -> None:
    """A block is asked for right after its confirmation, and only then; a
    bank that answers has done it before the flow goes on."""
    confirmed = confirmations(session.flow)
    assert confirmed, "the flow confirms no block: this property checks nothing"
    yes = {(c, "yes", b): op for c, b, op in confirmed}
    last: tuple[str, str, str] = ("", "", "")
    last_read = ""
    unasked: list[str] = []  # confirmed, the bank not asked yet
    undone: list[str] = []  # confirmed, the bank has not done it yet
    for seen in session.of(channel):
        if seen.kind == "read":
            last_read = seen.data["digits"]
        elif seen.kind == "log" and seen.name == "transition":
            assert not unasked, f"{channel}: {unasked} confirmed, the bank never asked"
            assert not undone or not bank_answers, f"{channel}: {undone} confirmed, not done"
            last = _edge(seen.data)
            unasked = undone = []
            if last in yes:
                assert last_read == "1", f"{channel}: {last} after the caller's {last_read!r}"
                unasked, undone = [yes[last]], [yes[last]]
        elif seen.kind == "asked" and seen.name in BLOCKS:
            assert yes.get(last) == seen.name, f"{channel}: asked to {seen.name} after {last}"
            unasked = []
        elif seen.kind == "answered" and seen.name in BLOCKS:
            undone = []
    # The call may end in the block's state (the caller hung up right after "1").
    assert not unasked, f"{channel}: {unasked} confirmed, the bank never asked"
    assert not undone or not bank_answers, f"{channel}: {undone} confirmed, not in the bank"


def _edge(transition: dict[str, Any]) -> tuple[str, str, str]:
    return (transition.get("from", ""), transition.get("on", ""), transition.get("to", ""))


def check_bank_blocks_are_those_asked(session: Session) -> None:
    done: dict[str, tuple[str, str, str]] = {}  # operation id -> customer, kind, target
    for seen in session.timeline:
        if seen.kind == "answered" and seen.name in BLOCKS:
            customer, target, operation_id = seen.data["args"]
            done[operation_id] = (customer, BLOCKS[seen.name], target)
    for number, snapshot in session.snapshots.items():
        in_bank = Counter((block["kind"], block["target"]) for block in snapshot["blocks"])
        asked = {(kind, target) for who, kind, target in done.values() if who == number}
        assert set(in_bank) == asked, f"{number}: the bank has {in_bank}, the calls asked {asked}"
        twice = [target for target, blocks in in_bank.items() if blocks > 1]
        assert not twice, f"{number}: {twice} blocked more than once (references differ)"


@dataclass
class CodeRead:
    """A code the caller typed at the code's prompt, against the call's last SMS."""

    digits: str
    at: float
    sms: dict[str, Any] | None
    wrong_before: int  # wrong codes typed since that SMS
    used: bool  # a transfer already ran on that SMS


def code_reads(session: Session, channel: str) -> list[tuple[CodeRead, list[Seen]]]:
    """Each code the caller typed, with what happened after it up to the next
    transition that is not to execute the transfer."""
    tries = PaymentCodes().tries
    found: list[tuple[CodeRead, list[Seen]]] = []
    sms: dict[str, Any] | None = None
    wrong, used, at_code = 0, False, False
    after: list[Seen] | None = None
    for seen in session.of(channel):
        if seen.kind == "log" and seen.name == "transition":
            at_code = seen.data["to"] == "transfer_code_ask"
            if seen.data["to"] != "transfer_execute":
                after = None
        if after is not None:
            after.append(seen)
        if seen.kind == "sms":
            sms, wrong, used = seen.data, 0, False
        elif seen.kind == "read" and at_code and len(seen.data["digits"]) == 6:
            digits = seen.data["digits"]
            read = CodeRead(digits, seen.data["at"], sms, wrong, used)
            after = []
            found.append((read, after))
            if sms is not None and digits == sms["code"] and wrong < tries:
                used = True
            else:
                wrong += 1
    return found


def check_transfers_need_their_code(session: Session, channel: str) -> None:
    """The bank executes a transfer only right after the caller typed the
    code of the last SMS this call sent, for that order (amount, payee, the
    customer), in time, once, with tries left; and the right code in time
    (well inside the lifetime) always has the bank asked (unless the caller
    hung up meanwhile)."""
    lifetime, tries = session.line.code_lifetime, PaymentCodes().tries
    reads = code_reads(session, channel)
    asked = [s for s in session.of(channel) if s.kind == "asked" and s.name == "execute_transfer"]
    after_reads = [
        seen for _, after in reads for seen in after if seen.kind == "asked"
    ]  # fmt: skip
    assert all(ask in after_reads for ask in asked), f"{channel}: executed after no code"
    for read, after in reads:
        executed = [s for s in after if s.kind == "asked" and s.name == "execute_transfer"]
        sms = read.sms
        if executed:
            assert len(executed) == 1, f"{channel}: one code, {len(executed)} executions"
            assert sms is not None, f"{channel}: a transfer executed, no SMS was sent"
            assert read.digits == sms["code"], f"{channel}: executed on a wrong code"
            assert not read.used, f"{channel}: one code executed two transfers"
            assert read.wrong_before < tries, f"{channel}: executed after {tries} wrong codes"
            assert read.at <= sms["at"] + lifetime, f"{channel}: executed on an expired code"
            customer, _, amount, currency, payee, *_ = executed[0].data["args"]
            bound = (sms["customer"], f"{sms['amount']} zł", sms["payee"])
            done = (customer, amount_text(Decimal(amount), currency), payee)
            assert done == bound, f"{channel}: the code was for {bound}, executed {done}"
        right = (
            sms is not None and read.digits == sms["code"] and not read.used
            and read.wrong_before < tries and read.at + 1.0 < sms["at"] + lifetime
        )  # fmt: skip
        if right and session.gateway.ended.get(channel) != BY_CALLER:
            assert executed, f"{channel}: the right code in time, the bank never asked"


def check_secrets_stay_secret(session: Session) -> None:
    playbacks = {
        r.args["playback"] for r in session.gateway.requests if "playback" in r.args
    }  # ids the app makes up (random hex): not data

    def plain(text: str) -> str:
        for playback in playbacks:
            text = text.replace(playback, "<playback>")
        return text.replace(CALLER, "<caller>")

    written = [
        (seen.kind, seen.name, plain(seen.text))
        for seen in session.timeline
        if seen.kind in ("log", "request")
    ]
    # A new telekod of one to three digits (refused as weak) is in every number.
    for secret in (typed for typed in session.spy.typed if len(typed) >= 4):
        leaks = [(kind, name, text) for kind, name, text in written if secret in text]
        assert not leaks, f"secret {secret!r} in {leaks}"
    for sms in (seen for seen in session.timeline if seen.kind == "sms"):
        code = re.compile(rf"(?<![0-9]){sms.data['code']}(?![0-9])")
        leaks = [(kind, name, text) for kind, name, text in written if code.search(text)]
        assert not leaks, f"an SMS code in {leaks}"


def check_nothing_from_other_calls(session: Session, channel: str) -> None:
    assert session.spy.starts.get(channel) == EMPTY_START, session.spy.starts.get(channel)
    failures = [seen.data["failures"] for seen in session.logs(channel, "login refused")]
    assert failures == list(range(1, len(failures) + 1)), f"{channel}: failures {failures}"
    assert channel in session.live.forgotten, f"{channel}: live audio kept after the call"
    logins = {
        name for name, state in session.flow.states.items()
        if state.verb.name in ("identify", "authenticate")
    }  # fmt: skip
    customer: str | None = None
    level = 0
    trying = ""
    for seen in session.of(channel):
        if seen.kind == "log" and seen.name == "transition" and seen.data["to"] in logins:
            customer, level = None, 0  # a new login forgets the previous one
        elif seen.kind == "asked" and seen.name in ("identify", "authenticate"):
            trying = seen.data["args"][0]
        elif seen.kind == "log" and seen.name == "caller logged in":
            customer, level = trying, LEVELS[seen.data["login_level"]]
        elif seen.kind == "asked" and seen.name in NEEDS:
            assert seen.data["args"][0] == customer, (
                f"{channel}: {seen.name} for {seen.data['args'][0]}, logged in: {customer}"
            )
            assert level >= LEVELS[NEEDS[seen.name]], f"{channel}: {seen.name} at level {level}"
        elif seen.kind == "request" and seen.name == "play":
            heard = session.gateway.keys_of(seen.data["media"])
            data = [key for key in heard if key in CUSTOMER_DATA or key.startswith("live:")]
            assert not data or customer is not None, f"{channel}: heard {data} before a login"


def tell_what_was_covered(session: Session) -> None:
    """For --hypothesis-show-statistics: how often the runs reach what the
    properties are about (a property no run reaches proves nothing)."""
    for channel in session.channels:
        event(f"ended: {session.gateway.ended.get(channel)}")
        logs = session.logs(channel)
        if any(seen.name == "caller logged in" for seen in logs):
            event("a caller logged in")
        edges = {_edge(seen.data) for seen in logs if seen.name == "transition"}
        if {(c, "yes", b) for c, b, _ in confirmations(session.flow)} & edges:
            event("a caller confirmed a block")
        if "balance_is" in session.gateway.heard(channel):
            event("a caller heard a balance")
        if "available_is" in session.gateway.heard(channel):
            event("a caller heard a chosen account's available funds")
        if "rates_intro" in session.gateway.heard(channel):
            event("a caller heard the exchange rates")
        if any(seen.name == "login refused" for seen in logs):
            event("a login was refused")
    if any(s["blocks"] for s in session.snapshots.values()):
        event("the bank has a block")
    if any(seen.kind == "sms" for seen in session.timeline):
        event("an SMS code was sent")
    if any(seen.name == "execute_transfer" for seen in session.timeline if seen.kind == "asked"):
        event("the bank was asked to execute a transfer")
    if any("telekod_changed" in session.gateway.heard(channel) for channel in session.channels):
        event("a telekod was changed")
    yes = {(c, "yes", b) for c, b, _ in confirmations(session.flow)}
    for channel in session.channels:
        after_yes: list[str] | None = None  # what happened since the last confirmation, if any
        for seen in session.of(channel):
            if seen.kind == "log" and seen.name == "transition" and _edge(seen.data) in yes:
                after_yes = []
            elif after_yes is not None:
                after_yes.append(seen.kind)
        hung_up = session.gateway.ended.get(channel) == BY_CALLER
        if hung_up and after_yes is not None and "read" not in after_yes:
            event("a caller hung up right after confirming a block")
    if session.spy.typed:
        event("a secret was typed")
    if any(seen.kind == "asked" for seen in session.timeline) and len(session.channels) > 1:
        event("several calls, the bank asked")


# --- what callers do ---------------------------------------------------------------------

KEYS = "0123456789*#"
# Numbers and secrets of the demo customers, so that logins succeed sometimes.
KNOWN = ("12345678", "87654321", "1234#", "4321#", "1234", "*", "01021950", "15061985")
# Whole errands (main menu onwards), which random changes then break.
ERRANDS = (
    ("1", "12345678", "1234#", "1", "1", "1", "9", "1"),  # block a card, telekod
    ("1", "12345678", "*", "01021950", "1", "2", "1"),  # block a card, date of birth
    ("1", "87654321", "4321#", "2", "1", "0"),  # block internet banking
    ("2", "12345678", "1234#", "1", "9", "0"),  # balance and history
    ("2", "87654321", "4321#", "9", "1"),  # balance twice, history
    ("2", "12345678", "9999#", "12345678", "1111#", "12345678", "0000#"),  # wrong telekods
    ("1", "12345678", "1234#", "1", "1", "2", "2", "1"),  # confirm no, then internet banking
    ("0",),  # a consultant
    ("12345678", "01021950", "1", "1", "9"),  # handed over: date of birth, a card, confirm
    ("12345678", "*", "1234#", "2", "1"),  # handed over: the telekod instead, confirm no
    ("8", "1", "12345678", "1234#", "1", "1", "1"),  # the notice's full information, a block
    ("2", "12345678", "1234#", "2", "1", "9", "0"),  # services: the savings account, history
    ("5", "9", "1", "6", "9", "0"),  # services: the bank's information, then the rates
    ("2", "12345678", "1234#", "1", "2", "1", "1", CODE, "9", "1"),  # services: a transfer
    ("2", "87654321", "4321#", "3", "4321#", "739164#", "739164#", "1"),  # services: telekod
)
groups = st.one_of(
    st.sampled_from(KEYS),
    st.sampled_from(KNOWN),
    st.text(KEYS, max_size=10),  # "" is silence
    st.text("0123456789", min_size=20, max_size=40),
)
pauses = st.sampled_from([0.0, 0.1, 1.0, 3.0, 5.0, 7.0, 15.0])  # keys: 6 s for the first
gaps = st.sampled_from([0.1, 0.0, 1.0, 5.0])  # 4 s between keys end a number
# How a caller times keys: (pauses, gaps, waits for the prompt to end).
STYLES = {
    "patient": (st.sampled_from([0.5, 1.0, 2.0]), st.sampled_from([0.1, 0.3]), st.just(True)),
    "hurried": (st.sampled_from([0.0, 0.1]), st.sampled_from([0.0, 0.1]), st.just(False)),
    "erratic": (pauses, gaps, st.booleans()),
}


@st.composite
def scripts(draw: st.DrawFn) -> list[CallerStep]:
    """One caller: an errand with a few random changes, or random key groups;
    patient (waits for each prompt, like the call simulator), hurried (types
    ahead) or erratic; perhaps hanging up at some point."""
    keys: list[str]
    if draw(st.sampled_from(["errand", "errand", "random keys"])) == "errand":
        keys = list(draw(st.sampled_from(ERRANDS)))
        for _ in range(draw(st.integers(0, 2))):
            at = draw(st.integers(0, len(keys)))
            change = draw(st.sampled_from(["replace", "drop", "add"]))
            if change == "add" or at == len(keys):
                keys.insert(at, draw(groups))
            elif change == "replace":
                keys[at] = draw(groups)
            else:
                del keys[at]
    else:
        keys = draw(st.lists(groups, max_size=10))
    keys += draw(st.lists(groups, max_size=2))
    pause, gap, after_prompt = STYLES[draw(st.sampled_from(sorted(STYLES)))]
    steps: list[CallerStep] = [
        TypeCode("own", draw(pause)) if group == CODE
        else Press(group, draw(pause), draw(gap), draw(after_prompt))
        for group in keys
    ]  # fmt: skip
    # Hang up never, anywhere, or at once after a "1" (perhaps a confirmation).
    after_ones = [
        n + 1 for n, step in enumerate(steps) if isinstance(step, Press) and step.keys == "1"
    ]
    hangup = draw(st.sampled_from(["never", "anywhere", "right after a 1"]))
    if hangup == "anywhere":
        steps = [*steps[: draw(st.integers(0, len(steps)))], HangUp(draw(pauses))]
    elif hangup == "right after a 1" and after_ones:
        at = draw(st.sampled_from(after_ones))
        steps = [*steps[:at], HangUp(draw(st.sampled_from([0.0, 0.1])))]
    return steps


sessions = st.lists(scripts(), min_size=1, max_size=3)
lines = st.builds(
    LineSetup,
    speech_seconds=st.sampled_from([1.0, 0.2, 3.0]),
    consultant_online=st.booleans(),
    transfer_fails=st.booleans(),
    handed_over=st.booleans(),
    notice=st.booleans(),
    services=st.booleans(),
    code_lifetime=st.sampled_from([300.0, 5.0]),
)
BANK_OPERATIONS = (
    "identify",
    "authenticate",
    "list_cards",
    "block_card",
    "block_internet_banking",
    "list_accounts",
    "last_operations",
    "account_list",
    "account_balance",
    "account_operations",
    "exchange_rates",
    "predefined_transfers",
    "execute_transfer",
    "change_telekod",
)
faults = st.dictionaries(
    st.sampled_from(BANK_OPERATIONS),
    st.builds(Fault, how=st.sampled_from(HOWS), times=st.sampled_from([1, 2, 1000])),
    min_size=1,
    max_size=4,
)
PROPERTY = settings(
    deadline=None,
    database=None,  # nothing written into the checkout; a failure prints its blob
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@settings(PROPERTY, max_examples=200)
@given(calls=sessions, together=st.booleans(), line=lines)
def test_calls_on_the_demo_bank_end_cleanly_keep_secrets_and_share_nothing(
    calls: list[list[CallerStep]], together: bool, line: LineSetup
) -> None:
    session = run_session(calls, together=together, line=line)
    check_session(session, bank_answers=True)
    tell_what_was_covered(session)


@settings(PROPERTY, max_examples=150)
@given(calls=sessions, together=st.booleans(), faults=faults, line=lines)
def test_calls_on_a_failing_bank_end_cleanly_keep_secrets_and_share_nothing(
    calls: list[list[CallerStep]], together: bool, faults: dict[str, Fault], line: LineSetup
) -> None:
    session = run_session(calls, together=together, faults=faults, line=line)
    check_session(session, bank_answers=False)
    tell_what_was_covered(session)


# To the code's prompt: the balance, the personal account, its transfers.
TO_TRANSFERS = ("2", "12345678", "1234#", "1", "2")


@st.composite
def paying_calls(draw: st.DrawFn) -> list[list[CallerStep]]:
    """One or two calls of 12345678 each ordering one of the two predefined
    transfers and typing one to three codes: its own, a wrong one or the
    other call's (another order, another call), soon or late."""
    calls: list[list[CallerStep]] = []
    for _ in range(draw(st.integers(1, 2))):
        order = draw(st.sampled_from(["1", "2"]))
        codes = st.builds(
            TypeCode, st.sampled_from(["own", "wrong", "other"]), st.sampled_from([0.5, 2.0, 9.0])
        )
        typed = draw(st.lists(codes, min_size=1, max_size=3))
        calls.append([*keys(*TO_TRANSFERS, order, "1"), *typed, HangUp(pause=30)])
    return calls


@settings(PROPERTY, max_examples=30)
@given(
    calls=paying_calls(),
    together=st.booleans(),
    lifetime=st.sampled_from([300.0, 6.0]),
)
def test_no_transfer_without_the_right_unexpired_code_for_that_order(
    calls: list[list[CallerStep]], together: bool, lifetime: float
) -> None:
    """check_transfers_need_their_code on calls that reach the code: the
    right code in time (with tries left) has the order carried out and read
    back, once; a wrong code, the other call's or an expired one never."""
    line = LineSetup(services=True, code_lifetime=lifetime)
    session = run_session(calls, together=together, line=line)
    check_session(session, bank_answers=True)
    for channel in session.channels:
        reads = code_reads(session, channel)
        assert reads, f"{channel}: never typed a code (the calls prove nothing)"
        executed = [r for r, after in reads if any(s.name == "execute_transfer" for s in after)]
        heard = session.gateway.heard(channel)
        assert ("order_done" in heard) == bool(executed), f"{channel}: heard {heard}"
        for read, _ in reads:
            sms = read.sms
            assert sms is not None
            if read.digits != sms["code"]:
                event("a wrong code (or another order's) was typed")
                assert read not in executed
            elif read.at > sms["at"] + lifetime:
                event("a code was typed after its expiry")
                assert read not in executed
            elif not read.used and read.at + 1.0 < sms["at"] + lifetime:
                event("the right code was typed in time")
                assert read in executed
    done = session.snapshots["12345678"]["transfers_done"]
    asked = [s for s in session.timeline if s.kind == "asked" and s.name == "execute_transfer"]
    assert len(done) == len(asked)


# --- the same checks on calls whose course is known -----------------------------------------


def keys(*groups: str) -> list[CallerStep]:
    """A caller who waits for each prompt to end, then types a group."""
    return [Press(group, pause=0.5, after_prompt=True) for group in groups]


def test_a_balance_call_hears_the_balance_and_nothing_secret() -> None:
    session = run_session([[*keys("2", "12345678", "1234#"), HangUp(pause=20)]])
    check_session(session, bank_answers=True)
    heard = session.gateway.heard(CHANNELS[0])
    assert "balance_is" in heard
    assert session.spy.typed == {"1234"}
    assert session.gateway.ended[CHANNELS[0]] == BY_CALLER


def test_a_block_confirmed_just_before_the_caller_hangs_up_is_in_the_bank() -> None:
    script = [*keys("1", "12345678", "*", "01021950", "1", "1", "1"), HangUp(pause=0)]
    session = run_session([script])
    check_session(session, bank_answers=True)
    blocks = session.snapshots["12345678"]["blocks"]
    assert [(b["kind"], b["target"]) for b in blocks] == [("card", "card-1111")]
    assert session.logs(CHANNELS[0], "call ended")[0].data["outcome"] == "caller hung up"
    assert session.spy.typed == {"01021950"}


def test_the_next_caller_starts_from_nothing() -> None:
    first = [*keys("2", "12345678", "1234#"), HangUp(pause=20)]
    second = keys("2", "1", "9")  # no customer number, then silence
    session = run_session([first, second])
    check_session(session, bank_answers=True)
    assert "balance_is" in session.gateway.heard(CHANNELS[0])
    assert not CUSTOMER_DATA & set(session.gateway.heard(CHANNELS[1]))
    assert [s for s in session.of(CHANNELS[1]) if s.kind == "asked"] == []
    assert session.gateway.ended[CHANNELS[1]] in (TRANSFERRED, BY_APP)


def test_a_bank_that_answers_too_late_still_blocks_once() -> None:
    script = keys("1", "87654321", "4321#", "2", "1")
    session = run_session([script], faults={"block_internet_banking": Fault("late", 1)})
    check_session(session, bank_answers=True)
    assert len(session.snapshots["87654321"]["blocks"]) == 1
    assert "ib_blocked" in session.gateway.heard(CHANNELS[0])


@pytest.mark.parametrize("after", [0.1, 5.0], ids=["during the wait", "as the guard gives up"])
def test_a_caller_who_hangs_up_while_the_bank_hangs_leaves_no_stray_error(after: float) -> None:
    """Found by the properties: the caller hangs up during "please wait"
    while authenticate never answers (also at the very moment the guard's
    5 s run out); the login's unfinished work must not end as an exception
    nobody retrieves (asyncio logs it as an error)."""
    script: list[Step] = [Press("1"), Press("87654321"), Press("4321#"), HangUp(pause=after)]
    session = run_session([script], faults={"authenticate": Fault("hangs", 1)})
    check_session(session, bank_answers=False)
    assert session.gateway.ended[CHANNELS[0]] == BY_CALLER


@pytest.mark.parametrize(
    ("whose", "pause", "lifetime", "carried_out"),
    [
        ("own", 0.5, 300.0, True),
        ("wrong", 0.5, 300.0, False),
        ("own", 9.0, 6.0, False),  # typed after its expiry
    ],
    ids=["right code", "wrong code", "expired code"],
)
def test_only_the_right_code_in_time_carries_out_the_transfer(
    whose: str, pause: float, lifetime: float, carried_out: bool
) -> None:
    script = [*keys(*TO_TRANSFERS, "1", "1"), TypeCode(whose, pause), HangUp(pause=30)]
    session = run_session([script], line=LineSetup(services=True, code_lifetime=lifetime))
    check_session(session, bank_answers=True)
    [read] = [read for read, _ in code_reads(session, CHANNELS[0])]
    assert (read.sms is not None and read.digits == read.sms["code"]) == (whose == "own")
    done = session.snapshots["12345678"]["transfers_done"]
    assert [d["transfer_id"] for d in done] == (["pt-1"] if carried_out else [])
    heard = session.gateway.heard(CHANNELS[0])
    assert ("order_done" in heard) == carried_out
    if whose == "wrong":
        assert "sms_code_wrong" in heard
    if pause > lifetime:
        assert "sms_code_expired" in heard


def test_another_calls_code_for_another_order_carries_out_nothing() -> None:
    first = [*keys(*TO_TRANSFERS, "1", "1"), TypeCode("own", 9.0), HangUp(pause=30)]
    second = [*keys(*TO_TRANSFERS, "2", "1"), TypeCode("other", 0.5), HangUp(pause=30)]
    session = run_session([first, second], together=True, line=LineSetup(services=True))
    check_session(session, bank_answers=True)
    [theirs] = [read for read, _ in code_reads(session, CHANNELS[1])]
    [mine] = [read for read, _ in code_reads(session, CHANNELS[0])]
    assert mine.sms is not None and theirs.digits == mine.sms["code"]  # the first call's code
    done = session.snapshots["12345678"]["transfers_done"]
    assert [d["transfer_id"] for d in done] == ["pt-1"]  # the first call's own order only
    assert "sms_code_wrong" in session.gateway.heard(CHANNELS[1])
