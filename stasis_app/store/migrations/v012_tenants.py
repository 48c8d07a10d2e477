"""Banks added on the admin page (issue 20, :mod:`stasis_app.tenancy.stored`):
``tenants`` holds one row per bank a deployment admin added (or changed)
on the page: its id, its config as JSON (the same shape as a bank's entry
under ``tenants:`` in the config file, which stays the seed), a revision
(the store's change counter when the row was last written: every node
looks at the revisions each second and takes a new or changed bank),
who added it and when, who changed it last and when.

New table: no rows to convert (the banks of the config file stay there).
"""

from stasis_app.store.schema import Schema

SQL = """
CREATE TABLE tenants (
    id TEXT NOT NULL PRIMARY KEY, spec TEXT NOT NULL, revision INTEGER NOT NULL,
    created_by TEXT NOT NULL, created_at TEXT NOT NULL,
    changed_by TEXT NOT NULL, changed_at TEXT NOT NULL);
"""


def in_effect(schema: Schema) -> bool:
    return False  # new with this release: no store from before versions has it
