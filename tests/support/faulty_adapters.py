"""Adapter test doubles, loaded into the app with INFOLINIA_PLUGINS: one bank
core that never answers, one that crashes. Everything else is the demo bank."""

import asyncio
from typing import Any

from adapters.demo import DemoBank, DemoSettings
from adapters.hookspecs import AdapterFactory, hookimpl
from adapters.spec import Customer


class HangingBank(DemoBank):
    async def authenticate(self, customer_number: str, pin: str) -> Customer:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


class CrashingBank(DemoBank):
    async def authenticate(self, customer_number: str, pin: str) -> Customer:
        raise RuntimeError(f"core system exploded while checking {pin}")


@hookimpl
def infolinia_register_adapters() -> list[AdapterFactory]:
    def factory(cls: Any) -> Any:
        return lambda settings: cls(settings)

    return [
        AdapterFactory("hanging", DemoSettings, factory(HangingBank), "never answers"),
        AdapterFactory("crashing", DemoSettings, factory(CrashingBank), "raises"),
    ]
