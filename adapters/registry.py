"""Finding adapters: the registry of the ``infolinia_register_adapters`` hook.

The plugin manager (loading order, ``$INFOLINIA_PLUGINS``,
``$INFOLINIA_DISABLE_PLUGINS``, ``check_pending``) is
:func:`plugin.manager.get_plugin_manager`; the built-in adapters
(:mod:`adapters.builtin`) are the plugin ``infolinia-builtin``.
"""

from collections.abc import Mapping
from typing import Any, ClassVar

import pluggy
from pydantic import ValidationError

from adapters.spec import CoreBanking, OptionalOperation
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

    def offers(self, name: str, settings: Mapping[str, Any]) -> frozenset[OptionalOperation]:
        """The optional operations the adapter ``name`` offers with ``settings``
        (its factory's ``offers``; none if it says nothing). An unknown
        operation name is a setup error naming it."""
        factory = self.require(name)
        declared: Any = getattr(factory, "offers", frozenset())
        if callable(declared):
            try:
                validated = factory.settings(**settings)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(part) for part in first["loc"])
                raise self.error(f"{self.settings_field}.{where}", first["msg"]) from None
            declared = declared(validated)
        known = {operation.value for operation in OptionalOperation}
        names = [str(item) for item in declared]
        unknown = sorted(set(names) - known)
        if unknown:
            raise self.error(
                self.name_field,
                f"the adapter {name!r} offers {unknown[0]!r}, which is no optional "
                f"operation (known: {', '.join(sorted(known))})",
            )
        return frozenset(OptionalOperation(item) for item in names)
