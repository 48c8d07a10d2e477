"""The verbs that ship with infolinia, registered through the same hook as
any plugin's verbs (the plugin ``infolinia-builtin-verbs``). A new built-in
verb is a module in this package and a name in :data:`BUILTIN_VERBS`."""

from typing import Any

from plugin.marker import hookimpl
from stasis_app.verbs.base import Verb
from stasis_app.verbs.block_request import BlockRequest
from stasis_app.verbs.change_telekod import ChangeTelekodVerb
from stasis_app.verbs.choose import Choose
from stasis_app.verbs.confirm import Confirm
from stasis_app.verbs.gather import Gather
from stasis_app.verbs.goto import Goto
from stasis_app.verbs.hangup import Hangup
from stasis_app.verbs.language import Language
from stasis_app.verbs.login import Authenticate, Identify
from stasis_app.verbs.menu import Menu
from stasis_app.verbs.operation import OperationVerb
from stasis_app.verbs.payment import ExecuteTransferVerb, ListTransfers, SendCode
from stasis_app.verbs.route import Route
from stasis_app.verbs.say import Say
from stasis_app.verbs.transfer import Transfer
from stasis_app.verbs.webhook import Webhook

BUILTIN_VERBS: tuple[type[Verb[Any]], ...] = (
    Say, Menu, Gather, Confirm, Choose, Identify, Authenticate, OperationVerb,
    Transfer, Goto, Hangup, Webhook, BlockRequest, Language, Route,
    ChangeTelekodVerb, ListTransfers, SendCode, ExecuteTransferVerb,
)  # fmt: skip


@hookimpl
def infolinia_register_verbs() -> list[type[Verb[Any]]]:
    return list(BUILTIN_VERBS)
