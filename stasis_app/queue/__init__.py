"""The consultant queue, served in Stasis (ARI has no queue of its own).

A caller the flow transfers waits in a holding bridge with music on hold and
hears, every ``announce_every`` seconds, their place and an estimated wait in
Polish; agents are rung one at a time when free; the answering agent hears a
short whisper, then caller and agent share a mixing bridge. Modules:

* :mod:`.estimate`: the estimated wait, from position, agents and handle times;
* :mod:`.speech`: the announcement as prompt keys and word fragments;
* :mod:`.agents`: the agents of a queue, who is free, who rings next;
* :mod:`.queue`: one queue: waiting callers, the dispatcher, ringing agents;
* :mod:`.caller`: the caller's side: waiting, callback requests, the conversation;
* :mod:`.callbacks`: callback requests, kept in the state store;
* :mod:`.supervisor`: a supervisor listening, whispering or barging in;
* :mod:`.manager`: every queue of the deployment, for the verb, API and CLI;
* :mod:`.metrics`: the queue's figures on ``/metrics``.

Its routes on the admin HTTP API are :mod:`stasis_app.admin.queue_api`.

What it may import: ``flow`` (its own layer; ``verbs`` imports the queue,
never the reverse), safeguards, telephony (the gateway as the
``QueueGateway`` Protocol, a caller's call as a ``CallPort``), the store and
the layers below (the foundation, ``voice``, ``adapters``, ``plugin``);
never ``verbs``, the wiring, admin or the app.
"""
