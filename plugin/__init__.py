"""The plugin core: how infolinia finds the things plugins give it.

Everything pluggy-related lives here, in five small modules (after tox's
``src/tox/plugin/``): :mod:`plugin.marker` (the ``hookimpl`` a plugin
decorates with), :mod:`plugin.spec` (every hook, one short file),
:mod:`plugin.manager` (loading plugins, then ``check_pending()``),
:mod:`plugin.hooks` (:class:`plugin.hooks.Plugins`, the typed facade over the
hooks, so core code never calls ``manager.hook``) and :mod:`plugin.registry`
(one registry of named things, used for adapters, TTS engines and verbs).

It is the lowest layer of the app: it imports pluggy and pydantic only.
``stasis_app``, ``voice`` and ``adapters`` import it; it imports none of them
(hook signatures name their types under ``TYPE_CHECKING``, and the built-in
plugins are named as module paths, imported like any ``$INFOLINIA_PLUGINS``
module). A vendor needs only :data:`plugin.marker.hookimpl` (also importable
as ``adapters.hookspecs.hookimpl``) and the factory of what it registers.
"""
