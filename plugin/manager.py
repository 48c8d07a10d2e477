"""The plugin manager: every hook spec, every plugin, checked at start-up.

Loading order (after pluggy's eggsample): every spec of :mod:`plugin.spec`;
the block-list from ``$INFOLINIA_DISABLE_PLUGINS`` (comma separated plugin
names); plugins from the entry-point group :data:`ENTRY_POINT_GROUP`; modules
named in ``$INFOLINIA_PLUGINS`` (comma separated, importable: a vendor trying
a plugin, test doubles); then the built-in plugins, registered the same way
(by module name, under a name the block-list can name). Last,
``check_pending()``: a plugin implementing a hook that does not exist (a
misspelling) fails here, at start-up, naming the plugin and the hook.

One entry-point group for every plugin, whatever it registers: a plugin is
one module that may implement several hooks (an adapter, its voice, a verb),
and pluggy registers a module once. The group keeps its first name,
``infolinia.adapters``, which vendors' packages already declare.
"""

import importlib
import os
from collections.abc import Iterator, Mapping

import pluggy

from plugin import spec
from plugin.marker import PROJECT

ENTRY_POINT_GROUP = "infolinia.adapters"

# The plugins that ship with infolinia: name (for $INFOLINIA_DISABLE_PLUGINS)
# -> module. Module paths, not imports: this package sits below them.
BUILTIN_PLUGINS = {
    "infolinia-builtin": "adapters.builtin",
    "infolinia-builtin-engines": "voice.builtin",
    "infolinia-builtin-verbs": "stasis_app.verbs.builtin",
}


class UnknownHookError(pluggy.PluginValidationError):
    """A plugin implements a hook that is not in :mod:`plugin.spec`."""


def _names(value: str) -> Iterator[str]:
    return filter(None, (name.strip() for name in value.split(",")))


def _register(manager: pluggy.PluginManager, module_name: str, name: str) -> None:
    module = importlib.import_module(module_name)
    if not manager.is_registered(module):
        manager.register(module, name=name)


def known_hooks() -> list[str]:
    """The name of every hook a plugin may implement."""
    return sorted(name for name in vars(spec) if name.startswith(f"{PROJECT}_"))


def get_plugin_manager(env: Mapping[str, str] | None = None) -> pluggy.PluginManager:
    """A plugin manager with every spec, every plugin loaded, and no unknown hook.

    ``env`` defaults to ``os.environ`` (``$INFOLINIA_PLUGINS``,
    ``$INFOLINIA_DISABLE_PLUGINS``).
    """
    env = os.environ if env is None else env
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(spec)
    for name in _names(env.get("INFOLINIA_DISABLE_PLUGINS", "")):
        manager.set_blocked(name)
    manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for module in _names(env.get("INFOLINIA_PLUGINS", "")):
        _register(manager, module, module)
    for name, module in BUILTIN_PLUGINS.items():
        if not manager.is_blocked(name):
            _register(manager, module, name)
    check_hooks(manager)
    return manager


def check_hooks(manager: pluggy.PluginManager) -> None:
    """``check_pending()``, with an error that names the plugin, the unknown
    hook and the hooks there are."""
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        unknown = next(
            name
            for name, caller in vars(manager.hook).items()
            if isinstance(caller, pluggy.HookCaller)
            and not caller.has_spec()
            and any(impl.plugin is exc.plugin for impl in caller.get_hookimpls())
        )
        raise UnknownHookError(
            exc.plugin,
            f"plugin {manager.get_name(exc.plugin)!r} implements {unknown!r}, which is no "
            f"infolinia hook (misspelled?); the hooks are: {', '.join(known_hooks())}",
        ) from None
