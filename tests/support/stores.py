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
"""

import os
import secrets
import sqlite3
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
TEST_DATABASE = "tests"
ENGINES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """The private PostgreSQL of the test run (left running if it already was)."""
    server = Postgres(TEST_SERVER, TEST_PORT, durable=False)
    was_running = server.pid() is not None
    server.up()
    with server.connect() as db:
        if db.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TEST_DATABASE,)).fetchone():
            server.drop_database(TEST_DATABASE)  # a run before this one was killed
    server.create_database(TEST_DATABASE)
    yield server
    if not was_running:
        server.down()


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
