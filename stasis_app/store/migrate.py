"""Bringing a store's schema to the version this code knows, at every open.

The migrations are the modules ``vNNN_<what>.py`` of
:mod:`stasis_app.store.migrations`, applied in the order of NNN (1, 2, 3, ...
with no gap), each once, each in one transaction of its own that also
records it in ``schema_migrations`` (version, name, when, and whether it was
``applied`` or ``found`` already in place). The store's version is the
highest recorded. A table, not SQLite's ``user_version``: PostgreSQL has
none.

:func:`upgrade` runs from :class:`~stasis_app.store.Store`'s constructor, so
the app and every ``infolinia`` command migrate the store they open. Two
processes may open an old store at the same moment (the app starting while
an admin runs a command): each step first takes the write lock (``BEGIN
IMMEDIATE``), then reads the version again, and applies the next migration
only if nobody did meanwhile; the other process waits for the lock
(:data:`MIGRATION_WAIT` seconds, longer than a statement's usual five: a
migration may rewrite a large table) and then finds nothing left to do.

A store without ``schema_migrations`` was made before versions existed (or
is new and empty). It is adopted: each migration in order says, from the
schema as it is (:mod:`stasis_app.store.schema`: tables, their columns,
indexes), whether its change is already there (its ``in_effect``); the
unbroken run of those from 1 is recorded as ``found``, and the rest are
applied as usual. Every release before versions made one of these runs: the
release 9c035a7 has migration 1 in effect, the code between 96c8cdb and
4222189 1 to 3, the code up to versions 1 to 4; an empty file has none.
Migration 1 creates its tables and indexes only if missing, so a store of an
even older release, missing a table or an index, is completed by it.

On PostgreSQL (:mod:`stasis_app.store.postgres`) the same runner applies
the same migrations, each giving its statements for PostgreSQL where the
types differ (its ``POSTGRESQL``; ``SQL`` where they do not). The write lock
is the store's advisory lock taken exclusively (``pg_advisory_xact_lock``:
every write transaction takes it first, shared when it names a write scope),
so a migration step runs alone, and nodes starting at once migrate one after
another and the later ones find nothing left to do. A PostgreSQL store
always has its versions from its first open: nothing is adopted there.

A migration that fails is rolled back whole and reported
(:class:`MigrationFailed`, naming the file and the migration); the store
stays at the version before it.

A store whose version is above the newest migration here was written by a
newer release: it is refused (:class:`StoreTooNew`, naming the file) before
anything is changed, rather than used by code that does not know its
columns.
"""

import importlib
import logging
import pkgutil
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import psycopg

from stasis_app.errors import ConfigError
from stasis_app.store import migrations as migrations_package
from stasis_app.store.schema import Schema, read_schema
from stasis_app.store.sql import WRITE_LOCK, Connection, Dialect

log = logging.getLogger(__name__)

MIGRATION_WAIT = 120.0  # seconds another process's migration may hold the write lock
VERSIONS_TABLE = """CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, at TEXT NOT NULL, how TEXT NOT NULL)"""
_MODULE_NAME = re.compile(r"v(\d{3})_(\w+)")
BEGIN_WRITE: dict[Dialect, tuple[str, ...]] = {
    "sqlite": ("BEGIN IMMEDIATE",),
    "postgresql": ("BEGIN", f"SELECT pg_advisory_xact_lock({WRITE_LOCK})"),
}


class StoreTooNew(ConfigError):
    """The store was written by a newer release than this one (its schema
    version is above every migration here): it is left as it is."""

    def __init__(self, path: Path | str, found: int, known: int) -> None:
        super().__init__(
            str(path),
            "schema version",
            f"{found} is newer than this infolinia knows ({known}): the store was "
            "written by a newer release; run that release (or a newer one), or "
            "point state: at a store of this release; nothing was changed",
        )


class MigrationFailed(ConfigError):
    """A migration could not be applied: rolled back whole, the store stays
    at the version before it."""

    def __init__(self, path: Path | str, version: int, name: str, error: Exception) -> None:
        super().__init__(
            str(path),
            "schema version",
            f"migration {version} ({name}) failed: {error}; the store stays at version "
            f"{version - 1}",
        )


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    in_effect: Callable[[Schema], bool]  # is its change already in a store without versions?
    postgresql: tuple[str, ...] | None = None  # its statements there, when not ``statements``

    def statements_for(self, dialect: Dialect) -> tuple[str, ...]:
        if dialect == "postgresql" and self.postgresql is not None:
            return self.postgresql
        return self.statements


def split_statements(sql: str) -> tuple[str, ...]:
    """``sql`` as single statements (what ``execute`` takes), comments kept
    with the statement they precede."""
    found, pending = [], ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            found.append(pending.strip())
            pending = ""
    leftover = [line for line in pending.splitlines() if not line.strip().startswith("--")]
    if "".join(leftover).strip():
        raise ValueError(f"a statement without its closing semicolon: {pending.strip()[:60]!r}")
    return tuple(found)


def _migration(module: ModuleType, version: int, name: str) -> Migration:
    sql, in_effect = getattr(module, "SQL", None), getattr(module, "in_effect", None)
    if not isinstance(sql, str) or not callable(in_effect):
        raise TypeError(f"{module.__name__} needs SQL (a str) and in_effect(schema)")
    postgresql = getattr(module, "POSTGRESQL", None)
    if postgresql is not None and not isinstance(postgresql, str):
        raise TypeError(f"{module.__name__}: POSTGRESQL is a str")
    return Migration(
        version,
        name,
        split_statements(sql),
        in_effect,
        None if postgresql is None else split_statements(postgresql),
    )


def load_migrations(package: ModuleType = migrations_package) -> tuple[Migration, ...]:
    """The migrations of ``package``, in order; a gap or a repeated number is
    a mistake in the code, refused at import."""
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        match = _MODULE_NAME.fullmatch(info.name)
        if match is None:
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        found.append(_migration(module, int(match[1]), match[2]))
    found.sort(key=lambda migration: migration.version)
    if [migration.version for migration in found] != list(range(1, len(found) + 1)):
        raise ValueError(f"{package.__name__}: migrations must be numbered 1, 2, 3, ...")
    return tuple(found)


MIGRATIONS = load_migrations()
LATEST = MIGRATIONS[-1].version


def dialect_of(db: Connection) -> Dialect:
    return "sqlite" if isinstance(db, sqlite3.Connection) else "postgresql"


def version(db: Connection) -> int | None:
    """The store's schema version; None when it has none (made before versions,
    or new)."""
    if dialect_of(db) == "sqlite":
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        if db.execute(query).fetchone() is None:
            return None
    # Not to_regclass(): it reads the catalog cache, which may not yet know of a
    # table another node committed while this one waited for the lock.
    elif (
        db.execute(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() "
            "AND tablename = 'schema_migrations'"
        ).fetchone()
        is None
    ):
        return None
    row = db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def upgrade(
    db: Connection, path: Path | str, migrations: Sequence[Migration] = MIGRATIONS
) -> list[int]:
    """Bring the store on ``db`` (the file ``path``, or a PostgreSQL URL) to
    the newest of ``migrations``; the versions applied here (not by another
    process)."""
    newest = migrations[-1].version
    found = version(db)
    if found is not None and found >= newest:
        if found > newest:
            raise StoreTooNew(path, found, newest)
        return []  # the usual open: one read, no lock
    applied: list[int] = []
    with _waiting_longer(db):
        while (step := _next_step(db, path, migrations)) is not None:
            applied.append(step)
    return applied


def _next_step(db: Connection, path: Path | str, migrations: Sequence[Migration]) -> int | None:
    """One transaction: adopt a store without versions, or apply the next
    migration. The version applied, 0 for an adoption, None when up to date."""
    dialect = dialect_of(db)
    for statement in BEGIN_WRITE[dialect]:  # the write lock first, then what the version is now
        db.execute(statement)
    try:
        found = version(db)
        if found is None:
            step: int | None = 0
            _adopt(db, path, migrations)
        elif found > migrations[-1].version:
            raise StoreTooNew(path, found, migrations[-1].version)
        elif found == migrations[-1].version:
            step = None
        else:
            migration = migrations[found]  # versions are 1..N: the next is at index found
            try:
                for statement in migration.statements_for(dialect):
                    db.execute(statement)
            except (sqlite3.Error, psycopg.Error) as exc:
                raise MigrationFailed(path, migration.version, migration.name, exc) from exc
            _record(db, migration, "applied")
            step = migration.version
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    if step:
        log.info("store migrated", extra={"file": str(path), "version": step})
    return step


def _adopt(db: Connection, path: Path | str, migrations: Sequence[Migration]) -> None:
    if not isinstance(db, sqlite3.Connection):
        db.execute(VERSIONS_TABLE)  # new: every migration is applied
        return
    schema = read_schema(db)
    db.execute(VERSIONS_TABLE)
    in_place = 0
    for migration in migrations:
        if not migration.in_effect(schema):
            break
        _record(db, migration, "found")
        in_place = migration.version
    if schema.tables:
        log.info(
            "store from before schema versions adopted",
            extra={"file": str(path), "version": in_place},
        )


def _record(db: Connection, migration: Migration, how: str) -> None:
    db.execute(
        "INSERT INTO schema_migrations (version, name, at, how) VALUES (?, ?, ?, ?)",
        (migration.version, migration.name, datetime.now(UTC).isoformat(timespec="seconds"), how),
    )


@contextmanager
def _waiting_longer(db: Connection) -> Iterator[None]:
    if not isinstance(db, sqlite3.Connection):
        yield  # an advisory lock waits as long as it takes (lock_timeout 0)
        return
    usual = int(db.execute("PRAGMA busy_timeout").fetchone()[0])
    db.execute(f"PRAGMA busy_timeout = {int(MIGRATION_WAIT * 1000)}")
    try:
        yield
    finally:
        db.execute(f"PRAGMA busy_timeout = {usual}")
