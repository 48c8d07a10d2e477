"""A plugin with a misspelled hook (``adapter`` for ``adapters``): infolinia
must refuse it at start-up instead of quietly finding no adapter."""

from typing import Any

from adapters.hookspecs import hookimpl


@hookimpl
def infolinia_register_adapter() -> list[Any]:
    return []
