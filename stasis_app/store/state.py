"""The state that must survive a restart, behind one narrow interface.

SQLite is the embedded default (one file, WAL, shared by the app and the
``infolinia`` command on the same machine). The SQL is kept portable so that
a PostgreSQL store can implement the same methods when several app
instances share a deployment.

What lives here: prompt texts edited by a bank's staff (with their history),
uploaded prompt recordings (as uploaded), admin API tokens (hashed), and,
through their own modules, callback requests (:mod:`stasis_app.queue.callbacks`),
the audit trail
(:mod:`stasis_app.safeguards.audit`), the journal of blocks the bank has not confirmed
yet (:mod:`stasis_app.safeguards.journal`), failed logins (:mod:`stasis_app.safeguards.login_guard`)
and the admin page's users and sessions (:mod:`stasis_app.admin.web.accounts`).
Every method is synchronous and short; async callers run them in a thread
(:meth:`Store.run`).

The tables are made by the migrations (:mod:`stasis_app.store.migrations`),
applied when a store is opened (:mod:`stasis_app.store.migrate`), never here.
"""

import asyncio
import contextlib
import contextvars
import hashlib
import secrets
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from stasis_app.errors import InfoliniaError
from stasis_app.store.migrate import upgrade, version
from voice.recording import transcript

T = TypeVar("T")

ALL_TENANTS = "*"


class StaleEdit(InfoliniaError):
    """The prompt's text is no longer what the editor saw (someone changed it)."""

    def __init__(self, current: str) -> None:
        self.current = current
        super().__init__("the prompt was changed meanwhile")


@dataclass(frozen=True)
class PromptEdit:
    revision: int
    tenant: str
    prompt: str
    old_text: str
    new_text: str
    who: str
    at: str  # ISO 8601, UTC


# What an admin API token may do. A token made before scopes existed can
# edit prompts only: that is what tokens were for then, and a token that
# could suddenly listen in to calls would be a surprise to whoever holds it.
TOKEN_SCOPES = ("prompts", "queues", "supervise")
DEFAULT_SCOPES = ("prompts",)
STORE_THREADS = 4  # the store's own pool (phone logins, audit, journal): nothing else runs there


@dataclass(frozen=True)
class AdminToken:
    name: str
    tenant: str  # a tenant id, or "*" for every tenant
    scopes: frozenset[str] = frozenset(DEFAULT_SCOPES)  # some of TOKEN_SCOPES

    def may(self, scope: str) -> bool:
        return scope in self.scopes


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _token_hash(token: str) -> str:
    # Tokens are 256-bit random: a plain SHA-256 is enough (no guessing to slow down).
    return hashlib.sha256(token.encode()).hexdigest()


class Store:
    """The app's durable state in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()  # one connection per thread, kept
        # Its own threads: a busy default pool (or password hashing) never
        # makes a caller's login check or an audit write wait.
        self._threads = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="store")
        self._private_files()
        # The schema this code knows, made or brought up to date (or a store
        # from a newer release refused) before anything reads it.
        upgrade(self._connect(), path)
        self._private_files()  # the -wal and -shm the first connection made

    # Prompt edits name people, tokens are credentials, the audit names callers:
    # nobody but the app's own user reads the store, from its very first start.
    STORE_FILE_SUFFIXES = ("", "-wal", "-shm", "-journal")

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
        own = {self.path.name + suffix for suffix in self.STORE_FILE_SUFFIXES}
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
        """This thread's connection (opened once: opening one and setting WAL
        on every statement cost more than the statements on a busy line)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            self._local.db = db
        return db

    def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` on this thread's connection (for reads)."""
        return work(self._connect())

    def transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in one write transaction (BEGIN IMMEDIATE: one writer at a time)."""
        return self._transaction(work)

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
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

    def schema_version(self) -> int:
        """The newest migration this store has (:data:`stasis_app.store.LATEST` once open)."""
        return version(self._connect()) or 0

    async def run(self, work: Callable[[], T]) -> T:
        """Run one of the methods below off the event loop, on the store's own threads."""
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._threads, context.run, work)

    # --- prompt texts -------------------------------------------------------

    def prompt_texts(self, tenant: str) -> dict[str, str]:
        """The texts a bank's staff set for ``tenant`` (prompt key -> text)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT prompt, text FROM prompt_texts WHERE tenant = ?", (tenant,)
            ).fetchall()
        return dict(rows)

    def revision(self) -> int:
        """Grows with every edit: a cheap way to notice edits made elsewhere."""
        with self._connect() as db:
            row = db.execute("SELECT MAX(revision) FROM prompt_history").fetchone()
        return int(row[0] or 0)

    def set_prompt_text(
        self,
        tenant: str,
        prompt: str,
        text: str,
        who: str,
        current: str,
        expected: str | None = None,
    ) -> PromptEdit:
        """Record ``text`` as ``prompt``'s text; ``current`` is the text in use now
        (from config when never edited). With ``expected``, refuse the edit
        when the text in use is no longer that (a lost update)."""

        def work(db: sqlite3.Connection) -> PromptEdit:
            row = db.execute(
                "SELECT text FROM prompt_texts WHERE tenant = ? AND prompt = ?", (tenant, prompt)
            ).fetchone()
            old = row[0] if row else current
            # An editor of a recorded prompt saw its transcript.
            if expected is not None and " ".join(expected.split()) != " ".join(
                transcript(old).split()
            ):
                raise StaleEdit(transcript(old))
            at = _now()
            cursor = db.execute(
                "INSERT INTO prompt_history (tenant, prompt, old_text, new_text, who, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (tenant, prompt, old, text, who, at),
            )
            revision = int(cursor.lastrowid or 0)
            db.execute(
                "INSERT INTO prompt_texts (tenant, prompt, text, revision) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (tenant, prompt) DO UPDATE SET text = excluded.text, "
                "revision = excluded.revision",
                (tenant, prompt, text, revision),
            )
            return PromptEdit(revision, tenant, prompt, old, text, who, at)

        return self._transaction(work)

    def prompt_history(self, tenant: str, prompt: str | None = None) -> list[PromptEdit]:
        """Edits, newest first."""
        query = "SELECT * FROM prompt_history WHERE tenant = ?"
        args: tuple[str, ...] = (tenant,)
        if prompt is not None:
            query += " AND prompt = ?"
            args += (prompt,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY revision DESC", args).fetchall()
        return [PromptEdit(*row) for row in rows]

    # --- recordings ---------------------------------------------------------

    def save_recording(self, sha: str, kind: str, data: bytes, seconds: float, who: str) -> None:
        """Keep an uploaded recording as it came (its converted files live in
        the prompt cache, which may be emptied: they are made again from this)."""

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR IGNORE INTO recordings (sha, kind, data, seconds, who, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (sha, kind, data, seconds, who, _now()),
            )

        self._transaction(work)

    def recording_data(self, sha: str) -> bytes | None:
        with self._connect() as db:
            row = db.execute("SELECT data FROM recordings WHERE sha = ?", (sha,)).fetchone()
        return bytes(row[0]) if row else None

    # --- admin tokens -------------------------------------------------------

    def create_token(self, name: str, tenant: str, scopes: tuple[str, ...] = DEFAULT_SCOPES) -> str:
        """A new token for ``name`` that may do ``scopes`` (some of
        :data:`TOKEN_SCOPES`); returned once, stored only as a hash."""
        unknown = sorted(set(scopes) - set(TOKEN_SCOPES))
        if unknown or not scopes:
            raise ValueError(f"a token's scopes are some of {', '.join(TOKEN_SCOPES)}")
        token = secrets.token_urlsafe(32)
        granted = " ".join(sorted(set(scopes)))

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO admin_tokens (name, token_hash, tenant, created, scopes) "
                "VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash, "
                "tenant = excluded.tenant, created = excluded.created, scopes = excluded.scopes",
                (name, _token_hash(token), tenant, _now(), granted),
            )

        self._transaction(work)
        return token

    def check_token(self, token: str) -> AdminToken | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT name, tenant, scopes FROM admin_tokens WHERE token_hash = ?",
                (_token_hash(token),),
            ).fetchone()
        return AdminToken(row[0], row[1], frozenset(row[2].split())) if row else None

    def revoke_token(self, name: str) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            return db.execute("DELETE FROM admin_tokens WHERE name = ?", (name,)).rowcount > 0

        return self._transaction(work)
