"""The prompt book: prompt keys, their texts, and their rendered audio.

Every prompt is rendered before the app takes a call; a call only ever asks
for the media URI of an already rendered key.
"""

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

    async def render_all(self) -> None:
        """Render every prompt (cache hits are free), logging progress."""
        started = time.monotonic()
        hits = 0
        total = len(self.texts)
        for done, (key, text) in enumerate(self.texts.items(), start=1):
            if self.cache.cached(text) is not None:
                hits += 1
            self._rendered[key] = await self.cache.render(text)
            if done % 10 == 0 or done == total:
                log.info("prompts rendered", extra={"done": done, "total": total})
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
