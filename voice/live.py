"""Speaking customer text that cannot be pre-rendered (a counterparty's name)
during a call, safely: only with an offline engine, into a folder of the
call's own that is deleted when the call ends. Never into the prompt cache,
never through an online service, never logged.

The same path speaks a number whole where the language's word fragments
cannot reach the whole sentence's pace (``voice.whole_phrase``: Ukrainian
digits, English digits and amounts; docs/performance.md): the flow hands a
*phrase* key (:func:`phrase_key`) and the call renders its words as one
sentence with the language's offline engine, or plays the fragments if that
fails (:meth:`stasis_app.telephony.call.Call.say`). A number's words, unlike
a name, are kept beside its audio for the call simulator's transcript, as a
fragment's word is named there (:func:`shown_words`); neither is logged."""

import asyncio
import itertools
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from voice.convert import convert_for_asterisk
from voice.engine import SynthesisError, TtsEngine
from voice.polish import FRAGMENT_PREFIX
from voice.slin import write_slin

# A prompt key of customer text spoken live (what Call.say hands to LiveSpeech).
LIVE_PREFIX = "live:"


def live_key(text: str) -> str:
    """A key for customer text spoken live (offline engine, per-call, not cached)."""
    return LIVE_PREFIX + text


# The kinds of number a language may speak whole (voice.whole_phrase): card
# endings and callback numbers are digits; balances and operations are
# amounts and dates.
WholeKind = Literal["digits", "amount", "date"]
WholeLanguage = Literal["pl", "uk", "en"]  # voice.languages.LANGUAGES
# Measured (bench/voice_fragments.py, espeak-ng at 165 words a minute, pause
# 30 ms): through fragments, Ukrainian digits last 1.31-1.43 times the same
# words spoken whole, English digits 1.36-1.49 and amounts 1.23-1.29, against
# a target of 1.25; every other kind of every language is within it.
DEFAULT_WHOLE_PHRASE: dict[WholeLanguage, list[WholeKind]] = {
    "uk": ["digits"],
    "en": ["digits", "amount"],
}

# A prompt key of a number spoken whole at call time: "phrase:digits:four two".
PHRASE_PREFIX = "phrase:"
# Next to a number spoken whole, its words (LiveSpeech.media(shown=True)).
WORDS_SUFFIX = ".words"


def phrase_key(kind: str, words: Sequence[str]) -> str:
    """A key that speaks ``words`` (one number of ``kind``: digits, amount,
    date) whole, as one sentence of the call's language (see :func:`phrase_words`)."""
    return f"{PHRASE_PREFIX}{kind}:{' '.join(words)}"


def phrase_words(key: str) -> tuple[str, list[str]]:
    """The kind and the words of a :func:`phrase_key` (no word has a space)."""
    kind, _, text = key.removeprefix(PHRASE_PREFIX).partition(":")
    return kind, text.split(" ")


def speaks_customer_data(key: str) -> bool:
    """Whether a prompt key is (part of) customer data: a word fragment of a
    number, amount or date, a number spoken whole, or text spoken live. Such
    a key is never logged."""
    return key.startswith((LIVE_PREFIX, FRAGMENT_PREFIX, PHRASE_PREFIX))


class LiveSpeech:
    """Per-call synthesis for texts that are customer data."""

    def __init__(
        self,
        root: Path,
        engine: TtsEngine,
        whole_phrase: Mapping[WholeLanguage, Sequence[WholeKind]] | None = None,
    ) -> None:
        _must_be_offline(engine)
        self.root = root
        self.engine = engine
        # Per language, the kinds of number spoken whole (voice.whole_phrase).
        self.whole_phrase: dict[str, frozenset[str]] = {
            language: frozenset(kinds) for language, kinds in (whole_phrase or {}).items()
        }
        self._counter = itertools.count(1)

    def whole(self, language: str) -> frozenset[str]:
        """The kinds of number (digits, amount, date) spoken whole in ``language``."""
        return self.whole_phrase.get(language, frozenset())

    async def media(
        self, call_id: str, text: str, engine: TtsEngine | None = None, *, shown: bool = False
    ) -> str:
        """Render ``text`` for one call (with ``engine``, an offline one, when
        given: a language's own; else the deployment's); returns its media URI.

        The engine's WAV is made playable in-process (:func:`voice.slin.write_slin`,
        a few ms; ffmpeg only for audio it does not take). With ``shown`` (a
        number's words, never a name) the text is also kept next to the audio
        as ``NAME.words`` (:func:`shown_words`), so a listener's transcript
        names what played as it names a fragment's word; the call's folder,
        and that file with it, is deleted when the call ends."""
        engine = engine or self.engine
        _must_be_offline(engine)
        folder = self._folder(call_id)
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
        base = folder / f"t{next(self._counter)}"
        with tempfile.TemporaryDirectory(prefix="infolinia-live-") as work:
            raw = Path(work) / "speech.wav"
            await engine.synthesize(text, raw)
            if shown:
                words = base.with_suffix(WORDS_SUFFIX)
                words.touch(mode=0o600)  # for the app's user only: Asterisk never reads it
                words.write_text(text, encoding="utf-8")
            await asyncio.to_thread(_playable, raw, base)
        return f"sound:{base}"

    def forget(self, call_id: str) -> None:
        """Delete everything rendered for a call (it has ended)."""
        shutil.rmtree(self._folder(call_id), ignore_errors=True)

    def forget_all(self) -> None:
        """Delete what calls of an earlier run left (it crashed or was killed)."""
        shutil.rmtree(self.root, ignore_errors=True)

    def _folder(self, call_id: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", call_id):
            raise ValueError("not a channel id")
        return self.root / call_id


def _playable(raw: Path, base: Path) -> None:
    if write_slin(raw, base) is None:
        convert_for_asterisk(raw, base)  # not a 16-bit mono WAV at a rate it takes


def shown_words(media_uri: str) -> str | None:
    """The words a number spoken whole says, for a listener on the same
    machine (the call simulator's transcript) while its call lasts: None for
    anything else (a name spoken live, a prompt, a call that has ended)."""
    path = Path(media_uri.removeprefix("sound:")).with_suffix(WORDS_SUFFIX)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _must_be_offline(engine: TtsEngine) -> None:
    if not getattr(engine, "offline", False):
        raise SynthesisError("customer data may only be spoken by an offline engine")
