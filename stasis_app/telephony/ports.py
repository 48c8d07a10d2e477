"""What the rest of the app may ask of the ARI gateway, and of a call, as Protocols.

:class:`~stasis_app.telephony.call.Call` and the consultant queue are typed
against these, not against :class:`~stasis_app.telephony.gateway.AriGateway`,
so that a unit test's fake (``tests/support/fake_call.py``) stands where the
real gateway stands and mypy checks that both keep to the same methods.

* :class:`CallGateway`: what a caller's call uses (answer, prompts, the
  transfer to a consultant, hang up).
* :class:`QueueGateway`: that, plus what the consultant queue uses (legs it
  rings itself, bridges, presence, snoops for supervisors).

A method the app starts to use on the gateway goes here first; a test
(``tests/test_gateway_ports.py``) fails when a Protocol lists a method that
``Call`` and the queue do not use, or misses one they do.

* :class:`CallPort`: what flows, verbs and the consultant queue may ask of a
  caller's :class:`~stasis_app.telephony.call.Call` (say, read keys, wait,
  transfer, hang up), and nothing of its insides (the gateway, the channel's
  handle, the key buffer). :class:`~stasis_app.flow.context.CallContext` is
  typed with it, so a unit test's fake call (``tests/support/fake_call.py``)
  stands where the real one stands; ``tests/test_call_port.py`` fails when it
  lists a member they do not use, or misses one they do.
"""

from collections.abc import Awaitable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from stasis_app.telephony.gateway import AriEvent, ChannelHandle

if TYPE_CHECKING:
    from stasis_app.telephony.call import DigitTimeouts

T = TypeVar("T")


class CallGateway(Protocol):
    """The requests a call makes about its own channel."""

    async def answer(self, channel_id: str) -> None:
        """Answer the channel."""

    async def play(self, channel_id: str, media: Sequence[str], playback_id: str) -> None:
        """Start playing ``media`` one after another; the end comes as a
        ``PlaybackFinished`` event in the channel's inbox."""

    async def stop_playback(self, playback_id: str) -> None:
        """Stop a playback; one that already finished is fine."""

    async def playback_exists(self, playback_id: str) -> bool:
        """Whether a playback is still going (its end may have been missed)."""

    async def endpoint_online(self, endpoint: str) -> bool:
        """Whether a phone like ``PJSIP/softphone`` is registered."""

    async def continue_in_dialplan(self, channel_id: str, context: str, extension: str) -> None:
        """Hand the channel back to the dialplan (it leaves the app)."""

    async def sip_header(self, channel_id: str, name: str) -> str:
        """A header of the channel's SIP INVITE ("" when it has none)."""

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        """Hang up a channel; one that is already gone is fine."""


class QueueGateway(CallGateway, Protocol):
    """A call's requests, and what the consultant queue adds: the legs it
    rings (agents, supervisors, snoops), bridges, and phones' presence."""

    @property
    def closing(self) -> bool:
        """The app is stopping: calls in progress are being ended."""

    def expect(self, channel_id: str, label: str = "") -> ChannelHandle:
        """Register a channel the app is about to create; its events reach
        the returned handle's inbox."""

    def release(self, channel_id: str) -> None:
        """Forget a channel registered with :meth:`expect`."""

    async def originate(
        self, endpoint: str, channel_id: str, *, timeout: float, caller_id: str, args: str
    ) -> None:
        """Ring ``endpoint``; on answer the channel enters the app."""

    async def snoop(self, channel_id: str, snoop_id: str, *, spy: str, whisper: str) -> None:
        """A snoop channel on ``channel_id`` (a supervisor listens or whispers)."""

    async def channel_exists(self, channel_id: str) -> bool:
        """Whether a channel still exists."""

    async def endpoint_state(self, endpoint: str) -> str | None:
        """A phone's state (online, offline, unknown); None: no such phone."""

    async def create_bridge(self, bridge_id: str, kind: str, name: str) -> None:
        """A ``holding`` or ``mixing`` bridge."""

    async def destroy_bridge(self, bridge_id: str) -> None:
        """Destroy a bridge; one already gone is fine."""

    async def add_to_bridge(self, bridge_id: str, channel_id: str) -> None:
        """Put a channel in a bridge."""

    async def remove_from_bridge(self, bridge_id: str, channel_id: str) -> None:
        """Take a channel out of a bridge."""

    async def start_bridge_moh(self, bridge_id: str, moh_class: str) -> None:
        """Music on hold in a holding bridge."""

    async def record_bridge(self, bridge_id: str, name: str) -> None:
        """Record a bridge's mix (a consultant call) as the stored recording ``name``."""

    async def stop_recording(self, name: str) -> None:
        """Stop a live recording; its file is complete."""

    async def stored_recording(self, name: str) -> bytes:
        """A stored recording's file."""

    async def delete_stored_recording(self, name: str) -> None:
        """Delete a stored recording from Asterisk's spool."""


class CallPort(Protocol):
    """A caller's call, as a flow, a verb or the consultant queue drives it
    (implemented by :class:`~stasis_app.telephony.call.Call`). A hangup at
    any wait raises :class:`~stasis_app.errors.CallHungUp`."""

    @property
    def channel_id(self) -> str:
        """The caller's channel: the call's id in logs, audit and the journal."""

    @property
    def line(self) -> str:
        """The dialled number (it picked the bank)."""

    @property
    def caller(self) -> str:
        """The caller's number as the network gave it ("" when withheld)."""

    @property
    def hung_up(self) -> bool:
        """The caller has hung up (a wait raised CallHungUp)."""

    @property
    def interrupts(self) -> list[str]:
        """Reasons given to :meth:`notify` that the call has not acted on yet."""

    @property
    def language(self) -> str:
        """The language the caller is spoken to in (pl until they pick another)."""

    def use_language(self, language: str) -> None:
        """Speak every later prompt in ``language`` (one the bank offers)."""

    @property
    def whole_phrase(self) -> frozenset[str]:
        """The kinds of number (digits, amount, date) spoken whole, live, in
        the call's language rather than word by word (``voice.whole_phrase``)."""

    async def say(
        self, keys: Sequence[str], *, barge_in: bool = False, language: str | None = None
    ) -> bool:
        """Play the prompts ``keys`` (in ``language``'s words when given, else
        the call's); with ``barge_in`` a key stops them (True)."""

    def prepare(self, keys: Iterable[str], *, language: str | None = None) -> None:
        """Start rendering the customer text among ``keys`` (numbers spoken
        whole) now, for a prompt said later, so that prompt does not wait."""

    async def read_digits(
        self, max_digits: int, *, terminator: str | None = "#", timeouts: "DigitTimeouts" = ...
    ) -> str:
        """Keys until ``max_digits``, the terminator or a timeout ("" none)."""

    def has_keys(self) -> bool:
        """Keys were pressed that no read has taken yet."""

    def drop_key(self, key: str) -> bool:
        """Drop the next pressed key if it is ``key``; True when it was."""

    def take_key(self) -> str | None:
        """The next pressed key no read has taken (None: none), taken."""

    def clear_keys(self) -> None:
        """Forget the keys pressed that no read has taken."""

    def unknown_prompts(self, keys: Iterable[str]) -> set[str]:
        """Those of the prompt ``keys`` this call's prompt book does not have."""

    async def public_text(self, text: str) -> str:
        """Render a public text (never customer data) into the shared prompt
        cache with the bank's engines; returns the key that plays it."""

    async def next_event(self, timeout: float) -> AriEvent | None:
        """The next event within ``timeout`` seconds (None: none came)."""

    def notify(self, reason: str) -> None:
        """From another task: wake the call; ``reason`` lands in :attr:`interrupts`."""

    async def while_waiting(self, work: Awaitable[T], prompt: str, after: float) -> T:
        """Await ``work``, playing ``prompt`` while it takes longer than ``after`` s."""

    async def endpoint_online(self, endpoint: str) -> bool:
        """Whether a phone like ``PJSIP/consultant`` is registered now."""

    async def after_prompt(self, work: Awaitable[None]) -> None:
        """Start ``work`` (an audit entry, a login settled) and finish it once
        the next prompt has started, not before: its failure fails the call there."""

    async def continue_in_dialplan(self, context: str, extension: str) -> None:
        """Hand the caller back to the dialplan (a transfer): the call leaves the app."""

    async def sip_header(self, name: str) -> str:
        """A header of the caller's SIP INVITE, e.g. an X- header an exchange
        that transferred the call set ("" when it has none)."""

    async def hangup(self) -> None:
        """Hang the caller up."""
