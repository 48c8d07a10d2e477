"""Engines in order of preference, and what to do when one of them is down.

A chain such as ``gtts`` then ``espeak-ng`` speaks each text with the first
engine that can. An engine that fails is *resting* for a cool-off period:
it is skipped without a word until then, and the next text after it is
tried once more (one probe at a time; the cool-off doubles each time the
probe fails, up to a ceiling). So an outage costs one warning when it
starts, one more per failed probe, and one info line when the engine is
back, however many prompts are rendered meanwhile.

Outages are tracked by :class:`EngineHealth`, keyed by engine identity, so
chains that share an engine (two tenants both starting with gTTS) share
its outage and its warning.
"""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from voice.engine import SynthesisError, TtsEngine

log = logging.getLogger(__name__)


class AllEnginesFailed(SynthesisError):
    """No engine of a chain could speak a text (each failed or is resting)."""


def failure_reason(exc: Exception) -> str:
    """What to log about an engine's failure: our own messages never contain
    the text; anything else (a plugin's bug) is named by its type only."""
    return str(exc) if isinstance(exc, SynthesisError) else type(exc).__name__


@dataclass
class _Outage:
    since: float
    retry_at: float
    failed_probes: int = 0
    probing: bool = False


class EngineHealth:
    """Which engines are down, since when, and when to try them again."""

    def __init__(
        self,
        cooloff: float = 60.0,
        max_cooloff: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cooloff = cooloff
        self.max_cooloff = max_cooloff
        self.clock = clock
        self._outages: dict[str, _Outage] = {}

    def is_down(self, engine: TtsEngine) -> bool:
        return engine.identity in self._outages

    def usable(self, engine: TtsEngine) -> bool:
        """Whether to try ``engine`` now. While it rests: no. When its cool-off
        is over, yes for one caller at a time (the probe), no for the others."""
        outage = self._outages.get(engine.identity)
        if outage is None:
            return True
        if outage.probing or self.clock() < outage.retry_at:
            return False
        outage.probing = True
        return True

    def failed(self, engine: TtsEngine, exc: Exception) -> None:
        """Record a failure; warn when an outage starts or a probe fails."""
        now = self.clock()
        outage = self._outages.get(engine.identity)
        if outage is None:
            delay = self._delay(self.cooloff, exc)
            self._outages[engine.identity] = _Outage(since=now, retry_at=now + delay)
            log.warning(
                "TTS engine failed; the next engine of the chain speaks until it is retried",
                extra={
                    "engine": engine.identity,
                    "error": failure_reason(exc),
                    "retry_in": round(delay, 1),
                },
            )
        elif outage.probing:
            outage.failed_probes += 1
            outage.probing = False
            delay = self._delay(self.cooloff * 2**outage.failed_probes, exc)
            outage.retry_at = now + delay
            log.warning(
                "TTS engine still failing",
                extra={
                    "engine": engine.identity,
                    "error": failure_reason(exc),
                    "down_for": round(now - outage.since, 1),
                    "retry_in": round(delay, 1),
                },
            )
        # else: an attempt that began before the outage was noticed; already said.

    def succeeded(self, engine: TtsEngine) -> None:
        outage = self._outages.pop(engine.identity, None)
        if outage is not None:
            down_for = round(self.clock() - outage.since, 1)
            log.info("TTS engine back", extra={"engine": engine.identity, "down_for": down_for})

    def abandoned(self, engine: TtsEngine) -> None:
        """A probe was cancelled before it ended: let the next caller probe."""
        outage = self._outages.get(engine.identity)
        if outage is not None:
            outage.probing = False

    def _delay(self, wanted: float, exc: Exception) -> float:
        asked = exc.retry_after if isinstance(exc, SynthesisError) else None
        return min(max(wanted, asked or 0.0), self.max_cooloff)


class EngineChain:
    """TTS engines in order of preference, sharing one :class:`EngineHealth`."""

    def __init__(self, engines: Sequence[TtsEngine], health: EngineHealth | None = None) -> None:
        if not engines:
            raise ValueError("an engine chain needs at least one engine")
        self.engines = tuple(engines)
        self.health = health or EngineHealth()

    @property
    def identity(self) -> str:
        return " > ".join(engine.identity for engine in self.engines)

    def first_offline(self) -> TtsEngine:
        """The engine that may speak customer data: the first offline one."""
        for engine in self.engines:
            if getattr(engine, "offline", False):
                return engine
        raise SynthesisError("no offline engine in the chain (customer data needs one)")

    async def try_engine(self, engine: TtsEngine, text: str, out: Path) -> bool:
        """Speak ``text`` into ``out`` with ``engine``, unless it rests.

        False when it rests or fails (the failure is recorded, and logged if
        it starts an outage); never raises for an engine's failure.
        """
        if not self.health.usable(engine):
            return False
        try:
            await engine.synthesize(text, out)
        except Exception as exc:  # any engine's failure, a plugin's bug included
            self.health.failed(engine, exc)
            return False
        except BaseException:
            self.health.abandoned(engine)
            raise
        self.health.succeeded(engine)
        return True

    async def synthesize(self, text: str, out: Path) -> TtsEngine:
        """Speak ``text`` into ``out`` with the first engine that can; returns it."""
        for engine in self.engines:
            if await self.try_engine(engine, text, out):
                return engine
        raise self.all_failed()

    def all_failed(self) -> AllEnginesFailed:
        return AllEnginesFailed(
            "no engine could speak the text: "
            + ", ".join(
                f"{engine.identity} ({'down' if self.health.is_down(engine) else 'failed'})"
                for engine in self.engines
            )
        )
