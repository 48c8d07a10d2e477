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
from voice.fragments import fragment_keys
from voice.languages import DEFAULT
from voice.live import LIVE_PREFIX, PHRASE_PREFIX, LiveSpeech, phrase_words, speaks_customer_data
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
        # Customer text rendered for this call, once: (language, key) -> its media.
        self._renders: dict[tuple[str, str], asyncio.Future[list[str]]] = {}
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

    @property
    def whole_phrase(self) -> frozenset[str]:
        """The kinds of number (digits, amount, date) spoken whole in the
        call's language (``voice.whole_phrase``), not word by word."""
        return self.live.whole(self.language) if self.live is not None else frozenset()

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

        Customer text rendered for the call (a number spoken whole, a name)
        is rendered while the prompts before it play, or earlier
        (:meth:`prepare`): when it is not ready yet, those prompts go as a
        playback of their own, so the caller does not wait for it after a key.
        """
        if barge_in and (self.keys or self.interrupts):
            return True  # the caller already answered; do not make them listen
        # Only the first key is logged: the rest may be fragments of customer data.
        first = keys[0] if keys else ""
        if speaks_customer_data(first):
            first = "value"  # the start of customer data: never logged
        if not keys:
            return False
        language = language or self.language
        if self.on_say is not None:
            self.on_say(keys, self.books[language])
        # Every prompt is looked up first: a missing one fails before anything
        # plays or renders (so no render outlives the call that asked for it).
        items = self._lookup(keys, language)
        # Customer text (a number spoken whole, a name) renders while what comes
        # before it plays: up to a play request's worth ahead, all at once.
        ahead = 0
        started: list[str] = []  # renders this prompt began (none prepared before)

        def render_ahead(upto: int) -> None:
            nonlocal ahead
            for item in items[ahead:upto]:
                if isinstance(item, str):
                    if (language, item) not in self._renders:
                        started.append(item)
                    self._render(item, language)
            ahead = max(ahead, upto)

        try:
            return await self._play_items(items, language, first, barge_in, render_ahead)
        finally:
            # What this prompt started rendering and the caller will not hear (a
            # key stopped it, a hangup): stopped. A prepared render stays.
            for key in started:
                rendering = self._renders[(language, key)]
                if not rendering.done():
                    rendering.cancel()
                    del self._renders[(language, key)]

    async def _play_items(
        self,
        items: list[list[str] | str],
        language: str,
        first: str,
        barge_in: bool,
        render_ahead: Callable[[int], None],
    ) -> bool:
        """Play ``items`` (media, or customer text to render) in as few
        playbacks as the renders and ARI's limit allow; True: interrupted."""
        count = len(items)
        render_ahead(MAX_MEDIA_PER_PLAYBACK)
        batch: list[str] = []
        for index, item in enumerate(items):
            if isinstance(item, str):
                rendering = self._render(item, language)
                if batch and not rendering.done():
                    # The prompt before the number plays while the number renders
                    # (the caller does not wait for it after their key).
                    render_ahead(index + 1 + MAX_MEDIA_PER_PLAYBACK)
                    if await self._play(batch, first, count, barge_in):
                        return True
                    batch = []
                # Shielded: a prepared render stays for a later prompt of the call.
                batch += await asyncio.shield(rendering)
            else:
                batch += item
            while len(batch) >= MAX_MEDIA_PER_PLAYBACK and index + 1 < len(items):
                render_ahead(index + 1 + MAX_MEDIA_PER_PLAYBACK)
                chunk, batch = batch[:MAX_MEDIA_PER_PLAYBACK], batch[MAX_MEDIA_PER_PLAYBACK:]
                if await self._play(chunk, first, count, barge_in):
                    return True
        # A number whose fragments stand in for its phrase may make the rest
        # longer than one play request takes.
        for start in range(0, len(batch), MAX_MEDIA_PER_PLAYBACK):
            chunk = batch[start : start + MAX_MEDIA_PER_PLAYBACK]
            if await self._play(chunk, first, count, barge_in):
                return True
        return False

    def prepare(self, keys: Iterable[str], *, language: str | None = None) -> None:
        """Start rendering the customer text among ``keys`` (numbers spoken
        whole, names) now, in the background, for a prompt said later in the
        call: a verb that knows what it will say before the caller's key (the
        endings of the cards it offers) calls this, so that prompt does not
        wait. Each text is rendered once per call; prompts are left alone."""
        language = language or self.language
        for key in keys:
            if key.startswith((LIVE_PREFIX, PHRASE_PREFIX)):
                self._render(key, language)

    def stop_rendering(self) -> None:
        """The call is over: stop what is still rendering for it (before its
        folder is deleted, :meth:`voice.live.LiveSpeech.forget`)."""
        for rendering in self._renders.values():
            rendering.cancel()

    def _lookup(self, keys: Sequence[str], language: str) -> list[list[str] | str]:
        """Each key's media URIs, or the key itself for customer text that is
        rendered for the call (its fragments looked up too, in case its
        phrase cannot be spoken). Raises KeyError for a missing prompt."""
        book = self.books[language]
        items: list[list[str] | str] = []
        for key in keys:
            if key.startswith(PHRASE_PREFIX):
                self._fragments_of(key, book)
                items.append(key)
            elif key.startswith(LIVE_PREFIX):
                items.append(key)
            else:
                items.append([self._public.get(key) or book.media(key)])
        return items

    def _render(self, key: str, language: str) -> "asyncio.Future[list[str]]":
        """The call's one render of ``key`` in ``language`` (started now, or earlier)."""
        rendering = self._renders.get((language, key))
        if rendering is None:
            rendering = asyncio.ensure_future(self._spoken(key, self.books[language]))
            rendering.add_done_callback(_outcome_taken)
            self._renders[(language, key)] = rendering
        return rendering

    @staticmethod
    def _fragments_of(key: str, book: PromptBook) -> list[str]:
        return [book.media(k) for k in fragment_keys(phrase_words(key)[1])]

    async def _spoken(self, key: str, book: PromptBook) -> list[str]:
        """The media URIs of customer text rendered for the call: a name that
        cannot be spoken is left out (a full disk, say), the rest is heard;
        a number that cannot be spoken whole is played from its fragments."""
        try:
            if key.startswith(PHRASE_PREFIX):
                return [await self._whole(key, book)]
            return [await self._media(key)]
        except (OSError, SynthesisError) as exc:
            phrase = key.startswith(PHRASE_PREFIX)
            log.warning(
                "customer text could not be spoken; "
                + ("its fragments are played" if phrase else "left out"),
                extra={"error": type(exc).__name__},
            )
            return self._fragments_of(key, book) if phrase else []

    async def _whole(self, key: str, book: PromptBook) -> str:
        """A number spoken whole: its words as one sentence, by the offline
        engine of ``book``'s language, into the call's own folder (never the
        shared cache, never an online engine); its words kept beside it for
        a listener's transcript (:func:`voice.live.shown_words`)."""
        if self.live is None:
            raise SynthesisError("no live speech on this call")
        engine = None if book is self.books[DEFAULT] else book.cache.chain.first_offline()
        words = " ".join(phrase_words(key)[1])
        return await self.live.media(self.channel_id, words, engine, shown=True)

    async def _play(self, media: list[str], first: str, items: int, barge_in: bool) -> bool:
        playback_id = next(self._playback_ids)
        log.debug("prompt", extra={"prompt": first, "items": items, "playback": playback_id})
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
        log.debug("keys read", extra={"count": len(digits)})
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
