"""A typed facade over the hooks: core code asks :class:`Plugins`, never
``manager.hook``.

Each method calls one hook of every plugin in turn and keeps, with what the
plugin registered, which plugin it was and which installed package (and
version) it came from, for ``infolinia adapters list`` and for errors that
name the plugins at odds.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pluggy

if TYPE_CHECKING:
    from adapters.sms import SmsSender
    from adapters.spec import CoreBanking
    from plugin.registry import Factory
    from stasis_app.verbs.base import Verb
    from voice.engine import TtsEngine

T = TypeVar("T")
APP_PACKAGE = "infolinia"


@dataclass(frozen=True)
class Registered(Generic[T]):
    """What one plugin returned from one hook, and where the plugin comes from."""

    items: list[T]
    plugin: str  # the plugin's name: its entry point's, its module's, "infolinia-builtin"...
    package: str  # the installed distribution, "infolinia" for the built-ins and test modules
    version: str


class Plugins:
    """The loaded plugins of one manager (:func:`plugin.manager.get_plugin_manager`)."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self.manager = manager

    def adapters(self) -> list[Registered[Factory[CoreBanking]]]:
        """``infolinia_register_adapters`` of every plugin."""
        return self._call("infolinia_register_adapters")

    def engines(self) -> list[Registered[Factory[TtsEngine]]]:
        """``infolinia_register_engines`` of every plugin."""
        return self._call("infolinia_register_engines")

    def verbs(self) -> list[Registered[type[Verb[Any]]]]:
        """``infolinia_register_verbs`` of every plugin."""
        return self._call("infolinia_register_verbs")

    def sms_senders(self) -> list[Registered[Factory[SmsSender]]]:
        """``infolinia_register_sms_senders`` of every plugin."""
        return self._call("infolinia_register_sms_senders")

    def _call(self, hook: str) -> list[Registered[Any]]:
        dists = {id(plugin): dist for plugin, dist in self.manager.list_plugin_distinfo()}
        found: list[Registered[Any]] = []
        # One implementation at a time (not the hook's call) to know whose each item is.
        for impl in getattr(self.manager.hook, hook).get_hookimpls():
            dist: Any = dists.get(id(impl.plugin))
            package = dist.project_name if dist else APP_PACKAGE
            version = dist.version if dist else metadata.version(APP_PACKAGE)
            found.append(Registered(list(impl.function()), impl.plugin_name, package, version))
        return found
