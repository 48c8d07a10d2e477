"""Finding adapters: the registry of the ``infolinia_register_adapters`` hook.

The plugin manager (loading order, ``$INFOLINIA_PLUGINS``,
``$INFOLINIA_DISABLE_PLUGINS``, ``check_pending``) is
:func:`plugin.manager.get_plugin_manager`; the built-in adapters
(:mod:`adapters.builtin`) are the plugin ``infolinia-builtin``.
"""

from typing import ClassVar

import pluggy

from adapters.spec import CoreBanking
from plugin.hooks import Plugins
from plugin.manager import get_plugin_manager
from plugin.registry import Described, FactoryRegistry, SetupError

__all__ = ["AdapterInfo", "AdapterRegistry", "AdapterSetupError"]

AdapterInfo = Described


class AdapterSetupError(SetupError):
    """An adapter cannot be set up: names the field at fault (``adapter``,
    ``adapter_settings.url``...)."""


class AdapterRegistry(FactoryRegistry[CoreBanking]):
    """Every adapter factory the loaded plugins provide, by name."""

    noun = "adapter"
    error: ClassVar[type[SetupError]] = AdapterSetupError
    name_field = "adapter"
    settings_field = "adapter_settings"
    create_field = "adapter_settings"

    def __init__(self, manager: pluggy.PluginManager | None = None) -> None:
        self.manager = manager or get_plugin_manager()
        super().__init__(Plugins(self.manager).adapters())
