"""A call's task against a fake gateway: prompts, barge-in, keys, hangups."""

import asyncio

import pytest

from stasis_app.errors import AriError, CallHungUp, PlaybackFailed
from stasis_app.telephony.call import Call, DigitTimeouts
from stasis_app.telephony.gateway import CHANNEL_GONE, RESYNCED, ChannelHandle
from tests.support.fake_call import FakeGateway, dtmf, finished

pytestmark = pytest.mark.unit

QUICK = DigitTimeouts(first=0.2, between=0.1)


class FakePrompts:
    def media(self, key: str) -> str:
        return f"sound:/prompts/{key}"


def make_call() -> tuple[Call, FakeGateway, ChannelHandle]:
    handle = ChannelHandle(channel_id="c1", line="100", caller="600")
    gateway = FakeGateway()
    call = Call(handle, gateway, FakePrompts())  # type: ignore[arg-type]
    return call, gateway, handle


async def test_say_plays_all_keys_as_one_playback_and_waits_for_its_end() -> None:
    call, gateway, handle = make_call()
    task = asyncio.create_task(call.say(["you_entered", "digit_4", "digit_2"]))
    await asyncio.sleep(0.01)
    media, playback_id = gateway.played[0]
    assert media == [
        "sound:/prompts/you_entered",
        "sound:/prompts/digit_4",
        "sound:/prompts/digit_2",
    ]
    assert not task.done()
    handle.events.put_nowait(finished(playback_id))
    assert await task is False


async def test_a_key_during_a_prompt_stops_it_and_is_kept() -> None:
    call, gateway, handle = make_call()
    task = asyncio.create_task(call.say(["greeting"], barge_in=True))
    await asyncio.sleep(0.01)
    handle.events.put_nowait(dtmf("7"))
    assert await task is True
    assert gateway.stopped == [gateway.played[0][1]]
    handle.events.put_nowait(dtmf("#"))
    assert await call.read_digits(4, timeouts=QUICK) == "7"


async def test_keys_pressed_before_a_read_starts_are_not_lost() -> None:
    call, gateway, handle = make_call()
    task = asyncio.create_task(call.say(["ask_digits"]))  # no barge-in
    await asyncio.sleep(0.01)
    for key in "12":
        handle.events.put_nowait(dtmf(key))
    handle.events.put_nowait(finished(gateway.played[0][1]))
    assert await task is False
    handle.events.put_nowait(dtmf("3"))
    assert await call.read_digits(3, timeouts=QUICK) == "123"


async def test_prompt_with_barge_in_is_skipped_when_keys_are_waiting() -> None:
    """A caller who already typed ahead does not have to hear the menu again."""
    call, gateway, _ = make_call()
    call.keys.append("6")
    assert await call.say(["menu"], barge_in=True) is True
    assert gateway.played == []
    assert await call.read_digits(1, timeouts=QUICK) == "6"


async def test_read_ends_at_max_digits_without_terminator() -> None:
    call, _, handle = make_call()
    for key in "123456789":
        handle.events.put_nowait(dtmf(key))
    assert await call.read_digits(8, timeouts=QUICK) == "12345678"
    assert call.keys == []
    await asyncio.sleep(0)
    assert await call.read_digits(1, timeouts=QUICK) == "9"


async def test_read_times_out_with_what_it_has() -> None:
    call, _, handle = make_call()
    assert await call.read_digits(4, timeouts=QUICK) == ""
    handle.events.put_nowait(dtmf("1"))
    assert await call.read_digits(4, timeouts=QUICK) == "1"


@pytest.mark.parametrize("kind", ["StasisEnd", "ChannelHangupRequest", CHANNEL_GONE])
async def test_hangup_at_any_moment_raises_call_hung_up(kind: str) -> None:
    call, _, handle = make_call()
    task = asyncio.create_task(call.read_digits(4, timeouts=DigitTimeouts(first=5, between=5)))
    await asyncio.sleep(0.01)
    handle.events.put_nowait({"type": kind, "channel": {"id": "c1"}})
    with pytest.raises(CallHungUp):
        await task
    assert call.hung_up


async def test_after_a_reconnect_a_finished_playback_is_noticed() -> None:
    """PlaybackFinished was lost while the app was disconnected: the Resynced
    event makes the call check, and it goes on instead of waiting forever."""
    call, gateway, handle = make_call()
    task = asyncio.create_task(call.say(["greeting"]))
    await asyncio.sleep(0.01)
    handle.events.put_nowait({"type": RESYNCED})
    await asyncio.sleep(0.01)
    assert not task.done()  # still playing: keep waiting
    gateway.live_playbacks.clear()
    handle.events.put_nowait({"type": RESYNCED})
    assert await asyncio.wait_for(task, 1) is False


async def test_a_prompt_asterisk_could_not_play_is_an_error_not_silence() -> None:
    """A missing or unreadable file ends as PlaybackFinished(state=failed): the
    call must not go on as if the caller had heard it."""
    call, gateway, handle = make_call()
    task = asyncio.create_task(call.say(["greeting"]))
    await asyncio.sleep(0.01)
    playback_id = gateway.played[0][1]
    handle.events.put_nowait(
        {"type": "PlaybackFinished", "playback": {"id": playback_id, "state": "failed"}}
    )
    with pytest.raises(PlaybackFailed):
        await task


async def test_a_reconnect_during_a_read_asks_again_rather_than_wait() -> None:
    """Keys pressed while the app was reconnecting never arrive: the read ends
    so the flow can ask again, instead of waiting out the timeout."""
    call, _, handle = make_call()
    task = asyncio.create_task(call.read_digits(4, timeouts=DigitTimeouts(first=30, between=30)))
    await asyncio.sleep(0.01)
    handle.events.put_nowait({"type": RESYNCED})
    assert await asyncio.wait_for(task, 1) == ""


async def test_a_long_sequence_plays_as_several_playbacks_in_order() -> None:
    call, gateway, handle = make_call()
    keys = [f"w_{n}" for n in range(40)]
    task = asyncio.create_task(call.say(keys))
    for expected in (16, 16, 8):
        await asyncio.sleep(0.01)
        media, playback_id = gateway.played[-1]
        assert len(media) == expected
        handle.events.put_nowait(finished(playback_id))
    assert await task is False
    assert [m for media, _ in gateway.played for m in media] == [
        f"sound:/prompts/{k}" for k in keys
    ]


async def test_the_start_of_customer_data_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)  # the prompt line is at debug
    call, gateway, handle = make_call()
    task = asyncio.create_task(call.say(["w_piec", "w_osiem"]))
    await asyncio.sleep(0.01)
    handle.events.put_nowait(finished(gateway.played[0][1]))
    await task
    logged = [r.__dict__.get("prompt") for r in caplog.records if r.getMessage() == "prompt"]
    assert logged == ["value"]


async def test_a_quick_answer_plays_no_filler() -> None:
    call, gateway, _ = make_call()
    assert await call.while_waiting(asyncio.sleep(0.01, result=42), "please_wait", 0.2) == 42
    assert gateway.played == []


async def test_a_slow_answer_plays_please_wait_and_stops_it_when_it_comes() -> None:
    call, gateway, handle = make_call()
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(call.while_waiting(answer, "please_wait", 0.05))
    await asyncio.sleep(0.1)
    [(media, playback_id)] = gateway.played
    assert media == ["sound:/prompts/please_wait"]
    handle.events.put_nowait(dtmf("5"))  # typed ahead while waiting: kept
    await asyncio.sleep(0.01)
    answer.set_result("balance")
    assert await task == "balance"
    assert gateway.stopped == [playback_id] and call.keys == ["5"]


async def test_a_hangup_while_waiting_leaves_the_work_running() -> None:
    call, _, handle = make_call()
    work = asyncio.ensure_future(asyncio.sleep(0.3, result="blocked"))
    waiting = asyncio.create_task(call.while_waiting(asyncio.shield(work), "please_wait", 0.05))
    await asyncio.sleep(0.1)
    handle.events.put_nowait({"type": "StasisEnd", "channel": {"id": "c1"}})
    with pytest.raises(CallHungUp):
        await waiting
    assert await work == "blocked"


async def test_a_reconnect_during_please_wait_does_not_leave_the_caller_in_silence() -> None:
    """The filler's PlaybackFinished was lost while the app reconnected: the
    Resynced event makes the wait check, and "please wait" plays again rather
    than silence until the bank answers."""
    call, gateway, handle = make_call()
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(call.while_waiting(answer, "please_wait", 0.05))
    await asyncio.sleep(0.1)
    [(_, first)] = gateway.played
    handle.events.put_nowait({"type": RESYNCED})
    await asyncio.sleep(0.05)
    assert len(gateway.played) == 1  # still playing: not played over itself
    gateway.live_playbacks.discard(first)  # it ended; the event never came
    handle.events.put_nowait({"type": RESYNCED})
    await asyncio.sleep(0.05)
    assert [media for media, _ in gateway.played] == [["sound:/prompts/please_wait"]] * 2
    answer.set_result("balance")
    assert await asyncio.wait_for(task, 1) == "balance"
    assert gateway.stopped == [gateway.played[1][1]]


async def test_while_waiting_takes_events_as_they_come_like_every_other_wait() -> None:
    """Keys, interrupts and a hangup during "please wait" are handled at once,
    as during a prompt or a read (one dispatch for every wait), not one event
    per filler pause."""
    call, _, handle = make_call()
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(call.while_waiting(answer, "please_wait", 0.01))
    await asyncio.sleep(0.05)
    handle.events.put_nowait(dtmf("4"))
    call.notify("agent ready")
    handle.events.put_nowait({"type": CHANNEL_GONE, "channel": {"id": "c1"}})
    with pytest.raises(CallHungUp):
        await asyncio.wait_for(task, 1)
    assert call.keys == ["4"] and call.interrupts == ["agent ready"] and call.hung_up


async def test_keys_waiting_are_seen_and_a_trailing_terminator_dropped() -> None:
    """What the verbs ask of the key buffer: whether a key waits, and dropping
    the "#" typed after a number that ended by itself (but no other key)."""
    call, _, handle = make_call()
    assert not call.has_keys()
    for key in "#5":
        handle.events.put_nowait(dtmf(key))
    await call.next_event(0.01)
    await call.next_event(0.01)
    assert call.has_keys()
    assert call.drop_key("#") is True
    assert call.drop_key("#") is False  # the next key is a 5: kept
    assert await call.read_digits(1, terminator=None, timeouts=QUICK) == "5"
    assert not call.has_keys()


async def test_a_transfer_hands_the_call_to_the_dialplan_and_it_leaves_the_app() -> None:
    call, gateway, _ = make_call()
    assert await call.endpoint_online("PJSIP/consultant") is True
    await call.continue_in_dialplan("consultants", "s")
    assert call.left_app
    assert [(r.operation, r.args) for r in gateway.requests] == [
        ("endpoint_online", {"endpoint": "PJSIP/consultant"}),
        ("continue_in_dialplan", {"context": "consultants", "extension": "s"}),
    ]


async def test_a_transfer_asterisk_refused_leaves_the_call_in_the_app() -> None:
    handle = ChannelHandle(channel_id="c1", line="100", caller="600")
    gateway = FakeGateway(consultant_online=False, transfer_fails=True)
    call = Call(handle, gateway, FakePrompts())  # type: ignore[arg-type]
    assert await call.endpoint_online("PJSIP/consultant") is False
    with pytest.raises(AriError):
        await call.continue_in_dialplan("consultants", "s")
    assert not call.left_app


class SlowLiveSpeech:
    """Customer text that takes a while to render, noting when each started
    and finished (in the order of events, not seconds)."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def media(self, call_id: str, text: str) -> str:
        self.log.append(f"render {text}")
        await asyncio.sleep(0.05)
        self.log.append(f"rendered {text}")
        return f"sound:/live/{text}"


async def test_a_long_historys_names_render_together_and_ahead_of_their_part() -> None:
    """A history too long for one playback: the names render all at once,
    those of the next part too, while the intro plays; the caller hears no
    silence between parts. (Before, each part's names were rendered one after
    another, and only once the part before had ended: on a busy machine,
    seconds of silence in the middle of a history.)"""
    handle = ChannelHandle(channel_id="c1", line="100", caller="600")
    gateway, log = FakeGateway(), list[str]()
    call = Call(handle, gateway, FakePrompts(), SlowLiveSpeech(log))  # type: ignore[arg-type]
    names = [f"live:Name{n}" for n in range(15)]
    task = asyncio.create_task(call.say(["history_intro", *names, "live:Later1", "live:Later2"]))
    while not gateway.played:
        await asyncio.sleep(0.01)
    # The intro plays while every name renders: none had finished when it started.
    assert gateway.played[0][0] == ["sound:/prompts/history_intro"]
    assert len([entry for entry in log if entry.startswith("render ")]) == 17
    assert not any(entry.startswith("rendered ") for entry in log)
    await asyncio.sleep(0.2)  # the intro is still playing
    assert "rendered Later2" in log  # the next part is ready before it is needed
    for part in (1, 2):
        handle.events.put_nowait(finished(gateway.played[part - 1][1]))
        while len(gateway.played) <= part:
            await asyncio.sleep(0.01)
    assert gateway.played[1][0] == [f"sound:/live/Name{n}" for n in range(15)] + [
        "sound:/live/Later1"
    ]
    assert gateway.played[2][0] == ["sound:/live/Later2"]
    handle.events.put_nowait(finished(gateway.played[2][1]))
    assert await task is False


async def test_a_prompt_stopped_by_a_key_stops_rendering_what_comes_after() -> None:
    handle = ChannelHandle(channel_id="c1", line="100", caller="600")
    gateway, log = FakeGateway(), list[str]()
    call = Call(handle, gateway, FakePrompts(), SlowLiveSpeech(log))  # type: ignore[arg-type]
    keys = ["history_intro", *(f"digit_{n % 10}" for n in range(15)), "live:Later"]
    task = asyncio.create_task(call.say(keys, barge_in=True))
    while not gateway.played:
        await asyncio.sleep(0.01)
    handle.events.put_nowait(dtmf("1"))
    assert await task is True
    await asyncio.sleep(0.1)  # longer than a render takes
    assert len(gateway.played) == 1 and "rendered Later" not in log


async def test_work_after_the_prompt_is_finished_once_the_prompt_has_started() -> None:
    call, gateway, handle = make_call()
    release = asyncio.Event()
    seen: list[str] = []

    async def audit() -> None:
        await release.wait()
        seen.append(f"committed after {len(gateway.played)} play request(s)")

    await call.after_prompt(audit())  # returns at once: the commit is not waited for here
    task = asyncio.create_task(call.say(["balance_is"]))
    await asyncio.sleep(0.01)
    assert len(gateway.played) == 1 and seen == []  # the prompt started before the commit
    release.set()
    await asyncio.sleep(0.01)
    handle.events.put_nowait(finished(gateway.played[0][1]))
    assert await task is False
    assert seen == ["committed after 1 play request(s)"]


async def test_a_failed_write_after_the_prompt_fails_the_call_there() -> None:
    call, gateway, _ = make_call()

    async def audit() -> None:
        raise OSError("the store is down")

    await call.after_prompt(audit())
    with pytest.raises(OSError):
        await call.say(["balance_is"])
    assert len(gateway.played) == 1
    await call.finish_after_prompt()  # nothing left: the call's end does not see it again


async def test_the_calls_end_waits_for_work_no_prompt_came_after() -> None:
    call, _, _ = make_call()
    done: list[bool] = []

    async def audit() -> None:
        await asyncio.sleep(0.02)
        done.append(True)

    await call.after_prompt(audit())
    await call.finish_after_prompt()
    assert done == [True]
