"""Runs ``infolinia run`` as a real process for tests and reads its JSON logs."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LogEntry = dict[str, Any]


class AppProcess:
    """One ``infolinia run`` process, with its log in a file."""

    def __init__(
        self, config: Path, env: dict[str, str], log_path: Path, python: str = sys.executable
    ) -> None:
        self.python = python  # another environment's interpreter (an installed plugin)
        self.config = config
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    def start(self, wait_connected: float = 60) -> "AppProcess":
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.python, "-m", "stasis_app", "--config", str(self.config), "run"],
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait_for(lambda e: e["event"] == "ARI connected", wait_connected)
        return self

    def entries(self) -> list[LogEntry]:
        """Log entries of the current process (since its start)."""
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            lines = log.read().decode("utf-8", errors="replace").splitlines()
        entries = []
        for line in lines:
            try:
                entries.append(json.loads(line))
            except ValueError:
                entries.append({"event": "non-json output", "text": line})
        return entries

    def wait_for(self, predicate: Callable[[LogEntry], bool], timeout: float) -> LogEntry:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in self.entries():
                if predicate(entry):
                    return entry
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"app exited with {self.proc.returncode}: {self.entries()[-5:]}"
                )
            time.sleep(0.05)
        raise AssertionError(
            f"app log has no matching entry within {timeout}s: {self.entries()[-8:]}"
        )

    def count(self, predicate: Callable[[LogEntry], bool]) -> int:
        return sum(1 for entry in self.entries() if predicate(entry))

    def kill(self) -> None:
        """SIGKILL: the app vanishes without hanging up its calls."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> int:
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)
