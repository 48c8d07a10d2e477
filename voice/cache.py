"""A content-addressed cache of rendered prompts.

The key is a SHA-256 over everything that changes the audio: the identity of
the engine that produced it (name, version, voice, speed), the conversion
version and the normalized text. With a chain of engines, a text has one
possible key per engine; the cache serves the first engine's file when it
has it, and otherwise asks the engines in order (see :mod:`voice.chain`):
an engine that can speak renders under its own key; one that rests is
skipped in favour of what a later engine already rendered. So audio made by
espeak-ng while gTTS was down is never taken for gTTS audio, and is replaced
by gTTS audio at the first render once gTTS answers again.

Files live at ``ROOT/ab/abcdef....{sln16,wav}``; writes are atomic
(temporary file, then rename), so several app instances may share one cache
folder. Within one process, concurrent requests for the same text are
synthesized once.

Only static prompt texts belong here: customer data (amounts, card endings)
is spoken from pre-rendered fragments and never cached. A fragment (one word
of a number) is rendered like a prompt but cut to its speech and followed by
a short pause (:mod:`voice.fragments`); its key says so, so a fragment and a
prompt with the same text ("zero") are two files.
"""

import asyncio
import hashlib
import tempfile
from pathlib import Path

from voice import apology
from voice.chain import EngineChain
from voice.convert import CONVERSION_VERSION, convert_for_asterisk, is_complete
from voice.engine import TtsEngine
from voice.fragments import FragmentShape


def normalize(text: str) -> str:
    """Collapse whitespace: texts that differ only in spacing sound the same."""
    return " ".join(text.split())


class PromptCache:
    """Renders texts through a chain of engines into Asterisk-ready files, once each."""

    def __init__(
        self,
        root: Path,
        engines: EngineChain | TtsEngine,
        fragments: FragmentShape | None = None,
    ) -> None:
        self.root = root
        self.chain = engines if isinstance(engines, EngineChain) else EngineChain([engines])
        self.fragments = fragments or FragmentShape()
        self._pending: dict[tuple[str, bool], asyncio.Future[Path]] = {}
        self._apology: Path | None = None
        # Renderings seen complete: files in the cache are never rewritten or
        # removed while it is in use, so each is looked at on disk once, not
        # once per bank that speaks the same text (500 banks share most).
        self._complete: set[Path] = set()
        # (engine, text, fragment) -> base path
        self._bases: dict[tuple[str, str, bool], Path] = {}

    def key(self, text: str, engine: TtsEngine | None = None, *, fragment: bool = False) -> str:
        """The cache key of ``text`` spoken by ``engine`` (default: the chain's
        first), as a prompt or, with ``fragment``, as a word of a number."""
        engine = engine or self.chain.engines[0]
        parts = [engine.identity, CONVERSION_VERSION, normalize(text)]
        if fragment:
            parts.append(self.fragments.identity)
        return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()

    def base_path(
        self, text: str, engine: TtsEngine | None = None, *, fragment: bool = False
    ) -> Path:
        """Where ``engine``'s files for ``text`` live, without extension."""
        engine = engine or self.chain.engines[0]
        base = self._bases.get((engine.identity, text, fragment))
        if base is None:
            key = self.key(text, engine, fragment=fragment)
            base = self._bases[(engine.identity, text, fragment)] = self.root / key[:2] / key
        return base

    def cached(self, text: str, *, fragment: bool = False) -> Path | None:
        """The base path of the most preferred engine's rendering of ``text``
        that is in the cache, or None."""
        for engine in self.chain.engines:
            base = self.base_path(text, engine, fragment=fragment)
            if self._is_complete(base):
                return base
        return None

    def forget(self, base: Path) -> None:
        """``base``'s files are about to be removed (only the preview area,
        which keeps its own cache within bounds, ever removes renderings)."""
        self._complete.discard(base)

    def _is_complete(self, base: Path) -> bool:
        if base in self._complete:
            return True
        if is_complete(base):
            self._complete.add(base)
            return True
        return False

    def engine_of(self, text: str, base: Path, *, fragment: bool = False) -> TtsEngine | None:
        """Which engine of the chain ``base`` (a rendering of ``text``) came from."""
        return next(
            (e for e in self.chain.engines if self.base_path(text, e, fragment=fragment) == base),
            None,
        )

    async def render(self, text: str, *, fragment: bool = False) -> Path:
        """Return the base path of ``text`` rendered, synthesizing it if needed;
        with ``fragment``, cut to its speech and the pause between words.

        Raises :class:`~voice.chain.AllEnginesFailed` when no engine can
        speak it and nothing is cached (the prompt book then plays the
        shipped apology in its place).
        """
        text = normalize(text)
        preferred = self.base_path(text, fragment=fragment)
        if self._is_complete(preferred):
            return preferred
        pending = self._pending.get((text, fragment))
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Path] = asyncio.get_running_loop().create_future()
        self._pending[(text, fragment)] = future
        try:
            base = await self._render(text, fragment)
            future.set_result(base)
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            del self._pending[(text, fragment)]
            if not future.cancelled() and future.exception() is not None:
                future.exception()  # retrieved: no "never retrieved" warning
        return base

    async def _render(self, text: str, fragment: bool) -> Path:
        shape = self.fragments if fragment else None
        for engine in self.chain.engines:
            base = self.base_path(text, engine, fragment=fragment)
            if self._is_complete(base):
                return base  # a later engine's earlier rendering, while those before it rest
            with tempfile.TemporaryDirectory(prefix="infolinia-tts-") as work:
                raw = Path(work) / "speech.wav"
                if await self.chain.try_engine(engine, text, raw):
                    base.parent.mkdir(parents=True, exist_ok=True)
                    base.parent.chmod(0o755)
                    await asyncio.to_thread(convert_for_asterisk, raw, base, shape)
                    return base
        raise self.chain.all_failed()

    def apology(self) -> Path:
        """The base path of the shipped apology, copied into this cache's folder
        (Asterisk sees only that folder) the first time it is asked for."""
        if self._apology is None:
            self._apology = apology.install(self.root)
        return self._apology
