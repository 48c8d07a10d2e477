"""How a word fragment of customer data is cut so that numbers flow.

A caller hears an amount, a card ending or a date as pre-rendered single
words (:mod:`voice.polish`) played one after another in one playback. An
engine pads each word it speaks alone: espeak-ng with ~50 ms before and
~330 ms after, gTTS with more. Played as they come, "tysiąc dwieście
trzydzieści cztery złote" stutters with a third of a second after every
word. So a fragment is rendered trimmed to its speech (``margin_ms`` kept on
each side, so no soft consonant is clipped) and followed by ``pause_ms`` of
silence: the pause between two words of a number.

The default pause, 30 ms, is what a caller hears as 40 to 50 ms of quiet
between two words (the margins and the words' own soft edges add to it):
no longer than the silences espeak-ng leaves inside a number it speaks
whole, and short enough that every kind of number (amounts, references,
card endings, dates) lasts at most 1.25 times the same words spoken whole
at the shipped config's speed (``bench/voice_fragments.py``).

Trimming is part of the rendering, so the shape is part of the cache key
(:meth:`FragmentShape.identity`): a change of pause renders the fragments
again, and a fragment is never mistaken for a prompt with the same text.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydub import AudioSegment

from voice.pauses import FRAME_MS, frame_levels, speech_span

_ASCII = str.maketrans("ąćęłńóśźż", "acelnoszz")
# Every fragment's prompt key starts with this: such keys speak customer data
# (numbers, amounts, dates) and are never logged (stasis_app.flow.speech).
FRAGMENT_PREFIX = "w_"


def fragment_key(word: str) -> str:
    """The prompt key of a fragment word: "pięćset" -> "w_piecset", "п'ять" -> "w_п'ять".
    Each language's words live in that language's prompt book, so the same
    key in two languages ("w_zero") never meets. This is the word's final
    rendering (its pitch falls: the last word of a number); see
    :func:`fragment_keys` for the other."""
    return FRAGMENT_PREFIX + word.translate(_ASCII)


# Prosody: every word fragment has two renderings. Said alone ("dwa"), an
# engine speaks a word as the end of a sentence: its pitch falls (espeak-ng,
# pl: 95 -> 77 Hz). Followed by a comma ("dwa,") it stays up (94 -> 101 Hz),
# as a word does when the number goes on. A number is played as continuing
# words and one final word, so it sounds like one phrase that ends once
# (bench/voice_prosody.py measures the fall).
CONTINUING = ","


def fragment_keys(words: Sequence[str], *, ends: bool = True) -> list[str]:
    """The prompt keys that speak ``words`` as one number: each word the
    number goes on after in its continuing rendering, the last in its final
    one (``ends=False``: the sentence goes on after the number, as in "Jesteś
    trzecią osobą w kolejce": every word continuing)."""
    keys = [fragment_key(word) + CONTINUING for word in words]
    if ends and keys:
        keys[-1] = fragment_key(words[-1])
    return keys


def fragment_texts(words: Iterable[str]) -> dict[str, str]:
    """Both renderings of every word: prompt key -> the text the engine speaks."""
    texts = {}
    for word in words:
        texts[fragment_key(word)] = word
        texts[fragment_key(word) + CONTINUING] = word + CONTINUING
    return texts


def heard_word(text: str) -> str:
    """The word a fragment's text says, without its prosody mark."""
    return text.removesuffix(CONTINUING)


# Bump when the cutting changes what a caller hears (it is part of cache keys).
TRIM_VERSION = "1"
DEFAULT_PAUSE_MS = 30
PAUSE_RANGE_MS = (0, 300)


@dataclass(frozen=True)
class FragmentShape:
    """The silence around a fragment's speech, in milliseconds."""

    pause_ms: int = DEFAULT_PAUSE_MS
    margin_ms: int = 5

    def __post_init__(self) -> None:
        low, high = PAUSE_RANGE_MS
        if not low <= self.pause_ms <= high:
            raise ValueError(f"the pause between fragments is {low} to {high} ms")
        if not 0 <= self.margin_ms <= 50:
            raise ValueError("a fragment's margin is 0 to 50 ms")

    @property
    def identity(self) -> str:
        """What goes into a fragment's cache key."""
        return f"fragment trim={TRIM_VERSION} margin={self.margin_ms} pause={self.pause_ms}"

    def cut(self, audio: AudioSegment) -> AudioSegment:
        """``audio`` trimmed to its speech plus margins, then the pause.
        All-silent audio is kept as it is (nothing to find; an engine's bug)."""
        mono = audio.set_channels(1).set_sample_width(2)
        span = speech_span(frame_levels(mono.raw_data, mono.frame_rate), FRAME_MS)
        if span is None:
            return audio
        start = max(0, span.start_ms - self.margin_ms)
        end = min(len(audio), span.end_ms + self.margin_ms)
        pause = AudioSegment.silent(duration=self.pause_ms, frame_rate=audio.frame_rate)
        return audio[start:end] + pause.set_channels(audio.channels).set_sample_width(
            audio.sample_width
        )
