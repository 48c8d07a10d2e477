"""Developer tools, never imported by the running line: the Asterisk sandbox
(``sandbox``, a Debian unstable root with Asterisk 22), the call simulator
(``simulator``: real calls through Asterisk, with a transcript) and the apt
mirror lookup the sandbox uses (``apt_sources``). The ``infolinia sandbox``
and ``infolinia call`` commands load them when they run.
"""
