"""The block journal's claims (issue 19): a worker claims a pending block
(``claimed_by``, until ``claimed_until``, a Unix time) before it asks the
bank, so that when several nodes share the store one worker, and only one,
delivers each pending block. A claim whose worker died lapses at
``claimed_until`` and another worker delivers the block (with the same
operation id: the bank's adapter is idempotent on it).

The blocks already in the journal are unclaimed (``''``, 0): the first
worker to look claims them.
"""

from stasis_app.store.schema import Schema

SQL = """
ALTER TABLE journal ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE journal ADD COLUMN claimed_until REAL NOT NULL DEFAULT 0;
"""

POSTGRESQL = """
ALTER TABLE journal ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE journal ADD COLUMN claimed_until DOUBLE PRECISION NOT NULL DEFAULT 0;
"""


def in_effect(schema: Schema) -> bool:
    return False  # new with this release: no store from before versions has it
