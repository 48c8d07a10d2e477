"""The infolinia application: render prompts, connect to Asterisk, serve calls.

Every call runs in its own task behind a catch-all: whatever goes wrong, the
caller hears an apology and a clean hangup, never silence.
"""

import asyncio
import logging
import signal
import time

from stasis_app.ari import AriGateway, ChannelHandle
from stasis_app.call import DEFAULT_TIMEOUTS, Call, DigitTimeouts
from stasis_app.config import Settings, load_prompt_texts
from stasis_app.echo_line import PROMPT_KEYS, echo_line
from stasis_app.errors import AriError, CallHungUp, ConfigError
from voice.cache import PromptCache
from voice.espeak import EspeakEngine
from voice.prompts import PromptBook

log = logging.getLogger(__name__)


class InfoliniaApp:
    """Ties settings, prompts and the ARI gateway together."""

    def __init__(self, settings: Settings, timeouts: DigitTimeouts = DEFAULT_TIMEOUTS) -> None:
        self.settings = settings
        self.timeouts = timeouts
        texts = load_prompt_texts(settings.prompts)
        missing = [key for key in PROMPT_KEYS if key not in texts]
        if missing:
            raise ConfigError(str(settings.prompts), missing[0], "prompt is missing")
        if settings.voice.engine != "espeak-ng":
            raise ConfigError(str(settings.source), "voice.engine", "only 'espeak-ng' is available")
        engine = EspeakEngine(voice=settings.voice.voice, speed=settings.voice.speed)
        self.prompts = PromptBook(texts, PromptCache(settings.voice.cache_dir, engine))
        self.gateway = AriGateway(settings.ari, self.handle_call)
        self.calls_served = 0

    async def serve(self) -> None:
        """Render every prompt, then serve calls until SIGINT or SIGTERM."""
        await self.prompts.render_all()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(self.gateway.stop()))
        log.info("serving", extra={"app": self.settings.ari.app, "ari": self.settings.ari.url})
        await self.gateway.run()
        log.info("stopped", extra={"calls_served": self.calls_served})

    async def handle_call(self, handle: ChannelHandle) -> None:
        """Run one call from StasisStart to hangup; never leave the caller in silence."""
        call = Call(handle, self.gateway, self.prompts)
        log.info(
            "call started",
            extra={"line": handle.line, "caller": handle.caller, "resumed": handle.resumed},
        )
        outcome = "completed"
        try:
            await call.answer()
            await echo_line(call, self.timeouts)
        except CallHungUp:
            outcome = "caller hung up"
        except AriError as exc:
            outcome = "asterisk unavailable"
            log.warning("call lost its link to Asterisk", extra={"error": str(exc)})
        except asyncio.CancelledError:
            outcome = "app stopping"
            raise
        except Exception:
            outcome = "failed"
            log.exception("call failed; apologising to the caller")
            await self._apologise(call)
        finally:
            if not call.hung_up:
                await asyncio.shield(self._hangup_quietly(call))
            self.calls_served += 1
            log.info(
                "call ended",
                extra={
                    "outcome": outcome,
                    "seconds": round(time.monotonic() - call.started, 2),
                    "prompts_played": call.prompts_played,
                },
            )

    async def _apologise(self, call: Call) -> None:
        try:
            await call.say(["apology"])
        except Exception as exc:  # the apology itself failed: hang up below
            log.warning("apology could not be played", extra={"error": type(exc).__name__})

    async def _hangup_quietly(self, call: Call) -> None:
        try:
            await call.hangup()
        except AriError as exc:
            log.warning("hangup failed", extra={"error": str(exc)})
