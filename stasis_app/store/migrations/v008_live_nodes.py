"""The live page's board writes only what changed (issue 19): a node's
heartbeat moves from every row of ``live_calls`` (``seen``) to one row of
its own in ``live_nodes``, so that a node whose calls did not change writes
one row every few seconds instead of all of its calls.

``live_calls`` holds only calls in progress, rewritten by every node within
seconds: it is made again empty, not converted.
"""

from stasis_app.store.schema import Schema

SQL = """
DROP TABLE live_calls;
CREATE TABLE live_calls (
    node TEXT NOT NULL, channel_id TEXT NOT NULL, tenant TEXT NOT NULL, state TEXT NOT NULL,
    started REAL NOT NULL, PRIMARY KEY (node, channel_id));
CREATE TABLE live_nodes (node TEXT NOT NULL PRIMARY KEY, seen REAL NOT NULL);
"""

POSTGRESQL = """
DROP TABLE live_calls;
CREATE TABLE live_calls (
    node TEXT NOT NULL, channel_id TEXT NOT NULL, tenant TEXT NOT NULL, state TEXT NOT NULL,
    started DOUBLE PRECISION NOT NULL, PRIMARY KEY (node, channel_id));
CREATE TABLE live_nodes (node TEXT NOT NULL PRIMARY KEY, seen DOUBLE PRECISION NOT NULL);
"""


def in_effect(schema: Schema) -> bool:
    return False  # new with this release: no store from before versions has it
