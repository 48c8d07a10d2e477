"""Test calls from the admin page (*Zadzwoń testowo*, issue 20).

A bank's admin asks the page for a test call of one flow version (a draft or
the live one). The page gets a one-time token; the browser's softphone dials
``test<token>`` over Asterisk's WebRTC endpoint, whose dialplan sends exactly
that to the app (docker/asterisk/etc: ``infolinia-test-calls``). The app
takes the token (once, within :data:`TOKEN_SECONDS`) and runs that call on the
version's flow: real callers keep the live version. A token is the only
credential of a test call: no lasting SIP password exists to leak, and a
wrong, used or late token is hung up unanswered (no prompt: a stranger on
the WebRTC endpoint learns nothing and costs one ARI request).

Test calls do not count against ``ari.max_calls`` (the bank's callers keep
their places); instead at most :data:`MAX_AT_ONCE` run at once per bank. A
test call changes nothing at the bank: the flow engine skips every verb that
writes (:meth:`stasis_app.verbs.base.Verb.test_call_skip`) and plays
``test_call_no_write`` instead.

While the call runs, :class:`TestCall` keeps what the page shows beside the
diagram: the flow's current state and the transcript of the prompts played,
each with the state that played it. Customer data (fragments of numbers,
amounts, dates, text spoken live) is never written there: "…" stands for it.

Tokens live in this process: the admin page that issues one and the app that
takes it are the same process (a cluster's page test-calls through its own
node's Asterisk).
"""

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from stasis_app.flow.model import Flow
from voice.live import speaks_customer_data

TEST_PREFIX = "test"  # the dialled extension: "test" + the token (hex)
TOKEN_SECONDS = 60.0  # a token not dialled within this is void
KEPT_SECONDS = 600.0  # an ended test call stays readable by its page this long
MAX_HEARD = 200  # transcript lines kept per call
HIDDEN = "…"  # stands for customer data in a transcript
# Test calls in progress per bank: two lets two admins test at once, and
# keeps a leaked page session from filling the machine (they are not counted
# against ari.max_calls).
MAX_AT_ONCE = 2


class Texts(Protocol):
    """What a transcript needs of a prompt book: its texts by key."""

    @property
    def texts(self) -> dict[str, str]: ...


@dataclass
class Heard:
    """One prompt (or several in a row) the test caller heard."""

    state: str
    text: str


@dataclass
class TestCall:
    """One test call, from the token's issue until some time after it ended."""

    __test__ = False  # not a pytest test class, despite its name

    id: str  # the page's handle on the call (not the token: that dials)
    tenant: str
    version: int
    version_hash: str
    user: str
    flow: Flow
    issued: float
    status: str = "waiting"  # waiting (for the browser's call), in_call, ended
    ended_at: float | None = None
    heard: list[Heard] = field(default_factory=list)
    state_of: Callable[[], str] = lambda: ""
    titles: dict[str, str] = field(default_factory=dict)  # state key -> its name for people

    @property
    def state(self) -> str:
        return self.state_of() if self.status == "in_call" else ""

    def answered(self, state_of: Callable[[], str]) -> None:
        """The call reached the app: ``state_of()`` is its current flow state."""
        self.status = "in_call"
        self.state_of = state_of

    def played(self, keys: Sequence[str], book: Texts) -> None:
        """The call played the prompts ``keys`` from ``book``: one transcript line."""
        words: list[str] = []
        for key in keys:
            text = HIDDEN if speaks_customer_data(key) else book.texts.get(key, HIDDEN)
            if not (text == HIDDEN and words[-1:] == [HIDDEN]):
                words.append(text)
        if words and len(self.heard) < MAX_HEARD:
            self.heard.append(Heard(self.state_of(), " ".join(words)))

    def ended(self, now: float) -> None:
        self.status, self.ended_at = "ended", now

    def view(self) -> dict[str, Any]:
        """What the page shows (no token, no customer data): states by key
        and by the name a bank's admin reads (:attr:`titles`)."""
        state = self.state
        return {
            "id": self.id,
            "version": self.version,
            "hash": self.version_hash,
            "status": self.status,
            "state": state,
            "title": self.titles.get(state, state),
            "heard": [
                {"state": h.state, "title": self.titles.get(h.state, h.state), "text": h.text}
                for h in self.heard
            ],
        }


class TestCalls:
    """The test calls issued by this process's admin page."""

    __test__ = False

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._by_token: dict[str, TestCall] = {}  # issued, not yet dialled
        self._by_id: dict[str, TestCall] = {}

    def issue(
        self, tenant: str, version: int, version_hash: str, user: str, flow: Flow
    ) -> tuple[str, TestCall]:
        """A new test call of ``flow`` (version ``version`` of ``tenant``'s)
        for ``user``: the extension to dial, and the test call."""
        self._forget_old()
        token = secrets.token_hex(16)
        test = TestCall(
            id=secrets.token_hex(8),
            tenant=tenant,
            version=version,
            version_hash=version_hash,
            user=user,
            flow=flow,
            issued=self.clock(),
        )
        self._by_token[token] = test
        self._by_id[test.id] = test
        return TEST_PREFIX + token, test

    def take(self, line: str) -> TestCall | None:
        """The test call dialled as ``line``, once (None: not a test line, an
        unknown or used token, one older than :data:`TOKEN_SECONDS`, or its
        bank has :data:`MAX_AT_ONCE` test calls in progress)."""
        if not line.startswith(TEST_PREFIX):
            return None
        test = self._by_token.pop(line.removeprefix(TEST_PREFIX), None)
        if test is None or self.clock() - test.issued > TOKEN_SECONDS:
            return None
        if self.in_call(test.tenant) >= MAX_AT_ONCE:
            test.ended(self.clock())
            return None
        test.status = "in_call"  # counted from now (the caller ends it: ended())
        return test

    def in_call(self, tenant: str) -> int:
        """How many of ``tenant``'s test calls are in progress."""
        return sum(1 for t in self._by_id.values() if t.tenant == tenant and t.status == "in_call")

    def find(self, tenant: str, call_id: str) -> TestCall | None:
        """A test call of ``tenant``'s by its id (another bank's: None)."""
        test = self._by_id.get(call_id)
        return test if test is not None and test.tenant == tenant else None

    def _forget_old(self) -> None:
        now = self.clock()
        for token, test in list(self._by_token.items()):
            if now - test.issued > TOKEN_SECONDS:
                del self._by_token[token]
                if test.status == "waiting":
                    test.ended(now)
        for call_id, test in list(self._by_id.items()):
            if test.ended_at is not None and now - test.ended_at > KEPT_SECONDS:
                del self._by_id[call_id]


def is_test_line(line: str) -> bool:
    """Whether a dialled ``line`` is a test call's (it is never a bank's number)."""
    return line.startswith(TEST_PREFIX)
