"""Every hook a plugin may implement (the ``infolinia`` project).

Hooks register things; the things themselves are typed objects (adapters and
engines are async), so the hooks stay synchronous: pluggy has no async
support. Each hook is documented for vendors in ``docs/writing-an-adapter.md``
(a test keeps that true). A plugin implementing a hook not listed here fails
at start-up (:func:`plugin.manager.get_plugin_manager` calls ``check_pending``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plugin.marker import hookspec

if TYPE_CHECKING:
    from adapters.sms import SmsSender
    from adapters.spec import CoreBanking
    from plugin.registry import Factory
    from stasis_app.verbs.base import Verb
    from voice.engine import TtsEngine


@hookspec
def infolinia_register_adapters() -> list[Factory[CoreBanking]]:  # type: ignore[empty-body]
    """Return the core-banking adapter factories this plugin provides
    (``adapters.hookspecs.AdapterFactory``); a tenant names one in ``adapter.name``.
    Names must be unique across plugins."""


@hookspec
def infolinia_register_engines() -> list[Factory[TtsEngine]]:  # type: ignore[empty-body]
    """Return the TTS engine factories this plugin provides
    (``voice.hookspecs.EngineFactory``); a ``voice.engines`` chain names one.
    Names must be unique across plugins."""


@hookspec
def infolinia_register_verbs() -> list[type[Verb[Any]]]:  # type: ignore[empty-body]
    """Return the verb classes this plugin adds (subclasses of
    ``stasis_app.verbs.base.Verb``); a flow state names one in ``verb``.
    Names must not clash with the built-in verbs or another plugin's."""


@hookspec
def infolinia_register_sms_senders() -> list[Factory[SmsSender]]:  # type: ignore[empty-body]
    """Return the SMS sender factories this plugin provides
    (``adapters.sms.SmsSenderFactory``); a bank names one in ``sms.sender``
    to send one-time codes. Names must be unique across plugins."""
