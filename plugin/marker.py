"""The pluggy markers of the ``infolinia`` project.

A plugin decorates its hook implementations with :data:`hookimpl`; the specs
in :mod:`plugin.spec` use :data:`hookspec`.
"""

import pluggy

PROJECT = "infolinia"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
