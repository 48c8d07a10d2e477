"""The pluggy hook a plugin implements to give infolinia a TTS engine.

Engines register the same way adapters do (see :mod:`adapters.hookspecs`):
a plugin module, found through the entry-point group ``infolinia.adapters``
or named in ``$INFOLINIA_PLUGINS``, implements::

    from voice.hookspecs import EngineFactory, hookimpl

    @hookimpl
    def infolinia_register_engines() -> list[EngineFactory]:
        return [EngineFactory(name="mybank-voice", settings=MySettings, create=MyEngine)]

and a deployment or tenant puts ``{name: mybank-voice, settings: {...}}`` in
its ``voice.engines`` chain. The engine is an object with ``identity`` and
an async ``synthesize`` (:class:`voice.engine.TtsEngine`); set ``offline =
True`` on it only if it never sends text off the machine.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from adapters.hookspecs import hookimpl, hookspec
from voice.engine import TtsEngine

__all__ = ["EngineFactory", "EngineHooks", "hookimpl"]


@dataclass(frozen=True)
class EngineFactory:
    """How to build one kind of TTS engine from its settings in a chain."""

    name: str  # what a config writes in voice.engines, e.g. "espeak-ng"
    settings: type[BaseModel]  # validates the engine's settings
    create: Callable[[Any], TtsEngine]  # called with a validated ``settings`` instance
    description: str = ""


class EngineHooks:
    """Hook specifications for TTS engines (the ``infolinia`` project)."""

    @hookspec
    def infolinia_register_engines(self) -> list[EngineFactory]:  # type: ignore[empty-body]
        """Return the TTS engine factories this plugin provides (names must be unique)."""
