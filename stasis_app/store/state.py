"""The state that must survive a restart, behind one narrow interface.

Two engines behind the same methods: SQLite is the embedded default (one
file, WAL, shared by the app and the ``infolinia`` command on the same
machine: :mod:`stasis_app.store.sqlite`); PostgreSQL when ``state:`` is a
``postgresql://`` URL, shared by every node of a deployment
(:mod:`stasis_app.store.postgres`). The SQL here and in the modules below is
the SQL both run (:mod:`stasis_app.store.sql`).

What lives here: prompt texts edited by a bank's staff (with their history),
uploaded prompt recordings (as uploaded), admin API tokens (hashed), and,
through their own modules, callback requests
(:mod:`stasis_app.queue.callbacks`), the audit trail
(:mod:`stasis_app.safeguards.audit`), the journal of blocks the bank has not
confirmed yet (:mod:`stasis_app.safeguards.journal`), the login guard's
failures, locks and attempts (:mod:`stasis_app.safeguards.login_guard`), the
admin page's users and sessions (:mod:`stasis_app.admin.web.accounts`) and
every node's calls in progress (:class:`~stasis_app.telephony.live_calls.CallsBoard`,
table ``live_calls``, migration 7) and each bank's flow versions
(:mod:`stasis_app.flow.versions`, table ``flow_versions``, migration 10).
Every method is synchronous and short, on both engines; async callers run
them on the store's own threads (:meth:`Store.run`).

The tables are made by the migrations (:mod:`stasis_app.store.migrations`),
applied when a store is opened (:mod:`stasis_app.store.migrate`), never here.
"""

import asyncio
import contextvars
import hashlib
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from stasis_app.errors import InfoliniaError
from stasis_app.store.migrate import version
from stasis_app.store.postgres import PostgresEngine, is_url
from stasis_app.store.sql import Connection, Dialect
from stasis_app.store.sqlite import SqliteEngine
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
    """The app's durable state: one SQLite file, or a PostgreSQL database
    shared by every node of a deployment (``where`` a ``postgresql://`` URL)."""

    def __init__(self, where: Path | str) -> None:
        # Its own threads: a busy default pool (or password hashing) never
        # makes a caller's login check or an audit write wait.
        self._threads = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="store")
        self._engine: SqliteEngine | PostgresEngine
        if is_url(where):
            self._engine = PostgresEngine(str(where), STORE_THREADS)
            self.where: Path | str = str(where)
        else:
            self._engine = SqliteEngine(Path(where))
            self.where = Path(os.path.abspath(where))
        self.dialect: Dialect = self._engine.dialect

    @property
    def path(self) -> Path:
        """The SQLite file (a PostgreSQL store has none)."""
        if not isinstance(self._engine, SqliteEngine):
            raise AttributeError("a PostgreSQL store has no file: see Store.where")
        return self._engine.path

    def read(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` on a connection of this thread (for reads: each
        statement sees what was committed before it)."""
        return self._engine.read(work)

    def transaction(self, work: Callable[[Connection], T], scope: str | None = None) -> T:
        """Run ``work`` in one write transaction. Without ``scope``, one writer
        at a time for the whole store (SQLite's BEGIN IMMEDIATE; on PostgreSQL
        the store's advisory lock, taken first). With a ``scope`` ("guard:<bank>",
        "audit", "journal", "board:<node>", "records:<bank>", "callbacks"), on
        PostgreSQL one writer at a time of that scope, beside the writers of
        other scopes: ``work`` must then write only what that scope guards
        (docs/state.md, "The locks, and why they are correct"). SQLite takes
        its one lock either way."""
        return self._engine.transaction(work, scope)

    def schema_version(self) -> int:
        """The newest migration this store has (:data:`stasis_app.store.LATEST` once open)."""
        return self.read(lambda db: version(db) or 0)

    def close(self) -> None:
        """Let go of the store's connections (PostgreSQL's pool; this thread's SQLite one)."""
        self._engine.close()
        self._threads.shutdown(wait=False)

    async def run(self, work: Callable[[], T]) -> T:
        """Run one of the methods below off the event loop, on the store's own threads."""
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._threads, context.run, work)

    # --- prompt texts -------------------------------------------------------

    def prompt_texts(self, tenant: str) -> dict[str, str]:
        """The texts a bank's staff set for ``tenant`` (prompt key -> text)."""
        rows = self.read(
            lambda db: db.execute(
                "SELECT prompt, text FROM prompt_texts WHERE tenant = ?", (tenant,)
            ).fetchall()
        )
        return dict(rows)

    def revision(self) -> int:
        """Grows with every edit: a cheap way to notice edits made elsewhere."""
        row = self.read(
            lambda db: db.execute("SELECT MAX(revision) FROM prompt_history").fetchone()
        )
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

        def work(db: Connection) -> PromptEdit:
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
            revision = int(
                db.execute(
                    "INSERT INTO prompt_history (tenant, prompt, old_text, new_text, who, at) "
                    "VALUES (?, ?, ?, ?, ?, ?) RETURNING revision",
                    (tenant, prompt, old, text, who, at),
                ).fetchone()[0]
            )
            db.execute(
                "INSERT INTO prompt_texts (tenant, prompt, text, revision) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (tenant, prompt) DO UPDATE SET text = excluded.text, "
                "revision = excluded.revision",
                (tenant, prompt, text, revision),
            )
            return PromptEdit(revision, tenant, prompt, old, text, who, at)

        return self.transaction(work)

    def prompt_history(self, tenant: str, prompt: str | None = None) -> list[PromptEdit]:
        """Edits, newest first."""
        query = (
            "SELECT revision, tenant, prompt, old_text, new_text, who, at FROM prompt_history "
            "WHERE tenant = ?"
        )
        args: tuple[str, ...] = (tenant,)
        if prompt is not None:
            query += " AND prompt = ?"
            args += (prompt,)
        query += " ORDER BY revision DESC"
        rows = self.read(lambda db: db.execute(query, args).fetchall())
        return [PromptEdit(*row) for row in rows]

    # --- recordings ---------------------------------------------------------

    def save_recording(self, sha: str, kind: str, data: bytes, seconds: float, who: str) -> None:
        """Keep an uploaded recording as it came (its converted files live in
        the prompt cache, which may be emptied: they are made again from this)."""

        def work(db: Connection) -> None:
            db.execute(
                "INSERT INTO recordings (sha, kind, data, seconds, who, at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sha) DO NOTHING",
                (sha, kind, data, seconds, who, _now()),
            )

        self.transaction(work)

    def recording_data(self, sha: str) -> bytes | None:
        row = self.read(
            lambda db: db.execute("SELECT data FROM recordings WHERE sha = ?", (sha,)).fetchone()
        )
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

        def work(db: Connection) -> None:
            db.execute(
                "INSERT INTO admin_tokens (name, token_hash, tenant, created, scopes) "
                "VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash, "
                "tenant = excluded.tenant, created = excluded.created, scopes = excluded.scopes",
                (name, _token_hash(token), tenant, _now(), granted),
            )

        self.transaction(work)
        return token

    def check_token(self, token: str) -> AdminToken | None:
        row = self.read(
            lambda db: db.execute(
                "SELECT name, tenant, scopes FROM admin_tokens WHERE token_hash = ?",
                (_token_hash(token),),
            ).fetchone()
        )
        return AdminToken(row[0], row[1], frozenset(row[2].split())) if row else None

    def revoke_token(self, name: str) -> bool:
        def work(db: Connection) -> bool:
            return db.execute("DELETE FROM admin_tokens WHERE name = ?", (name,)).rowcount > 0

        return self.transaction(work)
