"""Telephony: how the app talks to Asterisk.

The ARI gateway (``gateway``: the only module that uses aioari), its HTTP and
websocket client (``ari_http``), the ``Call`` a flow drives (``call``) and the
calls in progress (``live_calls``). Transport only: it may import
``stasis_app.errors``, ``config`` and ``logs``, never flows, verbs, safeguards
or the admin side.
"""
