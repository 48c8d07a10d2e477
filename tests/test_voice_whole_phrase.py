"""Numbers a language's fragments cannot keep the pace of are spoken whole at
call time (``voice.whole_phrase``, issue 22): which kinds, per language; the
offline engine of the call's language speaks them into the call's own
folder, never an online engine, never the shared cache; fragments if it fails."""

import asyncio
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydub.generators import Sine

from adapters.spec import Card, CardKind, CardStatus
from stasis_app.config import load_settings
from stasis_app.errors import ConfigError
from stasis_app.flow.context import CallContext
from stasis_app.flow.speech import SpokenValue, value_keys
from stasis_app.telephony.call import Call
from stasis_app.telephony.gateway import ChannelHandle
from stasis_app.verbs.base import say
from stasis_app.verbs.choose import Choose, ChooseParams
from tests.support.fake_call import FakeCall, FakeGateway, KeyedPrompts, finished
from voice.cache import PromptCache
from voice.chain import EngineChain
from voice.engine import SynthesisError
from voice.fragments import fragment_keys, fragment_texts
from voice.languages import numbers
from voice.live import LiveSpeech, phrase_key, phrase_words, shown_words, speaks_customer_data

pytestmark = pytest.mark.unit

CHANNEL = "1700000000.7"


def settings_of(tmp_path: Path, voice: str | None = None) -> Path:
    config = tmp_path / "infolinia.yaml"
    config.write_text("ari: {password: x}\n" + (f"voice: {voice}\n" if voice else ""))
    return config


def test_by_default_ukrainian_digits_and_english_digits_and_amounts_are_whole(
    tmp_path: Path,
) -> None:
    voice = load_settings(settings_of(tmp_path), env={}).voice
    assert voice.whole_phrase == {"uk": ["digits"], "en": ["digits", "amount"]}
    live = LiveSpeech(tmp_path, Offline("pl"), voice.whole_phrase)
    assert live.whole("pl") == frozenset()  # Polish fragments are within 1.25
    assert live.whole("uk") == {"digits"}
    assert live.whole("en") == {"digits", "amount"}


def test_the_setting_is_per_language_and_a_wrong_one_names_file_and_field(
    tmp_path: Path,
) -> None:
    config = settings_of(tmp_path, "{whole_phrase: {pl: [date], en: []}}")
    assert load_settings(config, env={}).voice.whole_phrase == {"pl": ["date"], "en": []}
    for wrong, field in (
        ("{whole_phrase: {uk: [card]}}", "voice.whole_phrase.uk.0"),
        ("{whole_phrase: {de: [digits]}}", "voice.whole_phrase.de"),
        ("{whole_phrase: [digits]}", "voice.whole_phrase"),
    ):
        with pytest.raises(ConfigError) as caught:
            load_settings(settings_of(tmp_path, wrong), env={})
        assert caught.value.field.startswith(field), caught.value.field
        assert str(config) in str(caught.value)


def test_the_kinds_chosen_are_one_phrase_and_the_others_stay_fragments() -> None:
    uk, en = numbers("uk"), numbers("en")
    digits = uk.digit_words("20261206")
    assert value_keys("digits", "20261206", "uk", {"digits"}) == [phrase_key("digits", digits)]
    # A card ending is digits; the card's own prompts stay.
    card = Card("c", CardKind.DEBIT, "4821", CardStatus.ACTIVE)
    assert value_keys("card", card, "uk", {"digits"}) == [
        "card_debit",
        "card_ending",
        phrase_key("digits", uk.digit_words("4821")),
    ]
    amount = en.amount_words(Decimal("1234.56"))
    assert value_keys("amount", "1234.56", "en", {"digits", "amount"}) == [
        phrase_key("amount", amount)
    ]
    # Not chosen: the words as fragments, as before.
    assert value_keys("amount", "1234.56", "uk", {"digits"}) == fragment_keys(
        uk.amount_words(Decimal("1234.56"))
    )
    assert value_keys("digits", "4821", "pl") == fragment_keys(numbers("pl").digit_words("4821"))
    key = phrase_key("amount", amount)
    assert phrase_words(key) == ("amount", amount)
    assert speaks_customer_data(key)  # never logged


class Offline:
    """An offline engine that writes a short tone for any text and notes each text."""

    offline = True

    def __init__(self, language: str, fails: bool = False) -> None:
        self.identity = f"offline-{language}"
        self.fails = fails
        self.texts: list[str] = []

    async def synthesize(self, text: str, out: Path) -> None:
        self.texts.append(text)
        if self.fails:
            raise SynthesisError("the engine's process died")
        Sine(220).to_audio_segment(duration=300).export(out, format="wav")


class Online:
    identity = "online-uk"

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def synthesize(self, text: str, out: Path) -> None:
        self.texts.append(text)
        raise AssertionError("customer data must never reach an online engine")


def ukrainian_call(
    tmp_path: Path, offline: Offline
) -> tuple[Call, FakeGateway, ChannelHandle, Online]:
    online = Online()
    words = numbers("uk").FRAGMENT_WORDS
    texts = {"card_blocked": "Картку заблоковано", **fragment_texts(words)}
    # The language's chain has an online engine first: it speaks the prompts,
    # but a number spoken whole must skip it for the offline one.
    cache = PromptCache(tmp_path / "cache", EngineChain([online, offline]))
    uk = KeyedPrompts(texts, cache)
    pl = KeyedPrompts({"greeting": "Dzień dobry"}, PromptCache(tmp_path / "cache", Offline("pl")))
    live = LiveSpeech(tmp_path / "live", Offline("pl"), {"uk": ["digits"]})
    handle = ChannelHandle(channel_id=CHANNEL, line="130", caller="600")
    gateway = FakeGateway()
    call = Call(handle, gateway, pl, live, None, {"uk": uk})
    call.use_language("uk")
    return call, gateway, handle, online


async def playbacks_of(
    call: Call, gateway: FakeGateway, handle: ChannelHandle, keys: list[str]
) -> list[list[str]]:
    """The media of each playback ``call.say(keys)`` made, each finished as
    Asterisk finishes a prompt."""
    task = asyncio.create_task(call.say(keys))
    done = 0
    while not task.done():
        if len(gateway.played) > done:
            handle.events.put_nowait(finished(gateway.played[done][1]))
            done += 1
        await asyncio.sleep(0.005)
    assert await task is False
    return [media for media, _ in gateway.played]


async def say_through(
    call: Call, gateway: FakeGateway, handle: ChannelHandle, keys: list[str]
) -> list[str]:
    """Everything ``call.say(keys)`` played, in order, whatever the playbacks."""
    return [uri for media in await playbacks_of(call, gateway, handle, keys) for uri in media]


async def test_a_ukrainian_reference_is_one_file_of_the_offline_engine_in_the_calls_folder(
    tmp_path: Path,
) -> None:
    offline = Offline("uk")
    call, gateway, handle, online = ukrainian_call(tmp_path, offline)
    assert call.whole_phrase == {"digits"}
    keys = ["card_blocked", *value_keys("digits", "20261206", "uk", call.whole_phrase)]
    media = await say_through(call, gateway, handle, keys)
    assert media[0] == "sound:prompt/card_blocked"
    [spoken] = media[1:]
    base = Path(spoken.removeprefix("sound:"))
    assert base.parent == tmp_path / "live" / CHANNEL  # the call's own folder
    [audio] = [path for path in base.parent.iterdir() if path.suffix.startswith(".sln")]
    assert audio.stem == base.name and audio.stat().st_size > 0
    assert offline.texts == [" ".join(numbers("uk").digit_words("20261206"))]
    assert online.texts == []  # never asked
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.sln16"))
    call.live.forget(CHANNEL)  # type: ignore[union-attr]
    assert not (tmp_path / "live" / CHANNEL).exists()


async def test_if_the_offline_engine_fails_the_fragments_are_played(tmp_path: Path) -> None:
    offline = Offline("uk", fails=True)
    call, gateway, handle, online = ukrainian_call(tmp_path, offline)
    keys = ["card_blocked", *value_keys("digits", "4821", "uk", call.whole_phrase)]
    media = await say_through(call, gateway, handle, keys)
    fragments = fragment_keys(numbers("uk").digit_words("4821"))
    assert media == ["sound:prompt/card_blocked", *(f"sound:prompt/{k}" for k in fragments)]
    assert offline.texts and online.texts == []


async def test_a_verb_speaks_the_kinds_the_call_says_whole_and_the_rest_from_fragments() -> None:
    day = date(2026, 11, 22)
    # The prompts the call has: phrases are rendered for the call, not looked up.
    call = FakeCall(prompts=["card_blocked", *fragment_keys(numbers("en").date_words(day))])
    call.use_language("en")
    call.whole_phrase = frozenset({"digits", "amount"})
    values = {"reference": "482913", "balance": "12.50", "day": day}
    ctx = SimpleNamespace(call=call, values=values)
    items = [
        "card_blocked",
        SpokenValue(value="reference", kind="digits"),
        SpokenValue(value="balance", kind="amount"),
        SpokenValue(value="day", kind="date"),
    ]
    await say(ctx, items)  # type: ignore[arg-type]
    en = numbers("en")
    assert call.heard == [
        [
            "card_blocked",
            phrase_key("digits", en.digit_words("482913")),
            phrase_key("amount", en.amount_words(Decimal("12.50"))),
            *fragment_keys(en.date_words(day)),
        ]
    ]


async def test_fragments_standing_in_for_a_phrase_never_overfill_a_play_request(
    tmp_path: Path,
) -> None:
    call, gateway, handle, _ = ukrainian_call(tmp_path, Offline("uk", fails=True))
    keys = [*["card_blocked"] * 15, *value_keys("digits", "20261206", "uk", call.whole_phrase)]
    played = await playbacks_of(call, gateway, handle, keys)
    assert all(len(media) <= 16 for media in played)
    assert sum(map(len, played)) == 15 + 8  # 15 prompts + 8 digits' fragments


class Gated(Offline):
    """An offline engine that speaks only once the test lets it (``release``)."""

    def __init__(self, language: str, fails: bool = False) -> None:
        super().__init__(language, fails)
        self.release = asyncio.Event()

    async def synthesize(self, text: str, out: Path) -> None:
        await self.release.wait()
        await super().synthesize(text, out)


async def rendered(folder: Path, count: int = 1) -> None:
    """Until ``count`` files spoken for the call are in its folder."""
    while not folder.exists() or len(list(folder.glob("t*.sln*"))) < count:
        await asyncio.sleep(0.005)


async def test_a_phrase_prepared_ahead_plays_at_once_with_the_prompts_around_it(
    tmp_path: Path,
) -> None:
    offline = Offline("uk")
    call, gateway, handle, _ = ukrainian_call(tmp_path, offline)
    ending = value_keys("digits", "4821", "uk", call.whole_phrase)
    call.prepare(["card_blocked", *ending])  # e.g. while the list of cards plays
    await rendered(tmp_path / "live" / CHANNEL)
    # The render is over a moment after its file appears (its task resumes
    # after the write): "prepared ahead" is that moment, not the file's.
    await asyncio.wait(list(call._renders.values()))
    for _ in range(2):  # read in the list, then again before the confirmation
        gateway.played.clear()
        played = await playbacks_of(call, gateway, handle, ["card_blocked", *ending])
        [[prompt, phrase]] = played  # one play request: nothing waited for
        assert prompt == "sound:prompt/card_blocked" and "/live/" in phrase
    assert offline.texts == [" ".join(numbers("uk").digit_words("4821"))]  # rendered once


async def test_a_phrase_not_ready_yet_lets_the_prompt_before_it_play_meanwhile(
    tmp_path: Path,
) -> None:
    offline = Gated("uk")
    call, gateway, handle, _ = ukrainian_call(tmp_path, offline)
    keys = ["card_blocked", *value_keys("digits", "20261206", "uk", call.whole_phrase)]
    task = asyncio.create_task(call.say(keys))
    while not gateway.played:
        await asyncio.sleep(0.005)
    # The caller hears "card blocked" while the reference is still being spoken.
    assert gateway.played[0][0] == ["sound:prompt/card_blocked"]
    assert not list((tmp_path / "live" / CHANNEL).glob("t*.sln*"))
    offline.release.set()
    await rendered(tmp_path / "live" / CHANNEL)
    handle.events.put_nowait(finished(gateway.played[0][1]))
    while len(gateway.played) < 2:
        await asyncio.sleep(0.005)
    [phrase] = gateway.played[1][0]
    assert shown_words(phrase) == " ".join(numbers("uk").digit_words("20261206"))
    handle.events.put_nowait(finished(gateway.played[1][1]))
    assert await task is False


async def test_a_failed_render_is_its_fragments_right_after_the_prompt_before_it(
    tmp_path: Path,
) -> None:
    fragments = [f"sound:prompt/{k}" for k in fragment_keys(numbers("uk").digit_words("4821"))]
    for prepared in (False, True):
        offline = Gated("uk", fails=True)
        call, gateway, handle, _ = ukrainian_call(tmp_path / str(prepared), offline)
        keys = ["card_blocked", *value_keys("digits", "4821", "uk", call.whole_phrase)]
        if prepared:
            call.prepare(keys)
            offline.release.set()
            while not offline.texts:
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.01)
        else:
            asyncio.get_running_loop().call_later(0.05, offline.release.set)
        played = await playbacks_of(call, gateway, handle, keys)
        # No playback is empty and nothing is missing: the caller is never in silence.
        assert all(played) and [uri for media in played for uri in media] == [
            "sound:prompt/card_blocked",
            *fragments,
        ]
        assert len(played) == (1 if prepared else 2)


async def test_the_words_of_a_number_spoken_whole_are_shown_beside_it_but_a_name_is_not(
    tmp_path: Path,
) -> None:
    live = LiveSpeech(tmp_path / "live", Offline("uk"))
    number = await live.media(CHANNEL, "чотири вісім два один", shown=True)
    name = await live.media(CHANNEL, "Jan Kowalski")
    assert shown_words(number) == "чотири вісім два один"
    assert shown_words(name) is None  # customer text that is not a number: unnamed
    words = Path(number.removeprefix("sound:")).with_suffix(".words")
    assert words.stat().st_mode & 0o077 == 0  # the app's user only; Asterisk never reads it
    live.forget(CHANNEL)
    assert shown_words(number) is None  # gone with the call


async def test_choose_has_every_cards_ending_rendered_before_the_caller_picks() -> None:
    cards = [
        Card("c1", CardKind.DEBIT, "1111", CardStatus.ACTIVE),
        Card("c2", CardKind.CREDIT, "3333", CardStatus.ACTIVE),
    ]
    call = FakeCall(keys="2")  # typed over the list: it is not read
    call.use_language("uk")
    call.whole_phrase = frozenset({"digits"})
    ctx = CallContext(call=call, tenant=None, bank=None)  # type: ignore[arg-type]
    ctx.values["cards"] = cards
    event = await Choose().run(
        ctx, ChooseParams(prompt=["choose_card"], items="cards", into="card")
    )
    assert event == "chosen" and ctx.values["card"] is cards[1]
    uk = numbers("uk")
    assert call.prepared == [phrase_key("digits", uk.digit_words(c.last4)) for c in cards]
