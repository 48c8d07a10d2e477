"""What a vendor imports to give infolinia an adapter.

A vendor's package declares an entry point in the group ``infolinia.adapters``
pointing at a module (or object) with::

    from adapters.hookspecs import AdapterFactory, hookimpl

    @hookimpl
    def infolinia_register_adapters() -> list[AdapterFactory]:
        return [AdapterFactory(name="mybank", settings=MySettings, create=MyAdapter)]

The hook itself, like every hook, is specified in :mod:`plugin.spec`; the
markers live in :mod:`plugin.marker` and are re-exported here, where vendors'
plugins have always imported them from.
"""

from adapters.spec import CoreBanking
from plugin.marker import PROJECT, hookimpl, hookspec
from plugin.registry import Factory

__all__ = ["PROJECT", "AdapterFactory", "hookimpl", "hookspec"]


class AdapterFactory(Factory[CoreBanking]):
    """How to build one kind of adapter from a tenant's settings: ``name`` is
    what a tenant writes in ``adapter.name``, ``settings`` the pydantic model
    that validates its ``adapter.settings``, ``create`` is called with them."""
