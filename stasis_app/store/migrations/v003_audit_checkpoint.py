"""The audit trail's checkpoint (commit 96c8cdb): the last entry a verify
found whole, signed with the audit key, so the next verify starts there
instead of at the first entry. One row at most; none until the first verify.
"""

from stasis_app.store.schema import Schema

SQL = """
CREATE TABLE audit_checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL,
    unkeyed INTEGER NOT NULL, verified_at TEXT NOT NULL, full_at TEXT NOT NULL, mac TEXT NOT NULL);
"""

POSTGRESQL = """
CREATE TABLE audit_checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL,
    unkeyed BIGINT NOT NULL, verified_at TEXT NOT NULL, full_at TEXT NOT NULL, mac TEXT NOT NULL);
"""


def in_effect(schema: Schema) -> bool:
    return schema.has("audit_checkpoint")
