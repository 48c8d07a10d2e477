"""What a call's flow knows while it runs: the call, the bank, the caller."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adapters.sms import SmsSender
from adapters.spec import CoreBanking, Customer
from stasis_app.reports.trail import CallTrail
from stasis_app.safeguards import Safeguards
from stasis_app.safeguards.sca import Challenge
from stasis_app.telephony.ports import CallPort
from stasis_app.tenants import Tenant

if TYPE_CHECKING:
    from stasis_app.queue.manager import QueueManager


# What a test call's skipped write leaves where the bank's reference would be.
TEST_REFERENCE = "0"


@dataclass(frozen=True)
class Skipped:
    """How a test call goes on past a verb that writes at the bank, which it
    does not run: the verb's success ``event``, with ``keeps`` (if any)
    holding :data:`TEST_REFERENCE` for the prompts after it."""

    event: str
    keeps: str | None = None


@dataclass
class CallContext:
    """The state of one call's flow.

    ``values`` hold what the flow collected or looked up (customer number,
    cards, reference); ``secrets`` hold PINs and dates of birth, which are
    never logged and are dropped as soon as they were used.
    """

    call: CallPort  # the real Call, or a unit test's fake
    tenant: Tenant
    bank: CoreBanking
    values: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    customer: Customer | None = None
    level: str | None = None  # "identified" (date of birth) or "authenticated" (telekod)
    login_failures: int = 0
    state: str = ""
    transitions: dict[str, str] = field(default_factory=dict)  # the current state's "on"
    ended: bool = False  # a hangup or transfer ended the call's part in the flow
    # Audit, guessing limits and the block journal (None in tests of flows alone).
    safeguards: Safeguards | None = None
    # The consultant queues (None: transfers go to the dialplan route).
    queues: "QueueManager | None" = None
    # What the call did, for its call record (stasis_app.reports).
    trail: CallTrail = field(default_factory=CallTrail)
    # The bank's SMS sender of one-time codes (None: the bank sends none).
    sms: SmsSender | None = None
    # The one-time code sent for the order being paid (no code inside: only
    # what checks it; never in ``values``, which webhooks and records see).
    challenge: Challenge | None = None
    # The admin page's test call: the engine skips every verb that writes at
    # the bank (stasis_app/flow/engine.py, Verb.test_call_skip).
    test_call: bool = False
    codes_sent: int = 0  # one-time codes sent in this call (payment_codes.per_call)
    # Transfers the bank carried out in this call: transfer id -> its reference.
    transfers_done: dict[str, str] = field(default_factory=dict)

    def take_secret(self, name: str) -> str:
        """Hand out a secret once and forget it."""
        return self.secrets.pop(name, "")
