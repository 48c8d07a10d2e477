"""This node's spool: a confirmed block's records kept on the node's own disk
while the shared state store cannot take them (PostgreSQL restarting, the
network to it down, a SQLite disk full).

A block the caller confirmed must never be lost, and the caller must never
hear a fault of ours: when the journal or the audit cannot be written, the
block service (:mod:`stasis_app.safeguards.blocks`) puts the record here
instead and the call goes on (the caller hears the reference). The journal's
worker moves every spooled record into the store at each round once the
store answers again (:meth:`BlockService.drain_spool`), oldest first:

* a journal record keeps the reference the caller was read; the journal is
  idempotent on its operation id, so a record moved twice is kept once;
* an audit record is appended with ``detail.spooled`` (its spool id) and
  ``detail.happened_at`` (when it happened; the entry's own time is when it
  reached the trail); one whose spool id is already in the trail is not
  appended again (a crash between the append and the file's removal).

One file per record, written to a temporary name, flushed to disk and
renamed: a crash leaves a whole record or none. The folder is 0700 and the
files 0600 (they name a customer number and the caller's number, never a PIN
or a date of birth: those never reach a block record).
"""

import contextlib
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

Kind = Literal["journal", "audit"]
SUFFIX = ".json"


@dataclass(frozen=True)
class Spooled:
    """One record waiting for the store."""

    path: Path
    kind: Kind
    record: dict[str, Any]

    @property
    def id(self) -> str:
        return self.path.stem


class Spool:
    """Records this node could not write to the store, kept until it can."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, kind: Kind, record: dict[str, Any]) -> str:
        """Keep ``record`` durably (flushed to disk before this returns); its spool id."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Sortable by time, unique across the node's processes.
        spool_id = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
        final = self.folder / f"{spool_id}{SUFFIX}"
        partial = self.folder / f".{spool_id}.tmp"
        data = json.dumps({"kind": kind, "record": record}, ensure_ascii=False).encode()
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(descriptor, data)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        partial.replace(final)
        with contextlib.suppress(OSError):  # the rename itself, durable too
            folder = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        return spool_id

    def pending(self) -> list[Spooled]:
        """Every record waiting, oldest first (an unreadable one is left and logged)."""
        if not self.folder.is_dir():
            return []
        waiting: list[Spooled] = []
        for path in sorted(self.folder.glob(f"*{SUFFIX}")):
            try:
                content = json.loads(path.read_text(encoding="utf-8"))
                waiting.append(Spooled(path, content["kind"], content["record"]))
            except (OSError, ValueError, KeyError, TypeError):
                log.error("an unreadable record in the spool is left for a person",
                          extra={"file": str(path)})  # fmt: skip
        return waiting

    def done(self, spooled: Spooled) -> None:
        """The record is in the store: it leaves the spool."""
        spooled.path.unlink(missing_ok=True)

    def __len__(self) -> int:
        return len(list(self.folder.glob(f"*{SUFFIX}"))) if self.folder.is_dir() else 0
