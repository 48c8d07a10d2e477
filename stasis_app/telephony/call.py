"""One caller's call, as the call's own task sees it: answer, say prompts,
read keys, hang up.

Events arrive in the call's inbox (``handle.events``) from the gateway. A hangup at any moment
raises :class:`~stasis_app.errors.CallHungUp` out of whatever the call is
waiting for, which unwinds the task. Keys pressed at any time are kept in a
buffer, so keys pressed during a prompt or before a read starts are not lost.
"""

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from stasis_app.errors import AriError, CallHungUp, PlaybackFailed
from stasis_app.telephony.gateway import (
    CHANNEL_GONE,
    RECEIVED_AT,
    RESYNCED,
    AriEvent,
    ChannelHandle,
)
from stasis_app.telephony.key_waits import KeyWaits, hold
from stasis_app.telephony.ports import CallGateway
from voice.cache import normalize
from voice.engine import SynthesisError
from voice.languages import DEFAULT
from voice.live import LIVE_PREFIX, LiveSpeech, speaks_customer_data
from voice.prompts import PromptBook

log = logging.getLogger(__name__)

HANGUP_EVENTS = frozenset({"StasisEnd", "ChannelHangupRequest", "ChannelDestroyed", CHANNEL_GONE})
# A synthetic event another task puts in a call's inbox (:meth:`Call.notify`),
# e.g. the consultant queue saying an agent is ready for this caller.
INTERRUPT = "InfoliniaInterrupt"

# The key of a public text (a webservice's news, the same for every caller)
# rendered into the shared cache for one call (see :meth:`Call.public_text`).
PUBLIC_PREFIX = "text:"

# Media URIs per ARI play request; longer sequences go as several playbacks.
MAX_MEDIA_PER_PLAYBACK = 16
# Seconds of quiet between two "please wait" while the bank is slow.
FILLER_PAUSE = 2.0
T = TypeVar("T")

# A playback whose end we never hear about (lost event) is re-checked this often.
PLAYBACK_RECHECK_SECONDS = 30.0


def _outcome_unheard(work: "asyncio.Future[Any]") -> None:
    """Take the outcome of work the caller is no longer there to hear (see
    :meth:`Call.while_waiting`), so that its failure (a bank that timed out)
    is not reported as a task exception never retrieved."""
    if not work.cancelled():
        work.exception()


@dataclass(frozen=True)
class DigitTimeouts:
    """How long to wait for the first key, and between keys, in seconds."""

    first: float = 6.0
    between: float = 4.0


DEFAULT_TIMEOUTS = DigitTimeouts()


class Call:
    """The caller's side of the conversation, driven by one task."""

    def __init__(
        self,
        handle: ChannelHandle,
        gateway: CallGateway,
        prompts: PromptBook,
        live: LiveSpeech | None = None,
        key_to_prompt: Callable[[float, KeyWaits], None] | None = None,
        books: Mapping[str, PromptBook] | None = None,
    ) -> None:
        self.handle = handle
        self.gateway = gateway
        self.prompts = prompts
        # The bank's other languages (code -> its prompt book), and the one
        # the caller is spoken to in: Polish until they pick another.
        self.books: dict[str, PromptBook] = {DEFAULT: prompts, **(books or {})}
        self.language = DEFAULT
        self.live = live
        self.started = time.monotonic()
        self.keys: list[str] = []  # pressed but not yet consumed
        self.prompts_played = 0
        # Unique across app restarts: a resumed call may still have our old playbacks.
        prefix = f"{handle.channel_id}-{uuid.uuid4().hex[:6]}"
        self._playback_ids = (f"{prefix}-p{n}" for n in itertools.count(1))
        self.hung_up = False
        self.left_app = False  # handed back to the dialplan (a transfer)
        # When the last key the app can act on arrived, until the next prompt
        # starts; ``key_to_prompt`` is given the seconds in between, and what
        # the call waited on meanwhile (stasis_app/telephony/key_waits.py).
        self._key_to_prompt = key_to_prompt
        self._key_at: float | None = None
        self._waits = KeyWaits()
        hold(self._waits)  # this task's (the call's) waits count here
        self.interrupts: list[str] = []  # notified, not yet acted on (see notify)
        self._after_prompt: list[asyncio.Future[None]] = []  # see after_prompt
        self._public: dict[str, str] = {}  # public_text's keys: their media URIs
        # Told of every prompt as it starts to play, with the book it comes
        # from (a test call's transcript on the admin page: flow/test_calls.py).
        self.on_say: Callable[[Sequence[str], PromptBook], None] | None = None

    @property
    def channel_id(self) -> str:
        return self.handle.channel_id

    @property
    def line(self) -> str:
        return self.handle.line

    @property
    def caller(self) -> str:
        """The caller's number as the network gave it ("" when withheld)."""
        return self.handle.caller

    async def answer(self) -> None:
        await self.gateway.answer(self.channel_id)

    def has_keys(self) -> bool:
        """Keys were pressed that no read has taken yet."""
        return bool(self.keys)

    def drop_key(self, key: str) -> bool:
        """Drop the next pressed key if it is ``key`` (a "#" typed after a
        number that ended by itself); True when it was dropped."""
        if self.keys[:1] == [key]:
            self.keys.pop(0)
            return True
        return False

    def take_key(self) -> str | None:
        """The next pressed key no read has taken (None: none), taken: for a
        wait that acts on a key without reading (the queue's "1 for a callback")."""
        return self.keys.pop(0) if self.keys else None

    def clear_keys(self) -> None:
        """Forget the keys pressed that no read has taken (typed before a new
        part of the call, which should not act on them)."""
        self.keys.clear()

    def use_language(self, language: str) -> None:
        """From now on every prompt is ``language``'s (one of the bank's)."""
        self.prompts = self.books[language]
        self.language = language

    def unknown_prompts(self, keys: Iterable[str]) -> set[str]:
        """Those of the prompt ``keys`` this call's prompt book does not have
        (a webservice's reply asking for a prompt the bank never wrote)."""
        return set(keys) - self.prompts.texts.keys() - self._public.keys()

    async def public_text(self, text: str) -> str:
        """Render ``text``, a public text (the same for every caller: news,
        terms; never customer data), with the bank's engine chain into the
        shared prompt cache, as a prompt is (a text rendered before is
        served from the cache); returns the key that plays it on this call.
        :class:`~voice.engine.SynthesisError` when no engine could."""
        cached = self.prompts.cache.cached(normalize(text)) is not None
        base = await self.prompts.cache.render(text)
        key = PUBLIC_PREFIX + base.name[:16]
        log.info("public text", extra={"key": key, "from_cache": cached, "chars": len(text)})
        self._public[key] = f"sound:{base}"
        return key

    async def endpoint_online(self, endpoint: str) -> bool:
        """Whether ``endpoint`` (e.g. ``PJSIP/consultant``) is registered now."""
        return await self.gateway.endpoint_online(endpoint)

    async def sip_header(self, name: str) -> str:
        """A header of the caller's SIP INVITE ("" when it has none, or the
        channel is not SIP)."""
        return await self.gateway.sip_header(self.channel_id, name)

    async def continue_in_dialplan(self, context: str, extension: str) -> None:
        """Hand the caller back to the dialplan at ``context``/``extension``
        (a transfer): the call leaves this app, which no longer hangs it up.
        An :class:`~stasis_app.errors.AriError` leaves the call here."""
        await self.gateway.continue_in_dialplan(self.channel_id, context, extension)
        self.left_app = True

    def notify(self, reason: str) -> None:
        """From another task: wake this call. The reason lands in
        :attr:`interrupts`; a prompt playing with ``barge_in`` stops for it."""
        self.handle.events.put_nowait({"type": INTERRUPT, "reason": reason})

    async def next_event(self, timeout: float) -> AriEvent | None:
        """The call's next event within ``timeout`` seconds (None: none came);
        keys go to :attr:`keys`, interrupts to :attr:`interrupts`, a hangup raises."""
        return await self._next_event(timeout)

    async def say(
        self, keys: Sequence[str], *, barge_in: bool = False, language: str | None = None
    ) -> bool:
        """Play the prompts ``keys`` one after another (in ``language``'s
        prompt book when given, else the call's language).

        They go to Asterisk as one ARI playback, or as a few in a row when
        there are many (a long history): ARI refuses a play request with too
        many media URIs. With ``barge_in`` a key press stops the prompt (the
        key is kept for the next read). Returns True when it was interrupted.
        """
        if barge_in and (self.keys or self.interrupts):
            return True  # the caller already answered; do not make them listen
        # Only the first key is logged: the rest may be fragments of customer data.
        first = keys[0] if keys else ""
        if speaks_customer_data(first):
            first = "value"  # the start of customer data: never logged
        if not keys:
            return False
        parts = [
            keys[start : start + MAX_MEDIA_PER_PLAYBACK]
            for start in range(0, len(keys), MAX_MEDIA_PER_PLAYBACK)
        ]
        # Each part's customer text is rendered while the part before it plays,
        # its names at once: the caller hears no silence between the parts of a
        # long history (names rendered one after another, before each part,
        # were seconds of silence on a busy machine).
        book = self.prompts if language is None else self.books[language]
        if self.on_say is not None:
            self.on_say(keys, book)
        upcoming: asyncio.Future[list[str]] = asyncio.ensure_future(self._media_of(parts[0], book))
        try:
            for index in range(len(parts)):
                media = await upcoming
                if index + 1 < len(parts):
                    upcoming = asyncio.ensure_future(self._media_of(parts[index + 1], book))
                if media and await self._play(media, first, len(keys), barge_in):
                    return True
        finally:
            # A part the caller will not hear (a key stopped the prompt, a hangup):
            # stop rendering it, and take its outcome so none is left unread.
            upcoming.cancel()
            upcoming.add_done_callback(_outcome_taken)
        return False

    async def _media_of(self, part: Sequence[str], book: PromptBook) -> list[str]:
        """The media URIs of ``part``, its customer text rendered at once; a name
        that cannot be spoken is left out (a full disk, say), the rest is heard.
        The prompts are looked up first: a missing one fails before any name
        is rendered (so no render outlives the call that asked for it)."""
        names = [key for key in part if key.startswith(LIVE_PREFIX)]
        prompts = {
            key: self._public.get(key) or book.media(key)
            for key in part
            if not key.startswith(LIVE_PREFIX)
        }

        async def spoken(key: str) -> str | None:
            try:
                return await self._media(key)
            except (OSError, SynthesisError) as exc:
                log.warning(
                    "customer text could not be spoken; left out",
                    extra={"error": type(exc).__name__},
                )
                return None

        rendered = dict(zip(names, await asyncio.gather(*map(spoken, names)), strict=True))
        found = (prompts[key] if key in prompts else rendered[key] for key in part)
        return [uri for uri in found if uri is not None]

    async def _play(self, media: list[str], first: str, items: int, barge_in: bool) -> bool:
        playback_id = next(self._playback_ids)
        log.info("prompt", extra={"prompt": first, "items": items, "playback": playback_id})
        await self.gateway.play(self.channel_id, media, playback_id)
        self._prompt_started()
        self.prompts_played += 1
        await self.finish_after_prompt()
        while True:
            event = await self._next_event(PLAYBACK_RECHECK_SECONDS)
            kind = None if event is None else event.get("type")
            if kind == "PlaybackFinished" and event and event["playback"]["id"] == playback_id:
                if event["playback"].get("state") == "failed":
                    log.error("prompt failed to play", extra={"prompt": first})
                    raise PlaybackFailed(f"Asterisk could not play prompt {first!r}")
                # Keys typed over a whole prompt waited for it, not for us.
                self._key_at = self._waits.since = None
                return False
            if kind in ("ChannelDtmfReceived", INTERRUPT) and barge_in:
                await self.gateway.stop_playback(playback_id)
                return True
            if (kind is None or kind == RESYNCED) and not await self.gateway.playback_exists(
                playback_id
            ):
                return False

    async def read_digits(
        self,
        max_digits: int,
        *,
        terminator: str | None = "#",
        timeouts: DigitTimeouts = DEFAULT_TIMEOUTS,
    ) -> str:
        """Collect keys until ``max_digits``, the terminator, or a timeout.

        Keys already in the buffer count. The terminator is not returned.
        Returns what was collected (possibly ""). The digits are never logged.
        """
        digits = ""
        while len(digits) < max_digits:
            if not self.keys:
                timeout = timeouts.first if not digits else timeouts.between
                deadline = time.monotonic() + timeout
                while not self.keys:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        log.info("keys timed out", extra={"count": len(digits)})
                        return digits
                    event = await self._next_event(remaining)
                    if event is not None and event.get("type") == RESYNCED:
                        # Keys pressed while the app was reconnecting are lost:
                        # end the read so the flow asks again.
                        log.info("keys lost in a reconnect", extra={"count": len(digits)})
                        return ""
            key = self.keys.pop(0)
            if terminator is not None and key == terminator:
                break
            digits += key
        log.info("keys read", extra={"count": len(digits)})
        return digits

    async def while_waiting(self, work: Awaitable[T], prompt: str, after: float) -> T:
        """Await ``work``; if it takes longer than ``after`` seconds, play
        ``prompt`` (e.g. "please wait") until it is done, again every few
        seconds, so the caller never sits in silence (after a reconnect, a
        filler whose end was missed plays again). Keys pressed meanwhile
        are kept; a hangup raises CallHungUp (``work`` itself is not
        cancelled: shield it if it must finish)."""
        task = asyncio.ensure_future(work)
        # If the caller hangs up (or the app stops) first, the work goes on
        # unheard; its outcome is taken all the same, even a failure.
        task.add_done_callback(_outcome_unheard)
        done, _ = await asyncio.wait({task}, timeout=after)
        if done:
            return task.result()
        log.info("caller waits", extra={"prompt": prompt, "after": after})
        playing: str | None = None
        next_start = time.monotonic()
        try:
            while not task.done():
                if playing is None and time.monotonic() >= next_start:
                    playing = next(self._playback_ids)
                    await self.gateway.play(self.channel_id, [await self._media(prompt)], playing)
                    self._prompt_started()
                    self.prompts_played += 1
                # The same dispatch as every other wait (keys kept, a hangup
                # raises), raced against the work.
                waiter = asyncio.ensure_future(self._next_event(FILLER_PAUSE))
                await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
                if not waiter.done():
                    waiter.cancel()  # the work is done; nothing taken from the inbox
                    continue
                event = waiter.result()
                kind = event.get("type") if event else None
                if kind == "PlaybackFinished" and event and event["playback"]["id"] == playing:
                    playing, next_start = None, time.monotonic() + FILLER_PAUSE
                elif (
                    kind == RESYNCED
                    and playing is not None
                    and not await self.gateway.playback_exists(playing)
                ):
                    # Its PlaybackFinished was lost in the reconnect: the caller
                    # is in silence; play it again now.
                    playing, next_start = None, time.monotonic()
        finally:
            if playing is not None and not self.hung_up:
                with contextlib.suppress(AriError):
                    await self.gateway.stop_playback(playing)
        return task.result()

    async def hangup(self) -> None:
        await self.gateway.hangup(self.channel_id)

    async def after_prompt(self, work: Awaitable[None]) -> None:
        """Start ``work`` now and finish it once the next prompt has started
        (its play request answered), not before: what the caller waits for
        between a key and the prompt loses the store's commit (an audit
        entry, a login settled). Its failure raises there, as it would have
        here; the call's end (:meth:`finish_after_prompt`) waits for work no
        prompt came after."""
        self._after_prompt.append(asyncio.ensure_future(work))

    async def finish_after_prompt(self) -> None:
        """Wait for the work :meth:`after_prompt` started (a cancelled call's
        too: it goes on, shielded); the first failure raises."""
        while self._after_prompt:
            work = self._after_prompt[0]
            try:
                await asyncio.shield(work)
            finally:
                if work.done():  # else this task was cancelled: the call's end waits for it
                    self._after_prompt.remove(work)

    async def _media(self, key: str) -> str:
        if key.startswith(LIVE_PREFIX):
            if self.live is None:
                raise KeyError("no live speech for customer text on this call")
            return await self.live.media(self.channel_id, key.removeprefix(LIVE_PREFIX))
        return self._prompt(key)

    def _prompt(self, key: str) -> str:
        return self._public.get(key) or self.prompts.media(key)

    async def _next_event(self, timeout: float) -> AriEvent | None:
        """Wait for the call's next event; keys go to the buffer, interrupts to
        :attr:`interrupts`, a hangup raises. Every wait of a call goes through
        here (prompts, reads, the filler of :meth:`while_waiting`)."""
        try:
            async with asyncio.timeout(timeout):  # no task per wait, unlike wait_for
                event = await self.handle.events.get()
        except TimeoutError:
            return None
        kind = event.get("type")
        if kind in HANGUP_EVENTS:
            self.hung_up = True
            raise CallHungUp(kind)
        if kind == "ChannelDtmfReceived":
            self._keep_key(event)
        elif kind == INTERRUPT:
            self.interrupts.append(str(event.get("reason", "")))
        return event

    def _keep_key(self, event: AriEvent) -> None:
        self.keys.append(str(event.get("digit", "")))
        self._key_at = event.get(RECEIVED_AT) or time.monotonic()
        self._waits.key(self._key_at)

    def _prompt_started(self) -> None:
        """Asterisk started a prompt: the wait since the last key is over."""
        if self._key_at is not None and self._key_to_prompt is not None:
            self._key_to_prompt(time.monotonic() - self._key_at, self._waits)
        self._key_at = self._waits.since = None


def _outcome_taken(future: "asyncio.Future[Any]") -> None:
    if not future.cancelled():
        future.exception()
