"""Finding TTS engines: a typed facade over the ``infolinia_register_engines``
hook of the app's plugin manager (:func:`adapters.registry.plugin_manager`,
built with :class:`~voice.hookspecs.EngineHooks` among its ``extra_specs``).

The built-in engines (:mod:`voice.builtin`) are registered into that
manager as the plugin ``infolinia-builtin-engines``, through the same hook
as any other plugin's, unless ``$INFOLINIA_DISABLE_PLUGINS`` blocks it.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any, cast

import pluggy
from pydantic import ValidationError

from voice import builtin
from voice.engine import SynthesisError, TtsEngine
from voice.hookspecs import EngineFactory, EngineHooks

BUILTIN_PLUGIN = "infolinia-builtin-engines"


class EngineSetupError(Exception):
    """An engine cannot be set up: names the field of its chain entry at fault
    (``name``, ``settings.speed``...)."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


@dataclass(frozen=True)
class EngineInfo:
    name: str
    description: str
    plugin: str
    package: str
    version: str


class EngineRegistry:
    """Every TTS engine factory the loaded plugins provide, by name."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        if not hasattr(manager.hook, "infolinia_register_engines"):
            manager.add_hookspecs(EngineHooks)
        if not manager.is_blocked(BUILTIN_PLUGIN) and manager.get_plugin(BUILTIN_PLUGIN) is None:
            manager.register(builtin, name=BUILTIN_PLUGIN)
        dists = {id(plugin): dist for plugin, dist in manager.list_plugin_distinfo()}
        self._factories: dict[str, EngineFactory] = {}
        self._info: dict[str, EngineInfo] = {}
        for impl in manager.hook.infolinia_register_engines.get_hookimpls():
            dist: Any = dists.get(id(impl.plugin))
            package = dist.project_name if dist else "infolinia"
            version = dist.version if dist else metadata.version("infolinia")
            for factory in cast(list[EngineFactory], impl.function()):
                if factory.name in self._factories:
                    raise EngineSetupError(
                        "name",
                        f"two plugins register the engine {factory.name!r}: "
                        f"{self._info[factory.name].plugin} and {impl.plugin_name}",
                    )
                self._factories[factory.name] = factory
                self._info[factory.name] = EngineInfo(
                    factory.name, factory.description, impl.plugin_name, package, version
                )

    def names(self) -> list[str]:
        return sorted(self._factories)

    def describe(self) -> list[EngineInfo]:
        return [self._info[name] for name in self.names()]

    def create(self, name: str, settings: Mapping[str, Any]) -> TtsEngine:
        """Validate ``settings`` with the engine's own schema and build it."""
        factory = self._factories.get(name)
        if factory is None:
            raise EngineSetupError(
                "name", f"no TTS engine named {name!r} (installed: {', '.join(self.names())})"
            )
        try:
            validated = factory.settings(**settings)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise EngineSetupError(f"settings.{where}", first["msg"]) from None
        try:
            return factory.create(validated)
        except (SynthesisError, ValueError, OSError) as exc:  # e.g. espeak-ng not installed
            raise EngineSetupError("name", str(exc)) from None
