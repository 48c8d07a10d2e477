"""State stores on both engines for the tests (a pytest plugin: conftest's
``pytest_plugins``).

``state_where`` is a test's own store, once on each engine: a SQLite file in
the test's folder, and a fresh database on the private PostgreSQL that
starts once per test run (:mod:`devtools.postgres`, its own folder and port,
no fsync). A test that takes ``store`` (made from ``state_where`` in its
module) therefore runs twice, ``[sqlite]`` and ``[postgresql]``.
``postgres_url`` alone is a fresh PostgreSQL store, for tests that are
about PostgreSQL (several nodes on one store).

A fresh PostgreSQL store is a schema of its own in the run's database (the
URL sets its ``search_path``): a schema is made in milliseconds, a database
in a third of a second. Every PostgreSQL store a test opens is closed after
it, and its schema dropped.

``./dev test`` runs several pytest processes at once (real calls, the
cluster's, and unit tests beside them): each has a database of its own on
the one server (the cluster's tests use a server of their own,
tests/support/cluster.py); the first to
need the server starts it, and the last to finish stops it if a test run
started it (both under file locks).
"""

import fcntl
import os
import secrets
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from devtools.postgres import Postgres
from stasis_app.store import Connection, Store
from stasis_app.store.postgres import PostgresConnection, PostgresEngine, password

TEST_SERVER = "test"
TEST_PORT = 55499  # not the developer's 55432 nor a cluster's: a test run never touches theirs
# This process's database (two test processes may share the server).
TEST_DATABASE = f"tests_{os.getpid()}"
ENGINES = ("sqlite", "postgresql")
LOCKS = Path(tempfile.gettempdir())
STARTED_BY_TESTS = LOCKS / "infolinia-test-postgres.started"


def test_server() -> Postgres:
    return Postgres(TEST_SERVER, TEST_PORT, durable=False)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """The private PostgreSQL of the test run (left running if it already was)."""
    server = test_server()
    # Held shared while this process uses the server; the last one out gets it
    # exclusively and may stop the server.
    users = open(LOCKS / "infolinia-test-postgres.users", "a")  # noqa: SIM115
    fcntl.flock(users, fcntl.LOCK_SH)
    with open(LOCKS / "infolinia-test-postgres.start", "a") as start:
        fcntl.flock(start, fcntl.LOCK_EX)
        if server.pid() is None:
            with normal_priority():  # the server serves the real calls' process too
                server.up()
            STARTED_BY_TESTS.touch()
        with server.connect() as db:
            names = db.execute("SELECT datname FROM pg_database WHERE datname LIKE 'tests_%'")
            for (name,) in names.fetchall():
                pid = name.removeprefix("tests_")
                if pid.isdigit() and not pid_alive(int(pid)):
                    server.drop_database(name)  # a run before this one was killed
    server.create_database(TEST_DATABASE)
    yield server
    server.drop_database(TEST_DATABASE)
    with users:
        try:
            fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another test process still uses it
        if STARTED_BY_TESTS.exists():
            server.down()
            STARTED_BY_TESTS.unlink()


@contextmanager
def normal_priority() -> Iterator[None]:
    """This thread (and what it starts) at CPU priority 0 for a while: ./dev
    test runs the unit tests niced, and a server one of them starts is shared."""
    niceness: int | None = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 0)  # root may raise it again
    except PermissionError:
        niceness = None
    try:
        yield
    finally:
        if niceness is not None:
            os.setpriority(os.PRIO_PROCESS, 0, niceness)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def postgres_url(postgres: Postgres, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh store of this test's own (its URL: a new schema), with the app
    role's password file in the environment, as an app would have it."""
    name = f"test_{secrets.token_hex(6)}"
    with postgres.connect(TEST_DATABASE) as db:
        db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    url = postgres.url(TEST_DATABASE) + f"?options=-csearch_path%3D{name}"
    for key, value in postgres.env().items():
        monkeypatch.setenv(key, value)
    opened: list[PostgresEngine] = []
    original = PostgresEngine.__init__

    def tracked(engine: PostgresEngine, *args: Any, **kwargs: Any) -> None:
        original(engine, *args, **kwargs)
        opened.append(engine)

    monkeypatch.setattr(PostgresEngine, "__init__", tracked)
    yield url
    for engine in opened:
        engine.close()
    with postgres.connect(TEST_DATABASE) as db:
        db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture(params=ENGINES)
def state_where(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """This test's store, once on each engine: a file, or a PostgreSQL URL."""
    if request.param == "sqlite":
        return tmp_path / "state" / "state.sqlite"
    url: str = request.getfixturevalue("postgres_url")
    return url


@contextmanager
def tampering(store: Store) -> Iterator[Connection]:
    """A connection of its own to ``store``'s database, outside the store
    (what someone editing the data behind the app's back has), committed at
    the end."""
    if store.dialect == "sqlite":
        db = sqlite3.connect(store.path)
        with db:
            yield db
        db.close()
        return
    secret = password(os.environ)
    with (
        psycopg.connect(str(store.where), password=secret, autocommit=True) as raw,
        raw.transaction(),
    ):
        yield PostgresConnection(raw)


def sqlite_only(store: Store, why: str) -> None:
    """Skip the PostgreSQL run of a test that is about SQLite's file."""
    if store.dialect != "sqlite":
        pytest.skip(f"SQLite only: {why}")
