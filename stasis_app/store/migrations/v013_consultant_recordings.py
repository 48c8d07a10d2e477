"""Issue 21's consultant recordings: ``consultant_recordings`` lists each
recording of a consultant call a bank has kept (the file lives in the
bank's ``recordings.folder``, the row says where, when it started and how
long it is), so the admin page lists them and the retention job deletes
each once. New table: no rows to carry over.
"""

from stasis_app.store.schema import Schema

SQL = """
CREATE TABLE consultant_recordings (
    tenant TEXT NOT NULL, name TEXT NOT NULL, call_id TEXT NOT NULL, queue TEXT NOT NULL,
    agent TEXT NOT NULL, started REAL NOT NULL, seconds REAL NOT NULL, bytes INTEGER NOT NULL,
    path TEXT NOT NULL, PRIMARY KEY (tenant, name));
CREATE INDEX consultant_recordings_started ON consultant_recordings (tenant, started);
"""

POSTGRESQL = """
CREATE TABLE consultant_recordings (
    tenant TEXT NOT NULL, name TEXT NOT NULL, call_id TEXT NOT NULL, queue TEXT NOT NULL,
    agent TEXT NOT NULL, started DOUBLE PRECISION NOT NULL, seconds DOUBLE PRECISION NOT NULL,
    bytes BIGINT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (tenant, name));
CREATE INDEX consultant_recordings_started ON consultant_recordings (tenant, started);
"""


def in_effect(schema: Schema) -> bool:
    return False  # new with this release: no store from before versions has it
