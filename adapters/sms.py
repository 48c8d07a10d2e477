"""The contract of an SMS sender: how a bank's SMS gateway sends one-time
codes to its customers' phones.

A sender is registered through the ``infolinia_register_sms_senders`` hook
(a :class:`SmsSenderFactory`, like an adapter's) and named by a bank in
``tenants.ID.sms.sender``; its settings are validated by its own pydantic
model. It is a hook of its own, not a method of the core-banking adapter:
banks send SMS through an operator's gateway that is not their core system
(one gateway for several systems), a vendor can ship one without the other,
and the demo and tests swap the gateway (an outbox file) while keeping the
demo core.

A message names the customer (the bank's customer number) and, when the core
gives it, the phone; a gateway that looks the phone up itself by customer
number may ignore ``phone``. The text carries a one-time code: a sender
never logs it, and raises :class:`~adapters.errors.Unavailable` when the
message could not be handed over.
"""

from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

import pluggy

from plugin.hooks import Plugins
from plugin.manager import get_plugin_manager
from plugin.registry import Factory, FactoryRegistry, SetupError


@dataclass(frozen=True)
class Sms:
    """One text message to a customer (``text`` carries a code: never logged)."""

    tenant: str
    customer: str  # the bank's customer number
    text: str = field(repr=False)
    phone: str | None = field(default=None, repr=False)  # as the core gave it, if it did


@runtime_checkable
class SmsSender(Protocol):
    """A bank's SMS gateway."""

    async def send(self, sms: Sms) -> None:
        """Hand ``sms`` to the gateway; ``Unavailable`` if it could not be."""
        ...

    async def close(self) -> None:
        """Release connections; called when the app stops."""
        ...


class SmsSenderFactory(Factory[SmsSender]):
    """How to build one kind of SMS sender from a bank's ``sms.settings``."""


class SmsSetupError(SetupError):
    """An SMS sender cannot be set up: names the field at fault."""


class SmsSenderRegistry(FactoryRegistry[SmsSender]):
    """Every SMS sender the loaded plugins provide, by name."""

    noun = "SMS sender"
    error: ClassVar[type[SetupError]] = SmsSetupError
    name_field = "sender"
    settings_field = "settings"
    create_field = "settings"

    def __init__(self, manager: pluggy.PluginManager | None = None) -> None:
        self.manager = manager or get_plugin_manager()
        super().__init__(Plugins(self.manager).sms_senders())
