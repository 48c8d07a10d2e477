"""The pluggy hooks a plugin implements to give infolinia an adapter.

A vendor's package declares an entry point in the group ``infolinia.adapters``
pointing at a module (or object) with::

    from adapters.hookspecs import AdapterFactory, hookimpl

    @hookimpl
    def infolinia_register_adapters() -> list[AdapterFactory]:
        return [AdapterFactory(name="mybank", settings=MySettings, create=MyAdapter)]

Hooks register things; operations are called on the adapter objects, which
are async (pluggy has no async support, so hooks stay synchronous).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pluggy
from pydantic import BaseModel

from adapters.spec import CoreBanking

PROJECT = "infolinia"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class AdapterFactory:
    """How to build one kind of adapter from a tenant's settings."""

    name: str  # what a tenant writes in its config, e.g. "demo"
    settings: type[BaseModel]  # validates the tenant's adapter settings
    create: Callable[[Any], CoreBanking]  # called with a validated ``settings`` instance
    description: str = ""


class AdapterHooks:
    """Hook specifications (the ``infolinia`` project)."""

    @hookspec
    def infolinia_register_adapters(self) -> list[AdapterFactory]:  # type: ignore[empty-body]
        """Return the adapter factories this plugin provides (names must be unique)."""
