"""The prompt book: prompt keys, their texts, and their rendered audio.

Every prompt is rendered before the app takes a call; a call only ever asks
for the media URI of an already rendered key. A prompt that no engine could
render plays the shipped apology (:mod:`voice.apology`) instead: a caller
may hear an apology where a menu should be, but never silence.

A key of :func:`voice.polish.fragment_key` (a word of a number) is rendered
as a fragment: cut to its speech, followed by the short pause between words
(:mod:`voice.fragments`), so an amount played word by word flows.

A prompt may play a recording instead (:mod:`voice.recording`): its text is
then a marker naming the recording's files, already converted in the cache
folder; nothing is synthesized for it.
"""

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from voice import recording
from voice.cache import PromptCache
from voice.convert import is_complete
from voice.engine import SynthesisError
from voice.polish import FRAGMENT_PREFIX
from voice.recording import is_marker

log = logging.getLogger(__name__)


def is_fragment(key: str) -> bool:
    """Whether prompt ``key`` is a word of a number (rendered as a fragment)."""
    return key.startswith(FRAGMENT_PREFIX)


class PromptBook:
    """Maps prompt keys to texts and to their rendered files."""

    def __init__(self, texts: Mapping[str, str], cache: PromptCache) -> None:
        self.texts = dict(texts)
        self.cache = cache
        self._rendered: dict[str, Path] = {}

    async def render_all(self, workers: int = 2) -> None:
        """Render every prompt (cache hits are free), ``workers`` at a time, logging progress."""
        started = time.monotonic()
        apology = await asyncio.to_thread(self.cache.apology)
        total = len(self.texts)
        hits = sum(
            1
            for key, text in self.texts.items()
            if is_marker(text) or self.cache.cached(text, fragment=is_fragment(key))
        )
        slots = asyncio.Semaphore(workers)
        unspoken: list[str] = []
        done = 0

        async def render(key: str, text: str) -> None:
            nonlocal done
            async with slots:
                try:
                    self._rendered[key] = await self._audio(text, is_fragment(key))
                except (SynthesisError, OSError):  # no engine could, or no room to store it
                    self._rendered[key] = apology
                    unspoken.append(key)
            done += 1
            if done % 20 == 0 or done == total:
                log.info("prompts rendered", extra={"done": done, "total": total})

        await asyncio.gather(*(render(key, text) for key, text in self.texts.items()))
        if unspoken:
            log.error(
                "some prompts could not be rendered (no engine could, or no room); "
                "they play the shipped apology",
                extra={"prompts": len(unspoken), "keys": sorted(unspoken)[:5]},
            )
        log.info(
            "prompt book ready",
            extra={
                "prompts": total,
                "cache_hits": hits,
                "engines": self.engines_used(),
                "seconds": round(time.monotonic() - started, 2),
            },
        )

    def engines_used(self) -> dict[str, int]:
        """How many rendered prompts each engine spoke ("apology": none could)."""
        used: Counter[str] = Counter()
        for key, base in self._rendered.items():
            if is_marker(self.texts[key]):
                used["recording" if base != self.cache.apology() else "apology"] += 1
                continue
            engine = self.cache.engine_of(self.texts[key], base, fragment=is_fragment(key))
            used[engine.identity if engine is not None else "apology"] += 1
        return dict(used)

    def media_uris(self) -> dict[str, str]:
        """Every prompt key's media URI, rendered or not (for tools that listen):
        what this book rendered, else what the cache holds (the most preferred
        engine's), else where the first engine would put it."""
        uris = {}
        for key, text in self.texts.items():
            fragment = is_fragment(key)
            base = (
                self._rendered.get(key)
                or (self._recording(text) if is_marker(text) else None)
                or self.cache.cached(text, fragment=fragment)
                or self.cache.base_path(text, fragment=fragment)
            )
            uris[key] = f"sound:{base}"
        return uris

    def _recording(self, text: str) -> Path:
        return recording.base_path(self.cache.root, recording.parse_marker(text)[0])

    async def _audio(self, text: str, fragment: bool = False) -> Path:
        """The files of ``text``: its recording's, or rendered by the engines."""
        if not is_marker(text):
            return await self.cache.render(text, fragment=fragment)
        base = self._recording(text)
        if not is_complete(base):
            raise FileNotFoundError(f"recording {base.name} is not in {base.parent}")
        return base

    async def prepare(self, text: str) -> Path:
        """Render ``text`` into the cache (for a preview or an edit) without
        changing any prompt; raises SynthesisError when no engine can (and
        FileNotFoundError for a recording whose files are missing)."""
        return await self._audio(text)

    async def set_text(self, key: str, text: str) -> Path:
        """Make ``text`` prompt ``key``'s text, rendered: the next playback of
        ``key`` plays it. Playbacks already started keep their (old) file:
        cached files are never overwritten."""
        base = await self._audio(text, is_fragment(key))
        self.texts[key] = text
        self._rendered[key] = base
        return base

    def media(self, key: str) -> str:
        """The ARI media URI that plays prompt ``key``."""
        try:
            return f"sound:{self._rendered[key]}"
        except KeyError:
            raise KeyError(f"prompt {key!r} is not rendered (is it in the prompt file?)") from None
