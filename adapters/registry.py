"""Finding adapters: the pluggy plugin manager and a typed facade over it.

Loading order: the block-list from ``$INFOLINIA_DISABLE_PLUGINS`` (comma
separated plugin names), then plugins from the ``infolinia.adapters`` entry
point group, then modules named in ``$INFOLINIA_PLUGINS`` (comma separated,
importable), then the built-in adapters (through the same hook), then
``check_pending()`` so a misspelled hook fails at start-up.
"""

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any, cast

import pluggy
from pydantic import ValidationError

from adapters import builtin
from adapters.hookspecs import PROJECT, AdapterFactory, AdapterHooks
from adapters.spec import CoreBanking

ENTRY_POINT_GROUP = "infolinia.adapters"
BUILTIN_PLUGIN = "infolinia-builtin"


class AdapterSetupError(Exception):
    """An adapter cannot be set up: names the settings field at fault."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


@dataclass(frozen=True)
class AdapterInfo:
    name: str
    description: str
    plugin: str
    package: str
    version: str


def plugin_manager(
    env: Mapping[str, str] | None = None, extra_specs: tuple[type, ...] = ()
) -> pluggy.PluginManager:
    """A plugin manager with every plugin loaded and checked.

    ``extra_specs`` adds the hook specifications of other parts of the app
    (the flow verbs), so that ``check_pending`` knows every hook.
    """
    env = os.environ if env is None else env
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(AdapterHooks)
    for specs in extra_specs:
        manager.add_hookspecs(specs)
    for name in filter(
        None, (n.strip() for n in env.get("INFOLINIA_DISABLE_PLUGINS", "").split(","))
    ):
        manager.set_blocked(name)
    manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    # Modules named in $INFOLINIA_PLUGINS load as plugins without packaging
    # (a vendor trying an adapter, test doubles).
    for module in filter(None, (m.strip() for m in env.get("INFOLINIA_PLUGINS", "").split(","))):
        if not manager.is_registered(importlib.import_module(module)):
            manager.register(importlib.import_module(module), name=module)
    if not manager.is_blocked(BUILTIN_PLUGIN):
        manager.register(builtin, name=BUILTIN_PLUGIN)
    manager.check_pending()
    return manager


class AdapterRegistry:
    """Every adapter factory the loaded plugins provide, by name."""

    def __init__(self, manager: pluggy.PluginManager | None = None) -> None:
        self.manager = manager or plugin_manager()
        dists = {id(plugin): dist for plugin, dist in self.manager.list_plugin_distinfo()}
        self._factories: dict[str, AdapterFactory] = {}
        self._info: dict[str, AdapterInfo] = {}
        for impl in self.manager.hook.infolinia_register_adapters.get_hookimpls():
            dist: Any = dists.get(id(impl.plugin))
            package = dist.project_name if dist else "infolinia"
            version = dist.version if dist else metadata.version("infolinia")
            factories = cast(list[AdapterFactory], impl.function())
            for factory in factories:
                if factory.name in self._factories:
                    raise AdapterSetupError(
                        "adapter",
                        f"two plugins register {factory.name!r}: "
                        f"{self._info[factory.name].plugin} and {impl.plugin_name}",
                    )
                self._factories[factory.name] = factory
                self._info[factory.name] = AdapterInfo(
                    factory.name, factory.description, impl.plugin_name, package, version
                )

    def names(self) -> list[str]:
        return sorted(self._factories)

    def describe(self) -> list[AdapterInfo]:
        return [self._info[name] for name in self.names()]

    def create(self, name: str, settings: Mapping[str, Any]) -> CoreBanking:
        """Validate ``settings`` with the adapter's own schema and build it."""
        factory = self._factories.get(name)
        if factory is None:
            raise AdapterSetupError(
                "adapter", f"no adapter named {name!r} (installed: {', '.join(self.names())})"
            )
        try:
            validated = factory.settings(**settings)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise AdapterSetupError(f"adapter_settings.{where}", first["msg"]) from None
        try:
            return factory.create(validated)
        except (ValueError, OSError) as exc:
            # e.g. a secret file that cannot be read: a set-up problem, said at start-up.
            raise AdapterSetupError("adapter_settings", str(exc)) from None
