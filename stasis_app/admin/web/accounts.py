"""Who may use the admin page: users with a role and a tenant, passwords
hashed with scrypt and a salt of their own, sessions that expire.

A session's cookie value is 256-bit random and kept only as its SHA-256 (like
admin API tokens); the CSRF token that every change must carry is random per
session. Users are made with ``infolinia admin user NAME --role R --tenant T``.

Passwords are hashed on one thread of their own, never on the store's
threads (:meth:`Store.run`): a burst of login attempts keeps that one thread
busy and nothing else, so a caller's login check or an audit write on the
phone line does not wait behind it (:meth:`Accounts.verify`).
"""

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from stasis_app.errors import InfoliniaError
from stasis_app.store import Connection, Store

ROLES = ("admin", "supervisor", "auditor")
MIN_PASSWORD = 10
SESSION_SECONDS = 8 * 3600.0
# scrypt's cost: about 16 MiB and tens of milliseconds per login attempt.
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 32}
_DUMMY_SALT = "00" * 16  # a missing user costs the same scrypt as a wrong password


class AccountError(InfoliniaError):
    """A user cannot be made as asked; the message is fit for the admin."""


@dataclass(frozen=True)
class User:
    name: str
    role: str  # admin, supervisor or auditor
    tenant: str  # a tenant id, or "*" for every tenant

    def sees(self, tenant: str) -> bool:
        return self.tenant in ("*", tenant)


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    expires: float


# Every hash is computed on this one thread, whichever thread asks: glibc
# keeps scrypt's 16 MiB in the arena of each thread that ran it, so spread
# over the store's thread pool the app would keep six of them, and as many
# would be in use at once under a burst of login attempts.
_HASHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="password-hash")


def _scrypt(password: str, salt: str) -> str:
    return hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **SCRYPT).hex()


def _hash_password(password: str, salt: str) -> str:
    """The hash, from a synchronous caller (the command line); the calling thread waits."""
    return _HASHING.submit(_scrypt, password, salt).result()


async def hash_password(password: str, salt: str) -> str:
    """The hash, from the event loop: no thread but the hashing one is taken meanwhile."""
    return await asyncio.wrap_future(_HASHING.submit(_scrypt, password, salt))


def _matches(name: str, row: tuple[str, str, str, str] | None, digest: str) -> User | None:
    if row is None or not hmac.compare_digest(digest, row[3]):
        return None
    return User(name, row[0], row[1])


def _id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Accounts:
    """Users and sessions of the admin page, in the state store."""

    def __init__(
        self,
        store: Store,
        session_seconds: float = SESSION_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.session_seconds = session_seconds
        self.clock = clock

    def begin_login(self, name: str, window: float, limit: int) -> bool:
        """Whether ``name`` may have a password checked now: no when ``limit``
        attempts were made within ``window`` seconds. A yes is counted as a
        failed attempt at once, in the same transaction as the check, before
        any hashing (:meth:`login_succeeded` takes it back): attempts sent
        at the same moment cannot all pass the check before one is counted."""
        now = self.clock()

        def work(db: Connection) -> bool:
            db.execute("DELETE FROM web_login_failures WHERE at <= ?", (now - window,))
            row = db.execute(
                "SELECT COUNT(*) FROM web_login_failures WHERE name = ?", (name[:64],)
            ).fetchone()
            if int(row[0]) >= limit:
                return False
            db.execute("INSERT INTO web_login_failures (name, at) VALUES (?, ?)", (name[:64], now))
            return True

        return self.store.transaction(work)

    def login_failed(self, name: str) -> None:
        """Remember a wrong password for ``name`` (kept in the store: a restart
        does not forget a lock)."""
        self.store.transaction(
            lambda db: db.execute(
                "INSERT INTO web_login_failures (name, at) VALUES (?, ?)", (name[:64], self.clock())
            )
        )

    def failures_since(self, name: str, since: float) -> int:
        """Wrong passwords for ``name`` after ``since``; older ones are dropped."""

        def work(db: Connection) -> int:
            db.execute("DELETE FROM web_login_failures WHERE at <= ?", (since,))
            row = db.execute(
                "SELECT COUNT(*) FROM web_login_failures WHERE name = ?", (name[:64],)
            ).fetchone()
            return int(row[0])

        return self.store.transaction(work)

    def login_succeeded(self, name: str) -> None:
        self.store.transaction(
            lambda db: db.execute("DELETE FROM web_login_failures WHERE name = ?", (name[:64],))
        )

    def set_user(
        self,
        name: str,
        role: str,
        tenant: str,
        password: str,
        hashed: tuple[str, str] | None = None,
    ) -> User:
        """Make ``name`` (or replace their role, tenant and password).
        ``hashed`` is the salt and hash of ``password`` made beforehand with
        :func:`hash_password` (an async caller: then no hashing happens here)."""
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        if not name or len(name) > 64 or not name.isprintable() or " " in name:
            raise AccountError("a user name has 1 to 64 characters, no spaces")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
        if hashed is None:
            fresh = secrets.token_hex(16)
            hashed = (fresh, _hash_password(password, fresh))
        salt, digest = hashed
        created = datetime.now(UTC).isoformat(timespec="seconds")

        def work(db: Connection) -> None:
            db.execute(
                "INSERT INTO web_users (name, role, tenant, salt, password_hash, created) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "role = excluded.role, tenant = excluded.tenant, salt = excluded.salt, "
                "password_hash = excluded.password_hash",
                (name, role, tenant, salt, digest, created),
            )
            # A new password ends the sessions made with the old one.
            db.execute('DELETE FROM web_sessions WHERE "user" = ?', (name,))

        self.store.transaction(work)
        return User(name, role, tenant)

    def _password_row(self, name: str) -> tuple[str, str, str, str] | None:
        row = self.store.read(
            lambda db: db.execute(
                "SELECT role, tenant, salt, password_hash FROM web_users WHERE name = ?", (name,)
            ).fetchone()
        )
        return (row[0], row[1], row[2], row[3]) if row else None

    def check_password(self, name: str, password: str) -> User | None:
        """The user, when ``password`` is theirs (for synchronous callers)."""
        row = self._password_row(name)
        salt = row[2] if row else _DUMMY_SALT
        return _matches(name, row, _hash_password(password, salt))

    async def verify(self, name: str, password: str) -> User | None:
        """:meth:`check_password` from the event loop: the store's threads read
        the row, the hashing thread hashes; neither waits for the other."""
        row = await self.store.run(lambda: self._password_row(name))
        salt = row[2] if row else _DUMMY_SALT
        return _matches(name, row, await hash_password(password, salt))

    def open_session(self, user: User) -> tuple[str, Session]:
        """A new session for ``user``: its cookie value (shown once) and the session."""
        session_id = secrets.token_urlsafe(32)
        session = Session(user, secrets.token_urlsafe(32), self.clock() + self.session_seconds)

        def work(db: Connection) -> None:
            db.execute("DELETE FROM web_sessions WHERE expires < ?", (self.clock(),))
            db.execute(
                'INSERT INTO web_sessions (id_hash, "user", csrf, expires) VALUES (?, ?, ?, ?)',
                (_id_hash(session_id), user.name, session.csrf, session.expires),
            )

        self.store.transaction(work)
        return session_id, session

    def session(self, session_id: str) -> Session | None:
        """The live session behind a cookie value, or None (unknown or expired)."""
        row = self.store.read(
            lambda db: db.execute(
                "SELECT u.name, u.role, u.tenant, s.csrf, s.expires FROM web_sessions s "
                'JOIN web_users u ON u.name = s."user" WHERE s.id_hash = ?',
                (_id_hash(session_id),),
            ).fetchone()
        )
        if row is None or row[4] < self.clock():
            return None
        return Session(User(row[0], row[1], row[2]), row[3], row[4])

    def close_session(self, session_id: str) -> None:
        self.store.transaction(
            lambda db: db.execute(
                "DELETE FROM web_sessions WHERE id_hash = ?", (_id_hash(session_id),)
            )
        )

    def users(self, tenant: str | None = None) -> list[User]:
        """Every user (of ``tenant`` only, when given), by name."""
        query = "SELECT name, role, tenant FROM web_users"
        args: tuple[str, ...] = ()
        if tenant is not None:
            query, args = query + " WHERE tenant = ?", (tenant,)
        rows = self.store.read(lambda db: db.execute(query + " ORDER BY name", args).fetchall())
        return [User(*row) for row in rows]

    def user(self, name: str) -> User | None:
        row = self.store.read(
            lambda db: db.execute(
                "SELECT name, role, tenant FROM web_users WHERE name = ?", (name,)
            ).fetchone()
        )
        return User(*row) if row else None

    def remove_user(self, name: str) -> bool:
        def work(db: Connection) -> bool:
            db.execute('DELETE FROM web_sessions WHERE "user" = ?', (name,))
            return db.execute("DELETE FROM web_users WHERE name = ?", (name,)).rowcount > 0

        return self.store.transaction(work)
