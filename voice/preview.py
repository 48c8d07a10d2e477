"""Where previews are rendered: a bounded area beside the prompt cache.

An editor who listens to a text before publishing it needs it synthesized;
that text may never be published, and anyone with the admin role can ask
for as many different texts as they like. Rendered into the prompt cache,
which keeps everything forever, previews would fill the disk. So they are
rendered into ``<prompt cache>/.previews/`` by a :class:`PromptCache` of
their own (same engines, same keys), which :meth:`PreviewArea.trim` keeps
to :data:`MAX_FILES` renderings and :data:`MAX_BYTES`, oldest out first.
Publishing a text moves its preview into the cache (:meth:`adopt`): callers
hear exactly what the editor heard, and it is not synthesized twice.
"""

import asyncio
from pathlib import Path

from voice.cache import PromptCache, normalize
from voice.convert import EXTENSIONS, is_complete

FOLDER = ".previews"  # inside the prompt folder: same disk, so adopting is a rename
MAX_FILES = 64  # renderings (each a .wav and a .sln16)
MAX_BYTES = 128 * 1024 * 1024


class PreviewArea:
    """Renders previews of texts for one prompt cache, within bounds."""

    def __init__(self, cache: PromptCache) -> None:
        self.cache = cache
        self.renders = PromptCache(cache.root / FOLDER, cache.chain)

    async def render(self, text: str) -> Path:
        """The base path of ``text`` as callers would hear it: the cache's
        file when it is there already, else a rendering in the preview area."""
        preferred = self.cache.base_path(text)
        if is_complete(preferred):
            return preferred
        base = await self.renders.render(text)
        await asyncio.to_thread(self.trim, base)
        return base

    def trim(self, keep: Path | None = None) -> int:
        """Remove the oldest renderings until at most :data:`MAX_FILES` and
        :data:`MAX_BYTES` remain (never ``keep``); returns how many went.
        Renderings in progress (dot-named temporary files) are left alone."""
        root = self.renders.root
        sizes: dict[Path, int] = {}
        newest: dict[Path, float] = {}
        for file in root.glob("*/*") if root.is_dir() else ():
            if file.name.startswith(".") or file.suffix not in EXTENSIONS:
                continue
            try:
                stat = file.stat()
            except FileNotFoundError:
                continue
            base = file.with_suffix("")
            sizes[base] = sizes.get(base, 0) + stat.st_size
            newest[base] = max(newest.get(base, 0.0), stat.st_mtime)
        order = sorted(sizes, key=lambda base: newest[base], reverse=True)
        kept, total, removed = 0, 0, 0
        for base in order:
            if base == keep or (kept < MAX_FILES and total + sizes[base] <= MAX_BYTES):
                kept, total = kept + 1, total + sizes[base]
                continue
            self.renders.forget(base)
            for ext in reversed(EXTENSIONS):  # .sln16 first: no longer complete
                base.with_suffix(ext).unlink(missing_ok=True)
            removed += 1
        return removed

    def adopt(self, text: str) -> bool:
        """Move the preview of ``text`` into the prompt cache, if there is one
        and the cache has no rendering of it by that engine yet."""
        text = normalize(text)
        for engine in self.cache.chain.engines:
            source, dest = self.renders.base_path(text, engine), self.cache.base_path(text, engine)
            if not is_complete(source) or is_complete(dest):
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.parent.chmod(0o755)
            self.renders.forget(source)
            try:
                for ext in EXTENSIONS:  # .sln16 last: its presence means both are in place
                    source.with_suffix(ext).replace(dest.with_suffix(ext))
            except FileNotFoundError:  # trimmed meanwhile: the cache renders it again
                return False
            return True
        return False
