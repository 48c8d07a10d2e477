"""The SQLite engine: the embedded default, one file with WAL, shared by the
app and the ``infolinia`` command on the same machine.

One connection per store thread, kept open (opening one and setting WAL on
every statement cost more than the statements on a busy line). A write
transaction is ``BEGIN IMMEDIATE``: SQLite's write lock, taken first, so one
writer at a time reads and writes with nobody writing in between (the login
guard's verdict and reservation, the audit chain's append depend on it).
"""

import contextlib
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from stasis_app.store.migrate import upgrade
from stasis_app.store.sql import Connection, Dialect

T = TypeVar("T")

# Prompt edits name people, tokens are credentials, the audit names callers:
# nobody but the app's own user reads the store, from its very first start.
STORE_FILE_SUFFIXES = ("", "-wal", "-shm", "-journal")


class SqliteEngine:
    """One SQLite file."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()  # one connection per thread, kept
        self._private_files()
        # The schema this code knows, made or brought up to date (or a store
        # from a newer release refused) before anything reads it.
        upgrade(self._connect(), path)
        self._private_files()  # the -wal and -shm the first connection made

    def _private_files(self) -> None:
        """The store's folder 0700 when it is the store's own, and the store's
        files 0600, before SQLite writes anything into them.

        The database file is created 0600 before SQLite opens it: SQLite gives
        its -wal, -shm and -journal files the database file's mode, whatever
        the umask. The umask is never changed (it is the whole process's: a
        prompt file written meanwhile must stay readable by Asterisk).

        The folder is made 0700 when the store creates it, and a folder that
        already exists is tightened only when it is the store's own: it holds
        nothing but the store's files (e.g. ``/var/lib/infolinia`` made by a
        package). A folder shared with other things (a working directory,
        ``/tmp/...``) is left as it is: chmod there would surprise whatever
        else lives in it, and the 0600 files are what keeps the data private.
        """
        folder = self.path.parent
        try:
            folder.mkdir(mode=0o700)
            created = True
        except FileExistsError:
            created = False
        except FileNotFoundError:  # its parents too: those keep the default mode
            folder.parent.mkdir(parents=True, exist_ok=True)
            folder.mkdir(mode=0o700, exist_ok=True)
            created = True
        own = {self.path.name + suffix for suffix in STORE_FILE_SUFFIXES}
        if created or all(entry.name in own for entry in folder.iterdir()):
            # Not ours to change (another user's folder): left as it is.
            with contextlib.suppress(PermissionError):
                if folder.stat().st_mode & 0o7777 != 0o700:
                    folder.chmod(0o700)
        self.path.touch(mode=0o600, exist_ok=True)
        for name in sorted(own):
            with contextlib.suppress(FileNotFoundError):
                if (folder / name).stat().st_mode & 0o077:
                    (folder / name).chmod(0o600)  # a store from before, or its -wal

    def _connect(self) -> sqlite3.Connection:
        """This thread's connection (opened once)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            self._local.db = db
        return db

    def read(self, work: Callable[[Connection], T]) -> T:
        return work(self._connect())

    def transaction(self, work: Callable[[Connection], T], scope: str | None = None) -> T:
        """One writer at a time (BEGIN IMMEDIATE), whatever the ``scope``: SQLite
        has one write lock per file."""
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            result = work(db)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # the connection is kept: leave it clean
                db.execute("ROLLBACK")
            raise
        return result

    def close(self) -> None:
        """This thread's connection closed (the others close with their threads)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
