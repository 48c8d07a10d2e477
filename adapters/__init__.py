"""Core-banking adapters: the plugin contract that vendors implement.

Empty in the foundation: the contract (``spec.py``), the pluggy plugin
manager and the built-in adapters arrive with the adapters issue. The package
exists now because the installable layout is fixed by the design card.
"""
