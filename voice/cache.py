"""A content-addressed cache of rendered prompts.

The key is a SHA-256 over everything that changes the audio: the engine's
identity (name, version, voice, speed), the conversion version and the
normalized text. Files live at ``ROOT/ab/abcdef....{sln16,wav}``; writes are
atomic (temporary file, then rename), so several app instances may share one
cache folder. Within one process, concurrent requests for the same text are
synthesized once.

Only static prompt texts belong here: customer data (amounts, card endings)
is spoken from pre-rendered fragments and never cached.
"""

import asyncio
import hashlib
import tempfile
from pathlib import Path

from voice.convert import CONVERSION_VERSION, convert_for_asterisk, is_complete
from voice.engine import TtsEngine


def normalize(text: str) -> str:
    """Collapse whitespace: texts that differ only in spacing sound the same."""
    return " ".join(text.split())


class PromptCache:
    """Renders texts through one engine into Asterisk-ready files, once each."""

    def __init__(self, root: Path, engine: TtsEngine) -> None:
        self.root = root
        self.engine = engine
        self._pending: dict[str, asyncio.Future[Path]] = {}

    def key(self, text: str) -> str:
        material = "\n".join((self.engine.identity, CONVERSION_VERSION, normalize(text)))
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    def base_path(self, text: str) -> Path:
        """Where the files for ``text`` live, without extension."""
        key = self.key(text)
        return self.root / key[:2] / key

    def cached(self, text: str) -> Path | None:
        """The rendered files' base path, or None when not rendered yet."""
        base = self.base_path(text)
        return base if is_complete(base) else None

    async def render(self, text: str) -> Path:
        """Return the base path of ``text`` rendered, synthesizing it if needed."""
        base = self.base_path(text)
        if is_complete(base):
            return base
        key = base.name
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Path] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            await self._synthesize(normalize(text), base)
            future.set_result(base)
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            del self._pending[key]
            if not future.cancelled() and future.exception() is not None:
                future.exception()  # retrieved: no "never retrieved" warning
        return base

    async def _synthesize(self, text: str, base: Path) -> None:
        base.parent.mkdir(parents=True, exist_ok=True)
        base.parent.chmod(0o755)
        with tempfile.TemporaryDirectory(prefix="infolinia-tts-") as work:
            raw = Path(work) / "speech.wav"
            await self.engine.synthesize(text, raw)
            await asyncio.to_thread(convert_for_asterisk, raw, base)
