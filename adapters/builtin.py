"""The adapters that ship with infolinia, registered through the same hook
as any vendor's plugin."""

from adapters.demo import OFFERS, DemoBank, DemoSettings
from adapters.hookspecs import AdapterFactory, hookimpl
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
        ),
    ]
