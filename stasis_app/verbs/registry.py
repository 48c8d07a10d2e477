"""Verb names to verb objects: what the plugins register through the
``infolinia_register_verbs`` hook, the built-ins among them
(:mod:`stasis_app.verbs.builtin`)."""

from typing import Any

import pluggy

from plugin.hooks import Plugins, Registered
from plugin.registry import Registry, SetupError
from stasis_app.verbs.base import Verb
from stasis_app.verbs.builtin import BUILTIN_VERBS

BUILTIN_PLUGIN = "infolinia-builtin-verbs"


class VerbSetupError(SetupError, ValueError):
    """Two plugins register verbs of one name."""


class VerbRegistry(Registry[type[Verb[Any]]]):
    """Every verb a flow may use, by name: with a plugin manager, the verbs of
    its plugins; without one, the built-ins only."""

    noun = "verb"
    error = VerbSetupError

    def __init__(self, manager: pluggy.PluginManager | None = None) -> None:
        if manager is None:
            found = [Registered(list(BUILTIN_VERBS), BUILTIN_PLUGIN, "infolinia", "")]
        else:
            found = Plugins(manager).verbs()
        super().__init__(found)
        self._verbs = {name: cls() for name, cls in self._items.items()}

    def name_of(self, item: type[Verb[Any]]) -> str:
        return item.name

    def description_of(self, item: type[Verb[Any]]) -> str:
        return (item.__doc__ or "").strip().partition("\n")[0]

    def get(self, name: str) -> Verb[Any] | None:
        """The verb object (one serves every call) named ``name``."""
        return self._verbs.get(name)
