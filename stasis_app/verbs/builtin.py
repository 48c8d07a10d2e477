"""The verbs that ship with infolinia, registered through the same hook as
any plugin's verbs (the plugin ``infolinia-builtin-verbs``)."""

from typing import Any

from plugin.marker import hookimpl
from stasis_app.verbs.base import Verb
from stasis_app.verbs.registry import BUILTIN_VERBS


@hookimpl
def infolinia_register_verbs() -> list[type[Verb[Any]]]:
    return list(BUILTIN_VERBS)
