"""Speaking customer text that cannot be pre-rendered (a counterparty's name)
during a call, safely: only with an offline engine, into a folder of the
call's own that is deleted when the call ends. Never into the prompt cache,
never through an online service, never logged."""

import asyncio
import itertools
import re
import shutil
import tempfile
from pathlib import Path

from voice.convert import convert_for_asterisk
from voice.engine import SynthesisError, TtsEngine
from voice.polish import FRAGMENT_PREFIX

# A prompt key of customer text spoken live (what Call.say hands to LiveSpeech).
LIVE_PREFIX = "live:"


def live_key(text: str) -> str:
    """A key for customer text spoken live (offline engine, per-call, not cached)."""
    return LIVE_PREFIX + text


def speaks_customer_data(key: str) -> bool:
    """Whether a prompt key is (part of) customer data: a word fragment of a
    number, amount or date, or text spoken live. Such a key is never logged."""
    return key.startswith((LIVE_PREFIX, FRAGMENT_PREFIX))


class LiveSpeech:
    """Per-call synthesis for texts that are customer data."""

    def __init__(self, root: Path, engine: TtsEngine) -> None:
        if not getattr(engine, "offline", False):
            raise SynthesisError("customer data may only be spoken by an offline engine")
        self.root = root
        self.engine = engine
        self._counter = itertools.count(1)

    async def media(self, call_id: str, text: str) -> str:
        """Render ``text`` for one call; returns its media URI."""
        folder = self._folder(call_id)
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
        base = folder / f"t{next(self._counter)}"
        with tempfile.TemporaryDirectory(prefix="infolinia-live-") as work:
            raw = Path(work) / "speech.wav"
            await self.engine.synthesize(text, raw)
            await asyncio.to_thread(convert_for_asterisk, raw, base)
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
