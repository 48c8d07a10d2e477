"""What the modules that keep their rows in the store may count on: one
connection type for both engines, and the SQL both understand.

The modules (audit, journal, login guard, callbacks, the admin page's
accounts) write their own SQL and get a :class:`Connection` from
:meth:`~stasis_app.store.Store.read` or
:meth:`~stasis_app.store.Store.transaction`: SQLite's own connection, or
:class:`~stasis_app.store.postgres.PostgresConnection`, which takes the same
statements. What both engines run, and the modules therefore write:

* ``?`` placeholders (PostgreSQL's ``%s`` is made here, :func:`to_postgresql`);
* ``INSERT ... RETURNING <key>`` for a generated key, never ``lastrowid``;
* ``ON CONFLICT (...) DO UPDATE`` / ``DO NOTHING``, never ``INSERT OR ...``;
* ``CASE WHEN`` for the larger of two values (SQLite's two-argument ``MAX``
  is PostgreSQL's ``GREATEST``);
* ``"user"`` in double quotes (a reserved word in PostgreSQL);
* columns named in a ``SELECT`` read into a dataclass (a later migration may
  add columns at the end).
"""

import functools
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal, Protocol

Dialect = Literal["sqlite", "postgresql"]
# pg_advisory_xact_lock's key for "a write transaction of this store", taken
# first by every write transaction (shared when it names a write scope,
# exclusive otherwise) and every migration step (exclusive) on PostgreSQL
# (the bytes of "infolini": any fixed number would do; advisory locks are per
# database).
WRITE_LOCK = int.from_bytes(b"infolini", "big")


def scope_lock(scope: str) -> int:
    """The advisory lock key of a write scope ("guard:izbica", "audit", ...):
    64 bits of its BLAKE2b, signed as PostgreSQL's bigint."""
    digest = hashlib.blake2b(scope.encode(), digest_size=8, person=b"infolinia").digest()
    return int.from_bytes(digest, "big", signed=True)


class Cursor(Protocol):
    """A statement's result: rows as tuples."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What :meth:`~stasis_app.store.Store.read` and
    :meth:`~stasis_app.store.Store.transaction` hand to their ``work``."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...

    @property
    def in_transaction(self) -> bool: ...


@functools.lru_cache(maxsize=1024)
def to_postgresql(sql: str) -> str:
    """``sql`` with ``?`` placeholders as psycopg's ``%s`` (and a literal
    ``%`` doubled, as psycopg reads ``%`` as the start of a placeholder);
    a ``?`` inside quotes is left alone."""
    out: list[str] = []
    quote = ""
    for char in sql:
        if quote:
            if char == quote:
                quote = ""
        elif char in ("'", '"'):
            quote = char
        elif char == "?":
            out.append("%s")
            continue
        out.append("%%" if char == "%" else char)
    return "".join(out)
