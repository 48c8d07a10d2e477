"""What a plugin imports to give infolinia a TTS engine.

Engines register the same way adapters do: a plugin module, found through
the entry-point group ``infolinia.adapters`` (the group of every infolinia
plugin) or named in ``$INFOLINIA_PLUGINS``, implements::

    from voice.hookspecs import EngineFactory, hookimpl

    @hookimpl
    def infolinia_register_engines() -> list[EngineFactory]:
        return [EngineFactory(name="mybank-voice", settings=MySettings, create=MyEngine)]

and a deployment or tenant puts ``{name: mybank-voice, settings: {...}}`` in
its ``voice.engines`` chain. The engine is an object with ``identity`` and
an async ``synthesize`` (:class:`voice.engine.TtsEngine`); set ``offline =
True`` on it only if it never sends text off the machine. The hook is
specified in :mod:`plugin.spec`.
"""

from plugin.marker import hookimpl
from plugin.registry import Factory
from voice.engine import TtsEngine

__all__ = ["EngineFactory", "hookimpl"]


class EngineFactory(Factory[TtsEngine]):
    """How to build one kind of TTS engine from its settings in a chain:
    ``name`` is what ``voice.engines`` names, ``settings`` the pydantic model
    that validates its ``settings``, ``create`` is called with them."""
