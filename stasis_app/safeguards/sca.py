"""One-time codes for strong customer authentication of a payment (PSD2
art. 97), bound to the order's amount and payee (RTS art. 5, dynamic linking).

A code is six digits of an HMAC, under a key made when the process starts
and never written anywhere, over a fresh nonce and the order it authorises:
the order's id, amount, currency and payee, and the call. Nothing keeps the
code itself: a :class:`Challenge` holds the nonce, the order it was issued
for, its expiry and the tries left, and :meth:`OneTimeCodes.check` computes
the code again over the order *about to be executed*, so a code typed for
one amount or payee never authorises another. A code expires
(``lifetime``, 5 minutes by default), is used once, and three wrong codes
cancel it. Neither the code nor the nonce is in a challenge's ``repr``, a
log line or an exception.
"""

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

CODE_DIGITS = 6
DEFAULT_LIFETIME = 300.0  # seconds
DEFAULT_TRIES = 3


@dataclass(frozen=True)
class Binding:
    """What a code authorises: one order, its amount, payee and title, in one call."""

    order_id: str
    amount: Decimal
    currency: str
    payee: str
    call_id: str
    title: str = ""

    def message(self) -> bytes:
        """The bytes the code's HMAC covers (length-prefixed, so no two
        bindings share them)."""
        parts = (
            self.order_id, f"{self.amount:f}", self.currency, self.payee, self.call_id, self.title,
        )  # fmt: skip
        return b"".join(len(p.encode()).to_bytes(4, "big") + p.encode() for p in parts)


class Verdict(StrEnum):
    """What a typed code did."""

    OK = "ok"  # right, in time: the order may be executed (once)
    WRONG = "wrong"  # wrong code (or another order's): tries are left
    EXPIRED = "expired"  # too late: a new code is needed
    CANCELLED = "cancelled"  # the last try was wrong, or the code was used already


@dataclass
class Challenge:
    """One code sent to the customer, without the code."""

    binding: Binding
    expires: float  # on the codes' clock
    tries_left: int
    nonce: bytes = field(repr=False)
    closed: bool = False  # used, expired or cancelled: it never says OK again


class OneTimeCodes:
    """Issues and checks the codes of one process (one key, made here).

    :data:`CODES` is the process's one instance."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._key = secrets.token_bytes(32)

    def __repr__(self) -> str:  # never the key
        return "OneTimeCodes()"

    def _code(self, nonce: bytes, binding: Binding) -> str:
        digest = hmac.new(self._key, nonce + binding.message(), hashlib.sha256).digest()
        return f"{int.from_bytes(digest[:8], 'big') % 10**CODE_DIGITS:0{CODE_DIGITS}d}"

    def issue(
        self, binding: Binding, lifetime: float = DEFAULT_LIFETIME, tries: int = DEFAULT_TRIES
    ) -> tuple[Challenge, str]:
        """A new challenge for ``binding`` and its code: the code goes to the
        customer's phone and nowhere else (the call keeps the challenge).
        ``lifetime`` in seconds; ``tries`` wrong codes cancel it."""
        if lifetime <= 0 or tries < 1:
            raise ValueError("a code needs a positive lifetime and at least one try")
        nonce = secrets.token_bytes(16)
        expires = self._clock() + lifetime
        return Challenge(binding, expires, tries, nonce), self._code(nonce, binding)

    def check(self, challenge: Challenge, binding: Binding, typed: str) -> Verdict:
        """Whether ``typed`` authorises ``binding`` (the order about to be
        executed) under ``challenge``. OK once; a wrong code uses a try and
        the last wrong try cancels; after the expiry every answer is EXPIRED."""
        if challenge.closed:
            return Verdict.CANCELLED
        if self._clock() > challenge.expires:
            challenge.closed = True
            return Verdict.EXPIRED
        expected = self._code(challenge.nonce, binding)
        same_order = binding == challenge.binding
        # Compared in constant time whatever was typed (a wrong length too).
        right = hmac.compare_digest(expected.encode(), typed.encode()[:64]) and same_order
        if right:
            challenge.closed = True
            return Verdict.OK
        challenge.tries_left -= 1
        if challenge.tries_left <= 0:
            challenge.closed = True
            return Verdict.CANCELLED
        return Verdict.WRONG


# The process's codes: its key lives as long as the process (a code issued
# before a config reload still checks after it).
CODES = OneTimeCodes()
