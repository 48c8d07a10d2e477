"""What the rest of the app may ask of the ARI gateway, as Protocols.

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
"""

from collections.abc import Sequence
from typing import Protocol

from stasis_app.telephony.gateway import ChannelHandle


class CallGateway(Protocol):
    """The requests a call makes about its own channel."""

    async def answer(self, channel_id: str) -> None:
        """Answer the channel."""

    async def play(self, channel_id: str, media: Sequence[str], playback_id: str) -> None:
        """Start playing ``media`` one after another; the end comes as a
        ``PlaybackFinished`` event on the channel's queue."""

    async def stop_playback(self, playback_id: str) -> None:
        """Stop a playback; one that already finished is fine."""

    async def playback_exists(self, playback_id: str) -> bool:
        """Whether a playback is still going (its end may have been missed)."""

    async def endpoint_online(self, endpoint: str) -> bool:
        """Whether a phone like ``PJSIP/softphone`` is registered."""

    async def continue_in_dialplan(self, channel_id: str, context: str, extension: str) -> None:
        """Hand the channel back to the dialplan (it leaves the app)."""

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        """Hang up a channel; one that is already gone is fine."""


class QueueGateway(CallGateway, Protocol):
    """A call's requests, and what the consultant queue adds: the legs it
    rings (agents, supervisors, snoops), bridges, and phones' presence."""

    @property
    def closing(self) -> bool:
        """The app is stopping: calls in progress are being ended."""

    def expect(self, channel_id: str, line: str = "") -> ChannelHandle:
        """Register a channel the app is about to create; its events reach
        the returned handle's queue."""

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
