"""The verbs a flow's states use: one module each, behind :class:`verbs.base.Verb`."""
