"""Telephony: how the app talks to Asterisk.

* ``gateway``: the ARI gateway (reconnects, heartbeats, an inbox per call);
* ``ari_http``: its HTTP and websocket client (requests over the events
  websocket, a bounded connection pool);
* ``call``: the ``Call`` a flow drives (say, read keys, wait, hang up);
* ``ports``: the Protocols the rest of the app is typed against: ``CallPort``
  (a call, for flows, verbs and the queue), ``CallGateway`` and
  ``QueueGateway`` (the gateway, for ``Call`` and the queue);
* ``live_calls``: the calls in progress for the admin page's live view, and
  the ``CallsBoard`` that shares them with the other nodes through the store;
* ``presence``: the app's SIP registration at the cluster's Kamailio, held
  while it takes calls.

What it may import (``devtools/architecture.py``): the layers below it: the
store (``live_calls``), the foundation (``stasis_app.errors``, ``config``,
``logs``, ``tenants``), ``voice`` (``call`` plays prompts and live speech),
``adapters`` and ``plugin``; never flows, verbs, the queue, safeguards or
the admin side. Only ``gateway`` and ``ari_http`` may import aioari (and
aioswagger11): ``ARI_USERS``.
"""
