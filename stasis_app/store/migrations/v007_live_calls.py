"""Calls in progress on every node (issue 19): each node's app writes its own
calls here every few seconds (``seen``: when, Unix time) and reads the other
nodes', so the admin page's live view shows the calls of the whole cluster.
Only what the live page shows: tenant, state in the flow, since when; no
caller number, no customer. A node that stopped writing drops out of the
view after a few seconds; its rows are replaced at its next start.
"""

from stasis_app.store.schema import Schema

SQL = """
CREATE TABLE live_calls (
    node TEXT NOT NULL, channel_id TEXT NOT NULL, tenant TEXT NOT NULL, state TEXT NOT NULL,
    started REAL NOT NULL, seen REAL NOT NULL, PRIMARY KEY (node, channel_id));
"""

POSTGRESQL = """
CREATE TABLE live_calls (
    node TEXT NOT NULL, channel_id TEXT NOT NULL, tenant TEXT NOT NULL, state TEXT NOT NULL,
    started DOUBLE PRECISION NOT NULL, seen DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (node, channel_id));
"""


def in_effect(schema: Schema) -> bool:
    return False  # new with this release: no store from before versions has it
