"""Verb names to verb objects: the built-ins, plus what plugins register
through the ``infolinia_register_verbs`` hook."""

import pluggy

from adapters.hookspecs import hookspec
from stasis_app.verbs.base import Verb
from stasis_app.verbs.block_request import BlockRequest
from stasis_app.verbs.choose import Choose
from stasis_app.verbs.confirm import Confirm
from stasis_app.verbs.gather import Gather
from stasis_app.verbs.goto import Goto
from stasis_app.verbs.hangup import Hangup
from stasis_app.verbs.login import Authenticate, Identify
from stasis_app.verbs.menu import Menu
from stasis_app.verbs.operation import OperationVerb
from stasis_app.verbs.say import Say
from stasis_app.verbs.transfer import Transfer
from stasis_app.verbs.webhook import Webhook

BUILTIN_VERBS: tuple[type[Verb], ...] = (
    Say, Menu, Gather, Confirm, Choose, Identify, Authenticate, OperationVerb,
    Transfer, Goto, Hangup, Webhook, BlockRequest,
)  # fmt: skip


class VerbHooks:
    """Hook specifications for verbs (the ``infolinia`` project)."""

    @hookspec
    def infolinia_register_verbs(self) -> list[type[Verb]]:  # type: ignore[empty-body]
        """Return verb classes this plugin adds (names must not clash)."""


class VerbRegistry:
    """Every verb a flow may use, by name."""

    def __init__(self, manager: pluggy.PluginManager | None = None) -> None:
        classes = list(BUILTIN_VERBS)
        if manager is not None and hasattr(manager.hook, "infolinia_register_verbs"):
            for added in manager.hook.infolinia_register_verbs():
                classes += added
        self._verbs: dict[str, Verb] = {}
        for cls in classes:
            if cls.name in self._verbs:
                raise ValueError(f"two verbs are named {cls.name!r}")
            self._verbs[cls.name] = cls()

    def get(self, name: str) -> Verb | None:
        return self._verbs.get(name)

    def names(self) -> list[str]:
        return sorted(self._verbs)
