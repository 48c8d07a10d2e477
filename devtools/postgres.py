"""A private PostgreSQL 15 for development, tests and the cluster on one
machine: ``python -m devtools.postgres up|down|status [--json]``.

It runs Debian's own binaries (``/usr/lib/postgresql/15/bin``, the package
``postgresql-15``) as the ``postgres`` user (root starts it through
``runuser``), from a data folder of its own, and never touches a
system-wide service (no ``pg_ctlcluster``, no systemd unit, no port 5432)::

    /var/cache/infolinia/postgres/<name>/     ($INFOLINIA_POSTGRES_DIR/<name>)
      data/          the cluster (PGDATA), the postgres user's, 0700
      run/           its unix socket (.s.PGSQL.<port>)
      postgres.log   the server's log
      password       the app role's password, 0600: INFOLINIA_STATE_PASSWORD_FILE

It listens on 127.0.0.1 (port 55432 unless told) and on the socket. The app
connects over TCP as the role ``infolinia`` with a password checked by
SCRAM (the role may create databases: each test gets one of its own); the
``postgres`` superuser is reached only through the socket, as the postgres
user (peer). ``up`` is idempotent: a server already running from that
folder is reused, and ``up`` waits until it accepts connections.
"""

import argparse
import contextlib
import json
import os
import pwd
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from stasis_app.errors import InfoliniaError

BIN = Path("/usr/lib/postgresql/15/bin")
ROOT = Path(os.environ.get("INFOLINIA_POSTGRES_DIR", "/var/cache/infolinia/postgres"))
DEFAULT_PORT = 55432
ROLE = "infolinia"
DATABASE = "infolinia"
READY_SECONDS = 60


class PostgresError(InfoliniaError):
    """The private PostgreSQL could not be started, reached or stopped."""


@dataclass
class Postgres:
    """One private PostgreSQL server, named by its folder."""

    name: str = "dev"
    port: int = DEFAULT_PORT
    root: Path = field(default_factory=lambda: ROOT)
    # False for tests: no fsync (a crash of the machine may lose the last
    # writes; a server restart loses nothing). The cluster keeps True.
    durable: bool = True

    @property
    def folder(self) -> Path:
        return self.root / self.name

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def socket_dir(self) -> Path:
        return self.folder / "run"

    @property
    def log(self) -> Path:
        return self.folder / "postgres.log"

    @property
    def password_file(self) -> Path:
        return self.folder / "password"

    def url(self, database: str = DATABASE) -> str:
        """The ``state:`` URL of ``database`` (no password: see :meth:`env`)."""
        return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{database}"

    def env(self) -> dict[str, str]:
        """What an app or a command needs in its environment to log in."""
        return {"INFOLINIA_STATE_PASSWORD_FILE": str(self.password_file)}

    # --- running ------------------------------------------------------------

    def _as_postgres(self, *command: str | Path, check: bool = True) -> str:
        """Run one of the server's binaries as the postgres user (root), or as
        ourselves (anyone else: then the folder is ours)."""
        args = [str(part) for part in command]
        program = Path(args[0]).name
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--", *args]
        done = subprocess.run(
            args, cwd=self.folder, capture_output=True, text=True, check=False, timeout=120
        )
        if check and done.returncode != 0:
            output = (done.stderr or done.stdout).strip()[-800:]
            raise PostgresError(f"{program} failed ({done.returncode}): {output} (see {self.log})")
        return done.stdout

    def pid(self) -> int | None:
        """The server's process id, when one runs from this folder."""
        try:
            first = (self.data / "postmaster.pid").read_text().split("\n", 1)[0]
            pid = int(first)
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def up(self) -> "Postgres":
        """Start the server (made first if new) and wait until it accepts
        connections; reuse one already running from this folder."""
        if not (BIN / "postgres").exists():
            raise PostgresError(f"no PostgreSQL 15 in {BIN}: apt-get install postgresql-15")
        if not (self.data / "PG_VERSION").exists():
            self._initdb()
        if self.pid() is None:
            self._start()
        if not self.password_file.exists():
            self._make_role()
        self._wait_ready()
        return self

    def _start(self) -> None:
        self._own(self.socket_dir, self.log)
        options = [
            f"-c port={self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.socket_dir}",
            "-c max_connections=200",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._as_postgres(
            BIN / "pg_ctl", "start", "-w", "-t", str(READY_SECONDS), "-D", self.data,
            "-l", self.log, "-o", " ".join(options),
        )  # fmt: skip

    def _own(self, *paths: Path) -> None:
        """Made if missing, and the postgres user's (when we are root)."""
        for path in paths:
            if path.suffix == ".log":
                path.touch(mode=0o600)
            else:
                path.mkdir(mode=0o755, exist_ok=True)
            if os.geteuid() == 0:
                user = pwd.getpwnam("postgres")
                os.chown(path, user.pw_uid, user.pw_gid)

    def _initdb(self) -> None:
        """A new cluster: scram over TCP, the superuser only through the socket (peer)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o755)  # the postgres user walks into it
        self._own(self.data, self.socket_dir, self.log)
        self.data.chmod(0o700)
        self._as_postgres(
            BIN / "initdb", "-D", self.data, "-U", "postgres", "--encoding=UTF8",
            "--locale=C.UTF-8", "--auth-local=peer", "--auth-host=scram-sha-256",
        )  # fmt: skip
        hba = "local all postgres peer\nhost all all 127.0.0.1/32 scram-sha-256\n"
        self._as_postgres("sh", "-c", f"printf '{hba}' > {self.data / 'pg_hba.conf'}")

    def _make_role(self) -> None:
        """The app's role (a new password, written 0600 once it is set) and its database."""
        secret = secrets.token_hex(24)
        self._superuser_sql(
            f"SELECT 'CREATE ROLE {ROLE} LOGIN CREATEDB' "
            f"WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}')\\gexec\n"
            f"ALTER ROLE {ROLE} PASSWORD '{secret}';\n"
            f"SELECT 'CREATE DATABASE {DATABASE} OWNER {ROLE}' "
            f"WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{DATABASE}')\\gexec\n"
        )
        written = self.password_file.with_suffix(".new")
        written.touch(mode=0o600)
        written.write_text(secret + "\n")
        written.rename(self.password_file)

    def _superuser_sql(self, statements: str) -> None:
        """``statements`` run by the postgres superuser over the socket (given
        on stdin: a password in them is never on a command line)."""
        args = [
            str(BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir),
            "-p", str(self.port), "-U", "postgres", "-d", "postgres",
        ]  # fmt: skip
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--", *args]
        done = subprocess.run(
            args, input=statements, cwd=self.folder, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise PostgresError(f"psql failed: {done.stderr.strip()[-400:]}")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            try:
                with self.connect():
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise PostgresError(f"not ready after {READY_SECONDS} s: {exc}") from None
                time.sleep(0.1)

    def connect(self, database: str = DATABASE) -> "psycopg.Connection[Any]":
        """A connection as the app's role (autocommit)."""
        return psycopg.connect(
            self.url(database),
            password=self.password_file.read_text().strip(),
            autocommit=True,
            connect_timeout=5,
        )

    def down(self) -> bool:
        """Stop the server (fast: connections are ended); False when none ran."""
        if self.pid() is None:
            return False
        self._as_postgres(BIN / "pg_ctl", "stop", "-w", "-m", "fast", "-D", self.data)
        return True

    def status(self) -> dict[str, Any]:
        pid = self.pid()
        return {
            "name": self.name,
            "running": pid is not None,
            "pid": pid,
            "port": self.port,
            "socket_dir": str(self.socket_dir),
            "data": str(self.data),
            "log": str(self.log),
            "url": self.url(),
            "password_file": str(self.password_file),
        }

    # --- databases (tests: one each) ----------------------------------------

    def create_database(self, name: str) -> str:
        """A new empty database owned by the app's role; its URL."""
        with self.connect() as db:
            db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self.connect() as db:
            db.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.postgres",
        description="A private PostgreSQL 15 for development and tests (never the system's).",
    )
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument("--name", default="dev", help="the server's folder name (default: dev)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port on 127.0.0.1")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    args = parser.parse_args(argv)
    server = Postgres(args.name, args.port)
    try:
        if args.action == "up":
            server.up()
        elif args.action == "down":
            server.down()
    except PostgresError as exc:
        print(f"postgres: {exc}", file=sys.stderr)
        return 1
    state = server.status()
    if args.json:
        print(json.dumps(state))
    elif state["running"]:
        print(f"{server.name}: running (pid {state['pid']}) at {state['url']}")
        print(f"  password file: {state['password_file']} (INFOLINIA_STATE_PASSWORD_FILE)")
    else:
        print(f"{server.name}: not running ({state['data']})")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
