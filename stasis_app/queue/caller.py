"""The caller's side of the queue, run by the ``transfer`` verb in the
caller's own task: wait (music, announcements), ask for a callback, talk.

Whatever happens the caller hears something: the queue is closed or has no
agent logged in -> they are told at once and offered a callback; the
maximum wait passes -> the callback offer, then a goodbye; an agent's leg
fails before the two are joined -> they wait on, in their place.
"""

import contextlib
import logging
import time

from stasis_app.errors import AriError, CallHungUp
from stasis_app.flow.context import CallContext
from stasis_app.flow.speech import number_keys
from stasis_app.queue.callbacks import CallbackBook
from stasis_app.queue.queue import AGENT_LEFT, AGENT_READY, ConsultantQueue, Conversation, Waiter
from stasis_app.queue.recordings import RecordingBook, finish_recording, start_recording
from stasis_app.queue.speech import announcement_keys
from stasis_app.queue.survey import ask_survey
from stasis_app.reports.trail import QueueVisit
from stasis_app.telephony.call import DigitTimeouts
from stasis_app.telephony.ports import CallPort
from voice.languages import numbers

log = logging.getLogger(__name__)

CALLBACK_KEY = "1"
OFFER_TIMEOUTS = DigitTimeouts(first=5.0, between=3.0)
CONFIRM_TIMEOUTS = DigitTimeouts(first=6.0, between=4.0)
NUMBER_TIMEOUTS = DigitTimeouts(first=8.0, between=5.0)
NUMBER_LENGTH = (6, 15)  # digits of a phone number a caller may type
AFTER_ANNOUNCEMENT = 1.0  # at least this long between two announcements
CALLBACK_TRIES = 3  # numbers read back before giving up


def _number_ok(number: str) -> bool:
    return number.isdigit() and NUMBER_LENGTH[0] <= len(number) <= NUMBER_LENGTH[1]


class QueueCaller:
    """One caller going through one queue."""

    def __init__(
        self,
        queue: ConsultantQueue,
        ctx: CallContext,
        callbacks: CallbackBook,
        recordings: RecordingBook | None = None,
    ) -> None:
        self.queue = queue
        self.ctx = ctx
        self.call: CallPort = ctx.call
        self.callbacks = callbacks
        self.recordings = recordings  # None: this call is never recorded

    async def run(self, connecting: list[str], closed: list[str]) -> str:
        """The verb's event: "done" (talked, callback left, or goodbye said:
        the flow ends) or "failed" (nobody to queue for, no callback: the
        flow goes on)."""
        queue = self.queue
        if not queue.is_open():
            log.info("queue closed", extra={"queue": queue.label})
            return await self._not_queued("closed", closed)
        if not await queue.available():
            log.info("no agent logged in", extra={"queue": queue.label})
            return await self._not_queued("no_agents", ["queue_no_agents"])
        if connecting:
            await self.call.say(connecting)
        customer = self.ctx.customer.number if self.ctx.customer is not None else ""
        waiter = queue.join(self.call, self.ctx.level, customer)
        entered = self.ctx.trail.seconds()
        try:
            return await self._wait(waiter)
        finally:
            if not waiter.gone:
                if self.call.hung_up:
                    reason = "abandoned"
                else:  # the app is stopping, or an ARI request failed (the caller hears an apology)
                    reason = "app_stopping" if queue.gateway.closing else "failed"
                queue.leave(waiter, reason)
            answered = waiter.leg.agent.endpoint if waiter.leg and waiter.leg.connected else ""
            visit = QueueVisit(
                queue.name, waiter.outcome, waiter.waited, answered, entered, waiter.announcements
            )
            self.ctx.trail.queued(visit)  # for the call record
            if waiter.leg is not None and not waiter.leg.ended.is_set():
                with contextlib.suppress(AriError):
                    await queue.gateway.hangup(waiter.leg.channel_id)
            await queue.unhold(waiter)

    async def _not_queued(self, reason: str, told: list[str]) -> str:
        """Nobody can answer now: the caller is told, then a callback, or back
        to the flow. A caller who hangs up meanwhile counts as abandoned."""
        entered = self.ctx.trail.seconds()
        try:
            await self.call.say(told)
            called_back = await self._offer_callback(None)
        except CallHungUp:
            self.queue.count("abandoned")
            self.ctx.trail.queued(QueueVisit(self.queue.name, "abandoned", None, entered=entered))
            raise
        outcome = "callback" if called_back else reason
        self.queue.count(outcome)
        self.ctx.trail.queued(QueueVisit(self.queue.name, outcome, None, entered=entered))
        return "done" if called_back else "failed"

    async def _wait(self, waiter: Waiter) -> str:
        queue, call = self.queue, self.call
        call.clear_keys()
        call.interrupts.clear()
        await queue.hold(waiter)
        every = queue.settings.announce_every
        # An agent already ringing for them: the first announcement can wait.
        scheduled = time.monotonic() + (every if waiter.offering else 0.0)
        periodic = False  # the first announcement is not "on schedule"
        deadline = waiter.joined + queue.settings.max_wait
        while True:
            if AGENT_READY in call.interrupts:
                call.interrupts.remove(AGENT_READY)
                if waiter.leg is not None and await self._talk(waiter):
                    # The consultant hung up first: the caller is still here.
                    await ask_survey(self.ctx)
                    return "done"
                continue
            while (key := call.take_key()) is not None:
                if key == CALLBACK_KEY and await self._callback_while_waiting(waiter):
                    return "done"
            now = time.monotonic()
            if now >= deadline:
                log.info("maximum wait reached", extra={"queue": queue.label})
                waiter.paused = True  # no agent is rung for them now
                await call.say(["queue_timed_out"])
                if not await self._offer_callback(waiter):
                    queue.leave(waiter, "timed_out")
                    await call.say(["goodbye"])
                return "done"
            if now >= scheduled:
                if periodic:
                    queue.metrics.announced(queue.tenant, now - scheduled)
                position = queue.position(waiter)
                keys = announcement_keys(position, queue.estimate(waiter), call.language)
                if not periodic:
                    keys = ["queue_all_busy", *keys]
                log.info("queue announcement", extra={"queue": queue.label, "position": position})
                await call.say(keys, barge_in=True)
                # Heard to its end (or cut short by a key): a caller who hangs
                # up during it raised CallHungUp above and did not hear it all.
                waiter.announcements += 1
                scheduled = max(scheduled + every, time.monotonic() + AFTER_ANNOUNCEMENT)
                periodic = True
                continue
            await call.next_event(min(scheduled, deadline) - now)

    async def _talk(self, waiter: Waiter) -> bool:
        """Join the caller and the agent who answered; False (the caller
        waits on, in their place) if the bridge could not be made."""
        queue, call, leg = self.queue, self.call, waiter.leg
        assert leg is not None
        bridge = f"infolinia-talk-{call.channel_id}"
        gateway = queue.gateway
        try:
            await queue.unhold(waiter)
            await gateway.create_bridge(bridge, "mixing", f"talk {queue.label}")
            await gateway.add_to_bridge(bridge, call.channel_id)
            await gateway.add_to_bridge(bridge, leg.channel_id)
        except AriError as exc:
            if call.hung_up:
                raise
            log.warning("caller and agent could not be joined", extra={"error": str(exc)})
            waiter.leg = None
            with contextlib.suppress(AriError):
                await gateway.hangup(leg.channel_id)
                await gateway.destroy_bridge(bridge)
            await queue.hold(waiter)
            return False
        leg.connected = True
        queue.leave(waiter, "answered")
        queue.talking[call.channel_id] = Conversation(
            queue.tenant, queue.name, call.channel_id, leg.agent.endpoint, leg.channel_id
        )
        log.info(
            "caller connected to agent",
            extra={"queue": queue.label, "agent": leg.agent.endpoint, "leg": leg.channel_id},
        )
        # Only now, on the conversation's own bridge: nothing of the
        # self-service part (keys, telekod, prompts) is ever in a recording.
        recording = None
        if self.recordings is not None:
            recording = await start_recording(
                gateway,
                self.ctx.tenant,
                bridge,
                call_id=call.channel_id,
                queue=queue.name,
                agent=leg.agent.endpoint,
            )
        try:
            while AGENT_LEFT not in call.interrupts and not leg.ended.is_set():
                await call.next_event(30)
            log.info("agent ended the call", extra={"queue": queue.label})
        finally:
            if recording is not None and self.recordings is not None:
                await finish_recording(gateway, self.recordings, recording)
            queue.talking.pop(call.channel_id, None)
            with contextlib.suppress(AriError):
                await gateway.destroy_bridge(bridge)
        return True

    async def _callback_while_waiting(self, waiter: Waiter) -> bool:
        """The caller pressed 1: no agent is rung for them while they answer;
        a request left ends their wait, otherwise they wait on."""
        waiter.paused = True
        try:
            return await self._callback(waiter)
        finally:
            waiter.paused = False
            self.queue.nudge()

    async def _offer_callback(self, waiter: Waiter | None) -> bool:
        """ "Press 1 for a callback": True when a request was left."""
        await self.call.say(["queue_callback_offer"], barge_in=True)
        key = await self.call.read_digits(1, terminator=None, timeouts=OFFER_TIMEOUTS)
        if key != CALLBACK_KEY:
            return False
        return await self._callback(waiter)

    async def _callback(self, waiter: Waiter | None) -> bool:
        """Confirm the number (or have one typed), store the request, thank the
        caller. False when nothing was confirmed or it could not be stored."""
        call, queue = self.call, self.queue
        number = "".join(c for c in call.caller if c.isdigit())
        # Every number (the caller's own, or one typed) is read back and
        # confirmed; three numbers at most, then the caller is told.
        for _ in range(CALLBACK_TRIES):
            if not _number_ok(number):
                await call.say(["callback_enter_number"], barge_in=True)
                number = await call.read_digits(NUMBER_LENGTH[1], timeouts=NUMBER_TIMEOUTS)
                if not _number_ok(number):
                    continue
            digits = numbers(call.language).digit_words(number)
            spoken = number_keys("digits", digits, call.whole_phrase)
            await call.say(["callback_number_is", *spoken, "callback_confirm"], barge_in=True)
            key = await call.read_digits(1, terminator=None, timeouts=CONFIRM_TIMEOUTS)
            if key == "1":
                break
            if key != "2":
                return False  # no answer: back to waiting (or to the flow)
            number = ""  # 2: another number
        else:
            await call.say(["callback_not_registered"])
            return False
        customer = self.ctx.customer.number if self.ctx.customer is not None else ""
        since = waiter.since if waiter is not None else None
        try:
            await self.callbacks.store.run(
                lambda: self.callbacks.add(
                    queue.tenant,
                    queue.name,
                    number,
                    customer=customer,
                    level=self.ctx.level or "",
                    waiting_since=since,
                )
            )
        except Exception as exc:  # a locked or full disk: the caller must know
            log.error("callback request not stored", extra={"error": type(exc).__name__})
            await call.say(["callback_not_registered"])
            return False
        log.info("callback requested", extra={"queue": queue.label})
        if waiter is not None:
            queue.leave(waiter, "callback")
        await call.say(["callback_registered"])
        return True
