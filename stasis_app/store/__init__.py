"""The state that must survive a restart, and its schema's migrations.

What lives here: :mod:`~stasis_app.store.state` (the :class:`Store`, the
app's durable state behind one narrow interface, on one of two engines:
:mod:`~stasis_app.store.sqlite`, one file, the embedded default, and
:mod:`~stasis_app.store.postgres`, shared by several nodes;
:mod:`~stasis_app.store.sql` says what SQL both run),
:mod:`~stasis_app.store.migrate` (the runner that brings a store's schema to
the version this code knows, at every open) and
:mod:`~stasis_app.store.migrations` (the ordered migrations themselves: every
table, index and column of the store is made by one of them, and by nothing
else).

What it may import: the standard library, psycopg, :mod:`stasis_app.errors`
and :mod:`voice` (a prompt's transcript). The modules that keep their rows here
(audit, journal, login guard, callbacks, the admin page's accounts) import the
store, never the other way round.
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
