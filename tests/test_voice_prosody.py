"""Prosody of word fragments: a number's last word falls, the words before it
stay up, so that an amount sounds like one phrase that ends once (issue 22).

Measured on the 8 kHz files a call plays (espeak-ng, devtools/pitch.py),
and checked on what the flow plays: every word but the last continuing."""

from decimal import Decimal
from pathlib import Path

import pytest

from devtools.pitch import contour
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.flow.speech import value_keys
from stasis_app.queue.speech import announcement_keys
from tests.conftest import TEST_CONFIG
from voice.cache import PromptCache
from voice.espeak import EspeakEngine
from voice.fragments import CONTINUING, FragmentShape, fragment_keys, fragment_texts, heard_word
from voice.polish import amount_words

# live_state: uses the test config's state, prompt cache or demo bank, as the
# real calls' app does (./dev test runs it with them, never beside them).
pytestmark = [pytest.mark.unit, pytest.mark.live_state]


@pytest.mark.parametrize(("language", "word"), [("pl", "dwa"), ("pl", "złote"), ("en", "two")])
async def test_the_final_rendering_falls_and_the_continuing_one_ends_up(
    language: str, word: str, tmp_path: Path
) -> None:
    cache = PromptCache(tmp_path, EspeakEngine(language, 165), FragmentShape())
    final = contour((await cache.render(word, fragment=True)).with_suffix(".wav"))
    going_on = contour((await cache.render(word + CONTINUING, fragment=True)).with_suffix(".wav"))
    print(f"\n{language} {word}: final {final}, continuing {going_on}")
    assert final.fall >= 0.12  # measured: 0.19-0.24 (95 -> 77 Hz for "dwa")
    assert going_on.fall <= final.fall - 0.10  # measured: -0.08 to 0.05
    assert going_on.end_hz >= final.end_hz * 1.1


def test_a_number_is_continuing_words_and_one_final_word() -> None:
    keys = value_keys("amount", Decimal("1234.56"))
    words = amount_words(Decimal("1234.56"))
    assert keys == [*(f"w_{w}," for w in ["tysiac", "dwiescie", "trzydziesci", "cztery", "zlote",
                                          "piecdziesiat", "szesc"]), "w_groszy"]  # fmt: skip
    assert [heard_word(fragment_texts(words)[k]) for k in keys] == words
    assert value_keys("digits", "7") == ["w_siedem"]
    assert fragment_keys([]) == []


def test_a_queue_place_continues_into_the_sentence() -> None:
    # "Jesteś trzecią osobą w kolejce. ... około pięciu minut."
    keys = announcement_keys(3, 300)
    assert keys[1] == "w_trzecia," and keys[keys.index("queue_wait_about") + 1 :] == [
        "w_pieciu,",
        "w_minut",
        "queue_callback_offer",
    ]


def test_a_listener_hears_the_word_whichever_its_rendering() -> None:
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    deployment = build_deployment(settings, with_adapters=False)
    book = deployment.tenants["izbica"].prompts
    uris, heard = book.media_uris(), deployment.heard_texts()
    assert uris["w_dwa"] != uris["w_dwa,"]  # two files
    assert heard[uris["w_dwa"]] == heard[uris["w_dwa,"]] == "dwa"
