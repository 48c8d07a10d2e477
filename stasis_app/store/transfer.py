"""Moving a deployment's state into another store, whole: what
``infolinia state migrate --to postgresql://...`` does when a deployment
grows from one node (SQLite) to several (PostgreSQL).

Every table the migrations made is copied row for row, values as they are
(the audit trail's hashes and its signed checkpoint stay valid: they sign
the values, not where they live): prompt texts and their history,
recordings, admin tokens, users and sessions, the audit trail, the block
journal, callbacks, the login guard's locks and attempts, the call records,
the banks' flow versions, the banks added on the admin page.
Both stores are first brought to the schema this code knows (opening them migrates them).

The source is read in one read transaction (one consistent moment); the
target is written in one write transaction, and refused, before anything
is written, unless every table is empty: a half-copied or doubled store is
never left behind. On PostgreSQL the identity columns then continue after
the highest key copied.
"""

from stasis_app.errors import ConfigError
from stasis_app.store.sql import Connection, Dialect
from stasis_app.store.state import Store

VERSIONS = "schema_migrations"  # made by opening the target: not copied


def tables(db: Connection, dialect: Dialect) -> dict[str, list[str]]:
    """The store's tables (but the versions) and their columns, in order."""
    if dialect == "sqlite":
        names = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        found = {
            name: [row[1] for row in db.execute(f'PRAGMA table_info("{name}")')] for name in names
        }
    else:
        found = {}
        for table, column in db.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        ):
            found.setdefault(table, []).append(column)
    found.pop(VERSIONS, None)
    return found


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def copy_store(source: Store, target: Store) -> dict[str, int]:
    """Copy every row of ``source`` into the empty ``target``; the rows
    copied per table. ConfigError (naming the target) when the target is not
    empty or the two stores' tables differ; nothing is written then."""

    def read(db: Connection) -> tuple[dict[str, list[str]], dict[str, list[tuple[object, ...]]]]:
        db.execute("BEGIN")  # one moment for every table
        try:
            layout = tables(db, source.dialect)
            rows = {
                table: [
                    tuple(row)
                    for row in db.execute(
                        f"SELECT {', '.join(map(_quoted, columns))} FROM {_quoted(table)}"
                    )
                ]
                for table, columns in layout.items()
            }
        finally:
            db.execute("COMMIT")
        return layout, rows

    layout, rows = source.read(read)

    def write(db: Connection) -> dict[str, int]:
        theirs = tables(db, target.dialect)
        if theirs != layout:
            raise ConfigError(
                str(target.where),
                "state",
                "its tables differ from the source's ("
                + ", ".join(sorted(set(theirs) ^ set(layout)))
                + "): both stores must be of this release; nothing was copied",
            )
        for table in layout:
            count = db.execute(f"SELECT COUNT(*) FROM {_quoted(table)}").fetchone()[0]
            if count:
                raise ConfigError(
                    str(target.where),
                    "state",
                    f"is not empty ({table} has {count} rows): a store is moved only into an "
                    "empty one; nothing was copied",
                )
        for table, columns in layout.items():
            insert = (
                f"INSERT INTO {_quoted(table)} ({', '.join(map(_quoted, columns))}) "
                f"VALUES ({', '.join('?' for _ in columns)})"
            )
            db.executemany(insert, rows[table])  # psycopg: pipelined, not a round trip a row
        if target.dialect == "postgresql":
            _continue_identities(db)
        return {table: len(rows[table]) for table in layout}

    return target.transaction(write)


def _continue_identities(db: Connection) -> None:
    """Each identity column's next value after the highest one copied."""
    identities = db.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_identity = 'YES'"
    ).fetchall()
    for table, column in identities:
        db.execute(
            f"SELECT setval(pg_get_serial_sequence(?, ?), COALESCE(MAX({_quoted(column)}), 0) + 1, "
            f"false) FROM {_quoted(table)}",
            (_quoted(table), column),
        )
