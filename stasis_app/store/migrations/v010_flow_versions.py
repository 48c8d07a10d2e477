"""A bank's call flow as versions (issue 20, :mod:`stasis_app.flow.versions`):
``flow_versions`` holds one row per version of a bank's flow, numbered 1, 2,
3, ... per bank: its YAML text as written, its hash (the same 12 hex digits
call records carry as ``flow_version``), who made it and when, a comment,
where it came from (``file:<path>``, ``import``, ``editor``, ``revert:<n>``),
the version it was based on (0: none), its state (``draft``, ``published``,
``retired``), who published it and when, and the first problem the flow
checker found when it was saved ('' when none).

At most one version of a bank is ``published`` (the live one): a unique
partial index says so, and is what every node reads each second to notice a
publish made elsewhere. New table: no rows to convert (a bank's flow file
becomes its version 1 at the app's next start).
"""

from stasis_app.store.schema import Schema

SQL = """
CREATE TABLE flow_versions (
    tenant TEXT NOT NULL, number INTEGER NOT NULL, text TEXT NOT NULL, hash TEXT NOT NULL,
    author TEXT NOT NULL, at TEXT NOT NULL, comment TEXT NOT NULL, origin TEXT NOT NULL,
    based_on INTEGER NOT NULL, state TEXT NOT NULL, published_by TEXT NOT NULL,
    published_at TEXT NOT NULL, problem TEXT NOT NULL,
    PRIMARY KEY (tenant, number));
CREATE UNIQUE INDEX flow_versions_live ON flow_versions (tenant) WHERE state = 'published';
"""


def in_effect(schema: Schema) -> bool:
    return False  # new with this release: no store from before versions has it
