"""What a store's schema has now: its tables (with their columns) and indexes.

Read only to adopt a store made before schema versions existed
(:func:`stasis_app.store.migrate.upgrade`): each migration says, from this,
whether its change is already there. Such stores are SQLite files (every
store a later release makes, PostgreSQL included, carries its version from
the start), so reading SQLite's own catalogue is all this needs.
"""

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class Schema:
    tables: dict[str, frozenset[str]]  # table -> its columns
    indexes: frozenset[str]

    def has(self, *tables: str) -> bool:
        return all(table in self.tables for table in tables)

    def has_column(self, table: str, column: str) -> bool:
        return column in self.tables.get(table, frozenset())


def read_schema(db: sqlite3.Connection) -> Schema:
    """The tables and indexes in ``db`` (SQLite's own ``sqlite_*`` left out)."""
    rows = db.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'index') "
        "AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    tables = {
        name: frozenset(row[1] for row in db.execute(f'PRAGMA table_info("{name}")'))
        for kind, name in rows
        if kind == "table"
    }
    return Schema(tables, frozenset(name for kind, name in rows if kind == "index"))
