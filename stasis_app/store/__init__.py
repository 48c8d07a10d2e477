"""The state that must survive a restart, and its schema's migrations.

What lives here: :mod:`~stasis_app.store.state` (the :class:`Store`, the
app's durable state behind one narrow interface, on one of two engines:
:mod:`~stasis_app.store.sqlite`, one file, the embedded default, and
:mod:`~stasis_app.store.postgres`, shared by several nodes;
:mod:`~stasis_app.store.sql` holds the :class:`Connection` both hand out and
says what SQL both run), :mod:`~stasis_app.store.migrate` (the runner that
brings a store's schema to the version this code knows, at every open),
:mod:`~stasis_app.store.schema` (what a store made before versions already
has, read to adopt it), :mod:`~stasis_app.store.migrations` (the ordered
migrations themselves: every table, index and column of the store is made
by one of them, and by nothing else but the runner's own
``schema_migrations``) and :mod:`~stasis_app.store.transfer` (a whole store
copied into an empty one: ``infolinia state migrate --to``).

What it may import: the standard library, psycopg (and its pool),
:mod:`stasis_app.errors` and :mod:`voice` (a prompt's transcript). The
modules that keep their rows here (the audit trail, the block journal, the
login guard, callbacks, the admin page's accounts, the calls in progress of
every node: :mod:`stasis_app.telephony.live_calls`, the call records:
:mod:`stasis_app.reports.records`, the banks' flow versions:
:mod:`stasis_app.flow.versions`) import the store, never the other way
round.
"""

from stasis_app.store.migrate import LATEST, MigrationFailed, StoreTooNew
from stasis_app.store.sql import Connection
from stasis_app.store.state import (
    ALL_TENANTS,
    DEFAULT_SCOPES,
    STORE_THREADS,
    TOKEN_SCOPES,
    AdminToken,
    PromptEdit,
    StaleEdit,
    Store,
)

__all__ = [
    "ALL_TENANTS",
    "DEFAULT_SCOPES",
    "LATEST",
    "STORE_THREADS",
    "TOKEN_SCOPES",
    "AdminToken",
    "Connection",
    "MigrationFailed",
    "PromptEdit",
    "StaleEdit",
    "Store",
    "StoreTooNew",
]
