"""Calls in progress on every node (issue 19): each node's app writes what
changed in its calls here every few seconds, and its heartbeat in
``live_nodes`` (``seen``: when, Unix time), and reads the other nodes', so
the admin page's live view shows the calls of the whole cluster. Only what
the live page shows: tenant, state in the flow, since when; no caller
number, no customer. A node whose heartbeat stopped drops out of the view
after a few seconds; its rows are replaced at its next start.
"""

from stasis_app.store.schema import Schema

SQL = """
CREATE TABLE live_calls (
    node TEXT NOT NULL, channel_id TEXT NOT NULL, tenant TEXT NOT NULL, state TEXT NOT NULL,
    started REAL NOT NULL, PRIMARY KEY (node, channel_id));
CREATE TABLE live_nodes (node TEXT NOT NULL PRIMARY KEY, seen REAL NOT NULL);
"""

POSTGRESQL = """
CREATE TABLE live_calls (
    node TEXT NOT NULL, channel_id TEXT NOT NULL, tenant TEXT NOT NULL, state TEXT NOT NULL,
    started DOUBLE PRECISION NOT NULL, PRIMARY KEY (node, channel_id));
CREATE TABLE live_nodes (node TEXT NOT NULL PRIMARY KEY, seen DOUBLE PRECISION NOT NULL);
"""


def in_effect(schema: Schema) -> bool:
    return False  # new with this release: no store from before versions has it
