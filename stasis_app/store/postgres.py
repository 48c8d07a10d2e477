"""The PostgreSQL engine: the state every node of a deployment shares, when
config ``state:`` is a ``postgresql://`` URL.

Synchronous psycopg 3 with its ``ConnectionPool``, run on the store's own
threads like the SQLite engine: every caller already runs the store off the
event loop (:meth:`~stasis_app.store.Store.run`), so both engines have one
code path, and the modules' ``work`` functions stay plain functions over a
:class:`~stasis_app.store.sql.Connection`.

Credentials never come from the config file: a URL carrying a password is
refused when the config is read (:func:`stasis_app.config.check_state_url`;
``infolinia state migrate --to`` checks its URL the same way). The password comes from
``$INFOLINIA_STATE_PASSWORD``, or from the file named by
``$INFOLINIA_STATE_PASSWORD_FILE`` (mode 0600 or stricter, else refused),
or, with neither, from libpq's own ``PGPASSFILE`` (``~/.pgpass``).

Writers take advisory locks, held until their commit or rollback. A write
transaction that names a *scope* (``Store.transaction(work, scope=...)``)
takes ``pg_advisory_xact_lock_shared(WRITE_LOCK)`` and then the scope's own
exclusive lock: writers of one scope take turns, writers of different
scopes run side by side. One that names none takes ``WRITE_LOCK``
exclusively: it waits for every scoped writer and every other, as SQLite's
``BEGIN IMMEDIATE`` does (migrations too). Under PostgreSQL's default READ
COMMITTED each statement after the lock sees every write committed before
it, so what a scope guards (a bank's login guard counts, the audit chain's
append, the journal's claims, a node's board rows) is read and written
with nobody of that scope writing in between, whichever node they run on.
The scopes and what they guard: docs/state.md.
"""

import os
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import pq
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool
from psycopg_pool import pool as pool_module
from psycopg_pool.base import AttemptWithBackoff

from stasis_app.errors import ConfigError
from stasis_app.store.migrate import upgrade
from stasis_app.store.sql import WRITE_LOCK, Connection, Dialect, scope_lock, to_postgresql

T = TypeVar("T")

SCHEMES = ("postgresql://", "postgres://")  # as stasis_app.config.POSTGRES_SCHEMES
STATE_PASSWORD_ENV = "INFOLINIA_STATE_PASSWORD"
STATE_PASSWORD_FILE_ENV = "INFOLINIA_STATE_PASSWORD_FILE"
CONNECT_TIMEOUT = 10  # seconds, for the first connection at open (a wrong host fails fast)
POOL_WAIT = 5.0  # seconds a caller waits for a connection (PostgreSQL down: then an error)
RECONNECT_FOR = 300.0  # seconds the pool keeps trying to replace a lost connection
# Connections beyond the store's threads: the call records' writer, a
# command's own thread, a migration.
POOL_EXTRA = 3
RECONNECT_EVERY = 2.0  # seconds between the pool's attempts, at most, while PostgreSQL is away


class SteadyReconnect(AttemptWithBackoff):
    """psycopg_pool's reconnection, with its wait capped at RECONNECT_EVERY.

    The pool doubles its wait after every failed attempt (1, 2, 4, 8, 16 s
    ...), so after a 20 s PostgreSQL restart a node stayed away up to 16 s
    more: logins refused and the spool undrained with PostgreSQL back. An
    attempt every 2 s at most costs PostgreSQL nothing it would notice.
    """

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, RECONNECT_EVERY)


# The pool module makes its attempts from this name (psycopg_pool 3.3: no
# setting for it); every pool of this process reconnects steadily.
pool_module.AttemptWithBackoff = SteadyReconnect  # type: ignore[attr-defined]


def is_url(where: object) -> bool:
    """Whether ``where`` names a PostgreSQL store (else a SQLite file)."""
    return isinstance(where, str) and where.startswith(SCHEMES)


def password(env: Mapping[str, str]) -> str | None:
    """The store's password from the environment or its 0600 file; None
    leaves it to libpq (``PGPASSFILE``, or no password at all)."""
    if env.get(STATE_PASSWORD_ENV):
        return env[STATE_PASSWORD_ENV]
    name = env.get(STATE_PASSWORD_FILE_ENV)
    if not name:
        return None
    path = Path(name)
    try:
        mode = path.stat().st_mode
        if mode & 0o077:
            raise ConfigError(
                str(path),
                STATE_PASSWORD_FILE_ENV,
                f"is readable by others (mode {stat.S_IMODE(mode):04o}): the state store's "
                f"password file must be 0600 (chmod 600 {path})",
            )
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            str(path), STATE_PASSWORD_FILE_ENV, f"cannot read it: {exc.strerror}"
        ) from None


class PostgresConnection:
    """A pooled psycopg connection taking the store's portable SQL (``?``
    placeholders): what the modules' ``work`` gets on PostgreSQL."""

    def __init__(self, connection: psycopg.Connection[tuple[Any, ...]]) -> None:
        self.connection = connection

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        return self.connection.execute(to_postgresql(sql), tuple(parameters))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> psycopg.Cursor[Any]:
        cursor = self.connection.cursor()
        cursor.executemany(to_postgresql(sql), [tuple(row) for row in parameters])
        return cursor

    @property
    def in_transaction(self) -> bool:
        return self.connection.info.transaction_status != pq.TransactionStatus.IDLE


class PostgresEngine:
    """A PostgreSQL database shared by every node of a deployment."""

    dialect: Dialect = "postgresql"

    def __init__(self, url: str, threads: int, env: Mapping[str, str] | None = None) -> None:
        self.url = url
        secret = password(os.environ if env is None else env)
        extra: dict[str, Any] = {"application_name": "infolinia"}
        if secret is not None:
            extra["password"] = secret
        self._conninfo = make_conninfo(url, **extra)
        try:
            # The first connection on its own: a wrong host, role or password
            # is told now, in libpq's words, not as a pool's timeout later.
            with psycopg.connect(
                self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT
            ) as first:
                upgrade(PostgresConnection(first), url)
        except psycopg.OperationalError as exc:
            raise ConfigError(url, "state", f"cannot open the PostgreSQL store: {exc}") from None
        self._pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
            self._conninfo,
            kwargs={"autocommit": True},
            min_size=1,
            max_size=threads + POOL_EXTRA,
            # A connection PostgreSQL dropped (a restart) is replaced, not handed out.
            check=ConnectionPool.check_connection,
            # While PostgreSQL is unreachable a caller waits this long for a
            # connection, then gets an error (a phone login is refused, not hung).
            timeout=POOL_WAIT,
            reconnect_timeout=RECONNECT_FOR,
            name="infolinia-state",
            open=True,
        )

    def read(self, work: Callable[[Connection], T]) -> T:
        with self._pool.connection() as connection:
            return work(PostgresConnection(connection))

    def transaction(self, work: Callable[[Connection], T], scope: str | None = None) -> T:
        with self._pool.connection() as connection, connection.transaction():
            if scope is None:  # against every other writer
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            else:  # against the writers of this scope, and the unscoped ones
                connection.execute(
                    "SELECT pg_advisory_xact_lock_shared(%s), pg_advisory_xact_lock(%s)",
                    (WRITE_LOCK, scope_lock(scope)),
                )
            return work(PostgresConnection(connection))

    def close(self) -> None:
        self._pool.close()
