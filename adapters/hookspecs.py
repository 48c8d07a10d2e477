"""What a vendor imports to give infolinia an adapter.

A vendor's package declares an entry point in the group ``infolinia.adapters``
pointing at a module (or object) with::

    from adapters.hookspecs import AdapterFactory, hookimpl

    @hookimpl
    def infolinia_register_adapters() -> list[AdapterFactory]:
        return [AdapterFactory(name="mybank", settings=MySettings, create=MyAdapter)]

An adapter that offers optional operations (:class:`adapters.spec.OptionalOperation`)
says which: ``AdapterFactory(..., offers={"exchange_rates"})``, or a function
of its validated settings when that depends on them (the webservice adapter:
what the bank's server implements). Without ``offers`` it offers none, as
every adapter written before they existed.

The hook itself, like every hook, is specified in :mod:`plugin.spec`; the
markers live in :mod:`plugin.marker` and are re-exported here, where vendors'
plugins have always imported them from.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic.config import JsonDict

from adapters.spec import CoreBanking
from plugin.marker import PROJECT, hookimpl, hookspec
from plugin.registry import Factory

__all__ = [
    "PROJECT",
    "SECRET_ENV",
    "SECRET_FILE",
    "AdapterFactory",
    "Offers",
    "hookimpl",
    "hookspec",
]

# The optional operations an adapter offers: their names, or a function of the
# adapter's validated settings that gives them.
Offers = Iterable[str] | Callable[[Any], Iterable[str]]


@dataclass(frozen=True)
class AdapterFactory(Factory[CoreBanking]):
    """How to build one kind of adapter from a tenant's settings: ``name`` is
    what a tenant writes in ``adapter.name``, ``settings`` the pydantic model
    that validates its ``adapter.settings``, ``create`` is called with them;
    ``offers`` names the optional operations its adapters implement
    (:class:`adapters.spec.OptionalOperation` values), or is a function of the
    validated settings that names them."""

    offers: Offers = frozenset()


# A settings field that holds where a secret is, never the secret itself:
# ``Field(..., json_schema_extra=SECRET_ENV)`` for the name of an environment
# variable, ``SECRET_FILE`` for a file's absolute path. The admin page's form
# for a new bank (stasis_app/tenancy/form.py) takes only such a reference in
# them; an adapter with a field that takes a secret as its value
# (``SecretStr``, or ``format: password`` in its schema) is not offered there.
SECRET_ENV: JsonDict = {"secret": "env"}
SECRET_FILE: JsonDict = {"secret": "file"}
