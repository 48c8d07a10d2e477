"""The bank staff's side: prompt administration (``prompts``), the admin
HTTP API (``api``, with the queues' routes in ``queue_api``) and the admin
web pages (``web``).

It may import everything below it (store, safeguards, telephony's live
calls, the queue's status); nothing in the call path imports it, except the
app that serves it.
"""
