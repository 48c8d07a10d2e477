"""Finding TTS engines: the registry of the ``infolinia_register_engines``
hook of the app's plugin manager (:func:`plugin.manager.get_plugin_manager`).

The built-in engines (:mod:`voice.builtin`) are the plugin
``infolinia-builtin-engines``, registered through the same hook as any other
plugin's, unless ``$INFOLINIA_DISABLE_PLUGINS`` blocks it.
"""

from typing import ClassVar

import pluggy

from plugin.hooks import Plugins
from plugin.registry import Described, FactoryRegistry, SetupError
from voice.engine import SynthesisError, TtsEngine

__all__ = ["EngineInfo", "EngineRegistry", "EngineSetupError"]

EngineInfo = Described


class EngineSetupError(SetupError):
    """An engine cannot be set up: names the field of its chain entry at fault
    (``name``, ``settings.speed``...)."""


class EngineRegistry(FactoryRegistry[TtsEngine]):
    """Every TTS engine factory the loaded plugins provide, by name."""

    noun = "TTS engine"
    error: ClassVar[type[SetupError]] = EngineSetupError
    # e.g. espeak-ng not installed
    create_errors = (SynthesisError, ValueError, OSError)

    def __init__(self, manager: pluggy.PluginManager) -> None:
        super().__init__(Plugins(manager).engines())
