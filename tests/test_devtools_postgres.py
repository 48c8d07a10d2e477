"""devtools/postgres.py: the private PostgreSQL the tests (and the cluster)
use runs as the postgres user from its own folder and port, is reused by a
second ``up``, and says where it is (``status --json``)."""

import json
import os
import pwd
from pathlib import Path

import psycopg
import pytest

from devtools.postgres import Postgres, main

pytestmark = pytest.mark.unit


def test_up_reuses_the_running_server_and_status_says_where_it_is(
    postgres: Postgres, capsys: pytest.CaptureFixture[str]
) -> None:
    pid = postgres.pid()
    assert pid is not None and postgres.up().pid() == pid  # reused, not started again
    owner = Path(f"/proc/{pid}").stat().st_uid
    assert owner == (pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid())
    assert (postgres.socket_dir / f".s.PGSQL.{postgres.port}").is_socket()
    assert postgres.password_file.stat().st_mode & 0o777 == 0o600
    args = ["status", "--json", "--name", postgres.name, "--port", str(postgres.port)]
    assert main(args) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["running"] and status["pid"] == pid
    assert status["url"] == f"postgresql://infolinia@127.0.0.1:{postgres.port}/infolinia"
    assert "password" not in status["url"].split("@")[0].split("//")[1]


def test_the_app_role_needs_its_password(postgres: Postgres) -> None:
    with postgres.connect() as db:  # with the password file: in
        assert db.execute("SELECT current_user").fetchone() == ("infolinia",)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgres.url(), password="wrong", connect_timeout=5)
