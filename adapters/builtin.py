"""The adapters that ship with infolinia, registered through the same hook
as any vendor's plugin."""

from adapters.demo import OFFERS, DemoBank, DemoSettings
from adapters.hookspecs import AdapterFactory, hookimpl
from adapters.sms import SmsSenderFactory
from adapters.sms_outbox import OutboxSender, OutboxSettings
from adapters.webservice import WebserviceBank, WebserviceSettings


@hookimpl
def infolinia_register_adapters() -> list[AdapterFactory]:
    return [
        AdapterFactory(
            name="demo",
            settings=DemoSettings,
            create=DemoBank,
            description="sandbox bank in SQLite with seeded demo customers",
            offers=OFFERS,
        ),
        AdapterFactory(
            name="webservice",
            settings=WebserviceSettings,
            create=WebserviceBank,
            description="the bank's core system over signed JSON/HTTPS (openapi.yaml)",
            offers=WebserviceSettings.offers,
        ),
    ]


@hookimpl
def infolinia_register_sms_senders() -> list[SmsSenderFactory]:
    return [
        SmsSenderFactory(
            name="demo-outbox",
            settings=OutboxSettings,
            create=OutboxSender,
            description="writes each SMS to an outbox file (0600) instead of a phone",
        )
    ]
