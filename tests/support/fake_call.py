"""A caller on a fake ARI gateway, for unit tests that drive calls without Asterisk.

:class:`FakeGateway` stands where :class:`stasis_app.telephony.gateway.AriGateway` stands
for a call: it records every request, and (when told how long speech takes)
finishes playbacks by itself, stops them when asked, and behaves like the
real gateway once a channel has left the app: ``answer``, ``play`` and
``continue_in_dialplan`` raise :class:`~stasis_app.errors.CallHungUp`,
``hangup`` and ``stop_playback`` do nothing, a playback no longer exists.
Without ``speech_seconds`` it only records, and the test feeds the events
itself through the handle's inbox (``dtmf``, ``finished``).

:func:`dial` is a scripted caller: groups of keys after pauses, perhaps
waiting for the line to fall quiet first, perhaps hanging up.
:class:`KeyedPrompts` and :class:`FakeLiveSpeech` give media URIs that name
the prompt key or the live text, so a test reads what the caller heard.

:class:`FakeCall` is a whole call without a gateway (for unit tests of a
verb or a flow alone): it stands where :class:`~stasis_app.telephony.call.Call`
stands, as a :class:`~stasis_app.telephony.ports.CallPort`.
"""

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from stasis_app.errors import AriRequestFailed, CallHungUp
from stasis_app.telephony.call import DEFAULT_TIMEOUTS, DigitTimeouts
from stasis_app.telephony.gateway import AriEvent, ChannelHandle
from voice.engine import TtsEngine
from voice.live import LIVE_PREFIX, PHRASE_PREFIX
from voice.prompts import PromptBook

PROMPT_URI = "sound:prompt/"
LIVE_URI = "sound:live/"

# How a channel left the app.
BY_APP, BY_CALLER, TRANSFERRED = "hung up by the app", "hung up by the caller", "transferred"
T = TypeVar("T")


def dtmf(digit: str, channel_id: str = "c1") -> dict[str, Any]:
    return {"type": "ChannelDtmfReceived", "digit": digit, "channel": {"id": channel_id}}


def finished(playback_id: str, channel_id: str = "c1") -> dict[str, Any]:
    return {
        "type": "PlaybackFinished",
        "playback": {"id": playback_id, "state": "done", "target_uri": f"channel:{channel_id}"},
    }


def _channel_event(kind: str, channel_id: str) -> dict[str, Any]:
    return {"type": kind, "channel": {"id": channel_id}}


@dataclass(frozen=True)
class Request:
    """One request the app made, and whether its channel was still in the app."""

    operation: str
    channel: str
    args: dict[str, Any]
    live: bool


class FakeGateway:
    """The ARI gateway as a call sees it (a
    :class:`~stasis_app.telephony.ports.CallGateway`), scripted (see the
    module's docstring)."""

    def __init__(
        self,
        *,
        speech_seconds: float | None = None,
        consultant_online: bool = True,
        transfer_fails: bool = False,
    ) -> None:
        self.speech_seconds = speech_seconds
        self.consultant_online = consultant_online
        self.transfer_fails = transfer_fails
        self.headers: dict[str, str] = {}  # the caller's SIP headers (sip_header)
        self.requests: list[Request] = []
        self.played: list[tuple[list[str], str]] = []
        self.stopped: list[str] = []
        self.live_playbacks: set[str] = set()
        self.ended: dict[str, str] = {}  # channel -> BY_APP, BY_CALLER or TRANSFERRED
        self._handles: dict[str, ChannelHandle] = {}
        self._playing: dict[str, set[str]] = defaultdict(set)  # channel -> its playbacks
        self._channel_of: dict[str, str] = {}  # playback -> channel
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._quiet: dict[str, asyncio.Event] = {}
        self.on_request: Callable[[Request], None] | None = None  # sees each request as made

    # --- the app's side: CallGateway, what AriGateway offers a call -----------

    async def answer(self, channel_id: str) -> None:
        self._record("answer", channel_id)
        self._must_be_live(channel_id)

    async def play(self, channel_id: str, media: Sequence[str], playback_id: str) -> None:
        self._record("play", channel_id, media=list(media), playback=playback_id)
        self._must_be_live(channel_id)
        self.played.append((list(media), playback_id))
        self.live_playbacks.add(playback_id)
        self._channel_of[playback_id] = channel_id
        self._playing[channel_id].add(playback_id)
        self._quiet_event(channel_id).clear()
        if self.speech_seconds is not None:
            loop = asyncio.get_running_loop()
            self._timers[playback_id] = loop.call_later(
                self.speech_seconds * len(media), self._finish, playback_id
            )

    async def stop_playback(self, playback_id: str) -> None:
        self._record("stop_playback", self._channel_of.get(playback_id, ""), playback=playback_id)
        self.stopped.append(playback_id)
        if playback_id in self.live_playbacks and self.speech_seconds is not None:
            self._timers.pop(playback_id).cancel()
            asyncio.get_running_loop().call_soon(self._finish, playback_id)  # as Asterisk does

    async def playback_exists(self, playback_id: str) -> bool:
        self._record("playback_exists", self._channel_of.get(playback_id, ""), playback=playback_id)
        return playback_id in self.live_playbacks

    async def endpoint_online(self, endpoint: str) -> bool:
        self._record("endpoint_online", "", endpoint=endpoint)
        return self.consultant_online

    async def sip_header(self, channel_id: str, name: str) -> str:
        self._record("sip_header", channel_id, name=name)
        return self.headers.get(name, "")

    async def continue_in_dialplan(self, channel_id: str, context: str, extension: str) -> None:
        self._record("continue_in_dialplan", channel_id, context=context, extension=extension)
        self._must_be_live(channel_id)
        if self.transfer_fails:
            raise AriRequestFailed(500, "channels.continueInDialplan")
        self._leave(channel_id, TRANSFERRED, "StasisEnd")

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        self._record("hangup", channel_id, reason=reason)
        if channel_id not in self.ended:  # one already gone is fine, as in AriGateway
            self._leave(channel_id, BY_APP, "ChannelDestroyed", "StasisEnd")

    # --- the caller's side ----------------------------------------------------

    def connect(self, handle: ChannelHandle) -> None:
        """A new channel in the app (its StasisStart)."""
        self._handles[handle.channel_id] = handle

    def press(self, channel_id: str, key: str) -> None:
        if channel_id not in self.ended:
            self._handles[channel_id].events.put_nowait(dtmf(key, channel_id))

    def caller_hangs_up(self, channel_id: str) -> None:
        if channel_id not in self.ended:
            self._leave(
                channel_id, BY_CALLER, "ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"
            )

    async def quiet(self, channel_id: str) -> None:
        """Until no prompt plays on the channel (or it has left the app)."""
        await self._quiet_event(channel_id).wait()

    def heard(self, channel_id: str) -> list[str]:
        """Every prompt key (or ``live:`` text) played on a channel, in order."""
        keys = []
        for request in self.requests:
            if request.operation == "play" and request.channel == channel_id:
                keys += self.keys_of(request.args["media"])
        return keys

    @staticmethod
    def keys_of(media: list[str]) -> list[str]:
        """The prompt keys (or ``live:`` texts) of a play request's media URIs."""
        return [_key_of(uri) for uri in media]

    # --- inside -------------------------------------------------------------

    def _record(self, operation: str, channel_id: str, **args: Any) -> None:
        request = Request(operation, channel_id, args, channel_id not in self.ended)
        self.requests.append(request)
        if self.on_request is not None:
            self.on_request(request)

    def _must_be_live(self, channel_id: str) -> None:
        if channel_id in self.ended:  # the real gateway maps ARI's 404/409 to this
            raise CallHungUp(f"{channel_id} has left the application")

    def _quiet_event(self, channel_id: str) -> asyncio.Event:
        if channel_id not in self._quiet:
            self._quiet[channel_id] = asyncio.Event()
            self._quiet[channel_id].set()
        return self._quiet[channel_id]

    def _finish(self, playback_id: str) -> None:
        if playback_id not in self.live_playbacks:
            return
        channel_id = self._channel_of[playback_id]
        self._drop(playback_id)
        handle = self._handles.get(channel_id)
        if handle is not None and channel_id not in self.ended:
            handle.events.put_nowait(finished(playback_id, channel_id))

    def _drop(self, playback_id: str) -> None:
        self.live_playbacks.discard(playback_id)
        timer = self._timers.pop(playback_id, None)
        if timer is not None:
            timer.cancel()
        channel_id = self._channel_of[playback_id]
        self._playing[channel_id].discard(playback_id)
        if not self._playing[channel_id]:
            self._quiet_event(channel_id).set()

    def _leave(self, channel_id: str, how: str, *events: str) -> None:
        self.ended[channel_id] = how
        for playback_id in list(self._playing[channel_id]):
            self._drop(playback_id)
        self._quiet_event(channel_id).set()
        handle = self._handles.get(channel_id)
        if handle is not None:
            for kind in events:
                handle.events.put_nowait(_channel_event(kind, channel_id))


def _key_of(uri: str) -> str:
    if uri.startswith(PROMPT_URI):
        return uri.removeprefix(PROMPT_URI)
    if uri.startswith(LIVE_URI):
        return "live:" + uri.removeprefix(LIVE_URI).split("/", 1)[1]
    return uri


@dataclass(frozen=True)
class Press:
    """Keys the caller types: ``pause`` seconds of silence first (``""`` is
    silence only), ``gap`` between keys; with ``after_prompt`` the caller
    first waits for the line to fall quiet, as the call simulator does."""

    keys: str
    pause: float = 0.0
    gap: float = 0.2
    after_prompt: bool = False


@dataclass(frozen=True)
class HangUp:
    """The caller hangs up after ``pause`` seconds."""

    pause: float = 0.0


Step = Press | HangUp


async def dial(gateway: FakeGateway, channel_id: str, script: list[Step]) -> None:
    """Play the caller's part of a call; stops when the channel has left the app."""
    for step in script:
        if isinstance(step, Press) and step.after_prompt:
            await gateway.quiet(channel_id)
        await asyncio.sleep(step.pause)
        if channel_id in gateway.ended:
            return
        if isinstance(step, HangUp):
            gateway.caller_hangs_up(channel_id)
            return
        for n, key in enumerate(step.keys):
            if n:
                await asyncio.sleep(step.gap)
            gateway.press(channel_id, key)


class KeyedPrompts(PromptBook):
    """A tenant's prompt book whose media URIs name the prompt key (nothing is
    rendered); a key the book does not have fails as in the real one."""

    def media(self, key: str) -> str:
        if key not in self.texts:
            raise KeyError(f"prompt {key!r} is not rendered (is it in the prompt file?)")
        return PROMPT_URI + key


@dataclass
class FakeLiveSpeech:
    """Counterparties "spoken live": a URI naming the call and the text, and
    the calls whose live audio was deleted."""

    spoken: list[tuple[str, str]] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    # voice.whole_phrase: per language, the kinds of number spoken whole (none).
    whole_phrase: dict[str, frozenset[str]] = field(default_factory=dict)
    engines: list[TtsEngine | None] = field(default_factory=list)  # each media's engine

    def whole(self, language: str) -> frozenset[str]:
        return self.whole_phrase.get(language, frozenset())

    async def media(
        self, call_id: str, text: str, engine: TtsEngine | None = None, *, shown: bool = False
    ) -> str:
        self.spoken.append((call_id, text))
        self.engines.append(engine)
        return f"{LIVE_URI}{call_id}/{text}"

    def forget(self, call_id: str) -> None:
        self.forgotten.append(call_id)

    def forget_all(self) -> None:
        self.forgotten.append("*")


class FakeCall:
    """A caller's call without Asterisk or a gateway, for unit tests of a verb
    or a flow: a :class:`~stasis_app.telephony.ports.CallPort`, as the real
    :class:`~stasis_app.telephony.call.Call` is.

    It keeps what the caller heard (:attr:`heard`: each prompt played, as the
    keys of one ``say``; a ``while_waiting`` filler once) and how the call
    left the app (:attr:`ended`: ``BY_APP`` or ``TRANSFERRED``, and where
    to, :attr:`transferred_to`). Keys the test typed ahead (``keys=`` or
    :meth:`press`) are read as the real call reads its buffer; nothing else
    ever happens on a fake call, so a wait with no key left ends at once as
    a timeout would (a read returns what it has, ``next_event`` None). After
    the call left the app, the next wait raises
    :class:`~stasis_app.errors.CallHungUp`, as it does on a real call. A
    prompt missing from ``prompts`` (default: none is missing) fails as a
    missing prompt does in the real prompt book.
    """

    # The kinds of number spoken whole in the call's language (none; a test sets some).
    whole_phrase: frozenset[str] = frozenset()

    def __init__(
        self,
        *,
        channel_id: str = "1700000000.1",
        line: str = "100",
        caller: str = "600100200",
        keys: str = "",
        prompts: Iterable[str] | None = None,
        consultant_online: bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.channel_id = channel_id
        self.headers = dict(headers or {})  # the caller's SIP headers
        self.line = line
        self.caller = caller
        self.consultant_online = consultant_online
        self.hung_up = False
        self.interrupts: list[str] = []
        self.heard: list[list[str]] = []
        self.heard_in: list[str] = []  # the language of each of heard's prompts
        self.language = "pl"
        self.ended: str | None = None
        self.transferred_to: tuple[str, str] | None = None
        self._keys = list(keys)
        self._prompts = None if prompts is None else set(prompts)
        self.public_texts: dict[str, str] = {}
        self.prepared: list[str] = []  # customer text a verb had rendered ahead

    def press(self, keys: str) -> None:
        """The caller types ``keys`` (they wait in the buffer for a read)."""
        self._keys += list(keys)

    def use_language(self, language: str) -> None:
        self.language = language

    def prepare(self, keys: Iterable[str], *, language: str | None = None) -> None:
        self.prepared += [key for key in keys if key.startswith((LIVE_PREFIX, PHRASE_PREFIX))]

    async def say(
        self, keys: Sequence[str], *, barge_in: bool = False, language: str | None = None
    ) -> bool:
        self._must_be_in_the_app()
        if barge_in and (self._keys or self.interrupts):
            return True  # the caller already answered, as on the real call
        spoken_live = (LIVE_PREFIX, PHRASE_PREFIX)  # rendered for the call, not prompts
        missing = self.unknown_prompts(key for key in keys if not key.startswith(spoken_live))
        if missing:
            raise KeyError(f"prompt {sorted(missing)[0]!r} is not rendered")
        self.heard.append(list(keys))
        self.heard_in.append(language or self.language)
        return False

    async def read_digits(
        self,
        max_digits: int,
        *,
        terminator: str | None = "#",
        timeouts: DigitTimeouts = DEFAULT_TIMEOUTS,
    ) -> str:
        digits = ""
        while len(digits) < max_digits:
            key = self.take_key()
            if key is None:
                await self.next_event(timeouts.first if not digits else timeouts.between)
                return digits  # timed out
            if terminator is not None and key == terminator:
                break
            digits += key
        return digits

    def has_keys(self) -> bool:
        return bool(self._keys)

    def drop_key(self, key: str) -> bool:
        if self._keys[:1] == [key]:
            self._keys.pop(0)
            return True
        return False

    def take_key(self) -> str | None:
        return self._keys.pop(0) if self._keys else None

    def clear_keys(self) -> None:
        self._keys.clear()

    def unknown_prompts(self, keys: Iterable[str]) -> set[str]:
        known = self._prompts
        return set() if known is None else set(keys) - known - set(self.public_texts)

    async def public_text(self, text: str) -> str:
        """The key ``text:<text>`` (a test reads what was said), kept in
        :attr:`public_texts`, as the real call renders it into the cache."""
        key = "text:" + text
        self.public_texts[key] = text
        return key

    async def next_event(self, timeout: float) -> AriEvent | None:
        await asyncio.sleep(0)  # nothing comes: the wait times out at once
        self._must_be_in_the_app()
        return None

    def notify(self, reason: str) -> None:
        self.interrupts.append(reason)

    async def while_waiting(self, work: Awaitable[T], prompt: str, after: float) -> T:
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=after)
        if not done:
            self.heard.append([prompt])
            self.heard_in.append(self.language)
        return await task

    async def endpoint_online(self, endpoint: str) -> bool:
        return self.consultant_online

    async def sip_header(self, name: str) -> str:
        return self.headers.get(name, "")

    async def after_prompt(self, work: Awaitable[None]) -> None:
        await work  # no prompt is played for real: done at once

    async def continue_in_dialplan(self, context: str, extension: str) -> None:
        self._must_be_in_the_app()
        self.ended, self.transferred_to = TRANSFERRED, (context, extension)

    async def hangup(self) -> None:
        if self.ended is None:  # one already gone is fine, as on the real call
            self.ended = BY_APP

    def _must_be_in_the_app(self) -> None:
        if self.ended is not None:
            self.hung_up = True
            raise CallHungUp("StasisEnd")
