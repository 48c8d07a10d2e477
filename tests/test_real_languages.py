"""A caller who picks Ukrainian or English at the greeting hears the whole
card-blocking path in that language, the card ending and the reference read
back in that language (issue 22). With the shipped ``voice.whole_phrase``
both languages speak digits whole: each number is one file rendered for the
call by the language's offline engine, and the transcript names it by its
words (kept beside it for the call, :func:`voice.live.shown_words`), which
must be that language's digits; a language that reads digits from fragments
has them checked word by word.

Two real calls at once to the test bank that offers both (line 130, key 8
for Ukrainian, 7 for English). Every prompt the line plays is named by its
media URI: the simulator here maps each URI of every language's prompt
book to ``LANG:key``, so the transcript says which language's file played.
"""

import asyncio

import pytest

from adapters.demo import DemoBank, DemoSettings
from devtools.sandbox import Sandbox
from devtools.simulator import CallSimulator, Transcript
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from tests.conftest import TEST_CONFIG
from tests.support.app_process import AppProcess
from voice import english, ukrainian
from voice.fragments import CONTINUING, fragment_key, fragment_keys
from voice.languages import numbers

pytestmark = pytest.mark.asterisk

LINE = "130"
TENANT = "przemysl"
DIGITS = {"uk": ukrainian.UNITS[:10], "en": english.UNITS[:10]}


def named_simulator(sandbox: Sandbox) -> CallSimulator:
    """A simulator whose transcript names each prompt as ``LANG:key``."""
    settings = load_settings(TEST_CONFIG, env={"INFOLINIA_ARI_PASSWORD": sandbox.ari_password()})
    served = build_deployment(settings, with_adapters=False).tenants[TENANT]
    named: dict[str, str] = {}
    for language in ("pl", *served.books):
        for key, uri in served.book(language).media_uris().items():
            named.setdefault(uri, f"{language}:{key}")
    return CallSimulator(settings.ari, named)


def prompts(transcript: Transcript) -> list[str]:
    return [step.text for step in transcript.steps if step.kind == "prompt"]


def reference_read(played: list[str], language: str) -> str:
    """The digits spoken right after "card blocked, the reference is"."""
    after = played[played.index(f"{language}:card_blocked") + 1 :]
    digits = ""
    for name in after:
        key = name.removeprefix(f"{language}:").removesuffix(CONTINUING)
        word = next((w for w in DIGITS[language] if fragment_key(w) == key), None)
        if word is None:
            break
        digits += str(DIGITS[language].index(word))
    return digits


def digits_of(shown: str, language: str) -> str:
    """The digits a number spoken whole says, from the words the transcript
    shows for it (each must be one of ``language``'s digit words)."""
    return "".join(str(DIGITS[language].index(word)) for word in shown.split(" "))


def test_a_ukrainian_and_an_english_caller_block_a_card_in_their_language(
    live_app: AppProcess, sandbox: Sandbox
) -> None:
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    bank = DemoBank(DemoSettings(**settings.tenants[TENANT].adapter.settings))
    bank.reset()
    simulator = named_simulator(sandbox)
    # 8 / 7 at the greeting, then: 1 blocking, customer number, telekod + #,
    # 1 a card and 1 the first card typed together (the list of cards is
    # skipped, as for a caller who knows it: the chosen card is read back
    # before the confirmation), 1 confirm.
    keys = {
        "uk": "8 1 12345678 1234# 11 1",
        "en": "7 1 87654321 4321# 11 1",
    }

    async def both() -> list[Transcript]:
        return await asyncio.gather(
            *(
                simulator.call(LINE, k.split(), quiet_gap=0.3, timeout=90, hangup_after=0.5)
                for k in keys.values()
            )
        )

    uk_call, en_call = asyncio.run(both())
    print(f"\n{uk_call.as_text()}\n{en_call.as_text()}")
    for language, transcript, customer, card in (
        ("uk", uk_call, "12345678", "1111"),
        ("en", en_call, "87654321", "3333"),
    ):
        played = prompts(transcript)
        # Polish greeting, then each language offered in its own words.
        assert played[:3] == ["pl:greeting", "uk:language_offer", "en:language_offer"], played
        after = played[3:]
        # Every prompt is the language's; the numbers spoken whole are words.
        assert after and all(n.startswith(f"{language}:") or ":" not in n for n in after), after
        for key in ("main_menu", "ask_customer_number", "block_menu", "confirm_card_block"):
            assert f"{language}:{key}" in after
        state = bank.snapshot(customer)
        first = state["cards"][0]
        assert (first["last4"], first["status"]) == (card, "blocked")
        [block] = state["blocks"]
        assert len(block["reference"]) == 8
        confirm = after.index(f"{language}:confirm_card_block")
        blocked = after.index(f"{language}:card_blocked")
        if "digits" in settings.voice.whole_phrase.get(language, []):  # type: ignore[call-overload]
            # The card ending, then the reference: each one phrase spoken whole,
            # named by its words, which are the language's digits.
            assert after[confirm - 2] == f"{language}:card_ending", after
            assert digits_of(after[confirm - 1], language) == card, after
            assert digits_of(after[blocked + 1], language) == block["reference"], after
            assert not any(n.startswith("(spoken live") for n in after), after
        else:
            # The chosen card's ending and the reference, in the language's digits.
            spoken = fragment_keys(numbers(language).digit_words(card))
            ending = [f"{language}:{key}" for key in spoken]
            assert after[confirm - 4 : confirm] == ending
            assert reference_read(after, language) == block["reference"]
