"""The prompt book: prompt keys, their texts, and their rendered audio.

Every prompt is rendered before the app takes a call; a call only ever asks
for the media URI of an already rendered key.
"""

import asyncio
import logging
import time
from collections.abc import Mapping
from pathlib import Path

from voice.cache import PromptCache

log = logging.getLogger(__name__)


class PromptBook:
    """Maps prompt keys to texts and to their rendered files."""

    def __init__(self, texts: Mapping[str, str], cache: PromptCache) -> None:
        self.texts = dict(texts)
        self.cache = cache
        self._rendered: dict[str, Path] = {}

    async def render_all(self, workers: int = 2) -> None:
        """Render every prompt (cache hits are free), ``workers`` at a time, logging progress."""
        started = time.monotonic()
        total = len(self.texts)
        hits = sum(1 for text in self.texts.values() if self.cache.cached(text) is not None)
        slots = asyncio.Semaphore(workers)
        done = 0

        async def render(key: str, text: str) -> None:
            nonlocal done
            async with slots:
                self._rendered[key] = await self.cache.render(text)
            done += 1
            if done % 20 == 0 or done == total:
                log.info("prompts rendered", extra={"done": done, "total": total})

        await asyncio.gather(*(render(key, text) for key, text in self.texts.items()))
        log.info(
            "prompt book ready",
            extra={
                "prompts": total,
                "cache_hits": hits,
                "seconds": round(time.monotonic() - started, 2),
            },
        )

    def media_uris(self) -> dict[str, str]:
        """Every prompt key's media URI, rendered or not (for tools that listen)."""
        return {key: f"sound:{self.cache.base_path(text)}" for key, text in self.texts.items()}

    def media(self, key: str) -> str:
        """The ARI media URI that plays prompt ``key``."""
        try:
            return f"sound:{self._rendered[key]}"
        except KeyError:
            raise KeyError(f"prompt {key!r} is not rendered (is it in the prompt file?)") from None
