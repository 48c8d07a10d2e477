"""The languages a caller may be spoken to in, and what each needs of voice.

Polish is every bank's language; a bank may offer Ukrainian and English
besides (``tenants.ID.languages``). Each language has:

* a prompt catalogue with the same keys as ``pl.yaml`` (``config/prompts/uk.yaml``);
* a module saying its numbers, amounts, dates and digits as word fragments
  (:mod:`voice.polish`, :mod:`voice.ukrainian`, :mod:`voice.english`), all
  with the same functions (:class:`NumberSpeech`);
* its own engine chain: the bank's chain with each engine told the language
  (:func:`engine_settings`), unless the bank gives one for the language.
"""

from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from voice import english, polish, ukrainian

DEFAULT = "pl"


class NumberSpeech(Protocol):
    """What a language module says customer data with (every function returns
    the words, each a pre-rendered fragment)."""

    FRAGMENT_WORDS: tuple[str, ...]

    def amount_words(self, amount: Decimal) -> list[str]: ...
    def digit_words(self, digits: str) -> list[str]: ...
    def date_words(self, day: date) -> list[str]: ...
    def position_words(self, n: int) -> list[str]: ...
    def minutes_words(self, n: int) -> list[str]: ...


NUMBERS: dict[str, NumberSpeech] = {"pl": polish, "uk": ukrainian, "en": english}
# The language's name in that language (the admin page's choice, logs).
NAMES = {"pl": "polski", "uk": "українська", "en": "English"}
LANGUAGES = tuple(NUMBERS)

# The setting of a built-in engine that picks the language it speaks.
LANGUAGE_SETTING = {"espeak-ng": "voice", "gtts": "lang"}


def numbers(language: str) -> NumberSpeech:
    """The module that says numbers in ``language`` (a code of :data:`LANGUAGES`)."""
    try:
        return NUMBERS[language]
    except KeyError:
        raise ValueError(f"no such language {language!r} (one of {', '.join(LANGUAGES)})") from None


def engine_settings(name: str, settings: dict[str, Any], language: str) -> dict[str, Any] | None:
    """The settings of engine ``name`` when it speaks ``language`` instead of
    Polish: espeak-ng's ``voice`` and gTTS's ``lang`` become the language.
    None: the engine speaks one language only (a Piper voice file, a plugin's
    engine) and is left out of the language's chain."""
    setting = LANGUAGE_SETTING.get(name)
    if setting is None:
        return None
    return {**settings, setting: language}


# The prompt of a language's book that offers it at the greeting: the bank's
# words (tenants.ID.languages.LANG.offer), played by the ``language`` verb.
OFFER_PROMPT = "language_offer"
