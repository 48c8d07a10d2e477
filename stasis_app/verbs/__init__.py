"""The verbs a flow's states use: one module each, a params model and a
subclass of :class:`stasis_app.verbs.base.Verb` that carries its own rules
(``base`` also holds what verbs share: ``say``, ``ask``, ``wait_for_bank``).
The built-in verbs are listed in :data:`stasis_app.verbs.builtin.BUILTIN_VERBS`
and registered by ``builtin`` through the plugin hook, as a vendor's are;
``registry`` holds the :class:`~stasis_app.verbs.registry.VerbRegistry`.

What it may import: ``flow`` and ``queue`` (its own layer, one way:
``verbs`` -> ``queue`` -> ``flow``, ``verbs`` -> ``flow``; nothing there
imports ``verbs`` at run time), safeguards, telephony (a verb sees the call
as a ``CallPort``, never the gateway), and the layers below (``adapters``,
``voice``, ``plugin``, the foundation).
"""
