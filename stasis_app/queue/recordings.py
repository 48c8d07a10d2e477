"""Recordings of the consultant part of calls, for a bank that turns them on
(``tenants.ID.recordings``).

* **What is recorded**: the conversation bridge (caller and consultant
  mixed), from the moment the consultant answered and the two were joined,
  until either hangs up (ARI ``bridges/{id}/record``). Never the
  self-service part: the recording starts on a bridge that only exists
  once a consultant answered, so no prompt and no key typed at the menu,
  telekod or date of birth is in it.
* **Where it goes**: Asterisk writes it to its recording spool; when the
  conversation ends the app fetches it over ARI
  (``recordings/stored/{name}/file``), writes it to the bank's
  ``recordings.folder`` (``<folder>/<bank>/<name>.wav``, mode 0600), deletes
  it from Asterisk's spool and lists it in the store (table
  ``consultant_recordings``). In the background: the caller (the survey)
  never waits for it. A recording that cannot be kept is logged, never a
  failed call, and leaves nothing behind: it is deleted from Asterisk's
  spool all the same, and a file whose row failed is removed.
* **How long**: ``recordings.keep_days`` after it started; then
  :meth:`RecordingBook.delete_expired` deletes the row and the file. The
  app runs it hourly for every bank; ``infolinia recordings purge`` does the
  same from cron. Each recording is deleted by exactly one process, even on
  a cluster: the row's DELETE in a transaction decides who removes the file.
* **Who hears them**: auditors (and admins) of the bank, on the admin page
  *Nagrania rozmów*; every list, play and download is in the audit trail.
"""

import asyncio
import contextlib
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from stasis_app.errors import AriError, CallHungUp
from stasis_app.store import Connection, Store
from stasis_app.telephony.ports import QueueGateway
from stasis_app.tenants import Tenant

log = logging.getLogger(__name__)

DAY = 86400.0
SCOPE = "recordings"  # the store's write scope of the table (its rows only)
FETCH_TRIES = 10  # the stored file may lag the stop by a moment
FETCH_PAUSE = 0.2
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
COLUMNS = "tenant, name, call_id, queue, agent, started, seconds, bytes, path"


@dataclass(frozen=True)
class Recording:
    """One kept recording of a consultant call."""

    tenant: str
    name: str  # the file's stem and the recording's name in Asterisk
    call_id: str  # the caller's channel
    queue: str
    agent: str  # the consultant's endpoint
    started: float  # Unix time: when the consultant answered
    seconds: float
    bytes: int
    path: str

    @classmethod
    def from_row(cls, row: tuple[object, ...]) -> "Recording":
        tenant, name, call_id, queue, agent, started, seconds, size, path = row
        return cls(
            str(tenant),
            str(name),
            str(call_id),
            str(queue),
            str(agent),
            float(str(started)),
            float(str(seconds)),
            int(str(size)),
            str(path),
        )


class RecordingBook:
    """The kept recordings of every bank, over the state store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, recording: Recording) -> None:
        def work(db: Connection) -> None:
            db.execute(
                f"INSERT INTO consultant_recordings ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    recording.tenant,
                    recording.name,
                    recording.call_id,
                    recording.queue,
                    recording.agent,
                    recording.started,
                    recording.seconds,
                    recording.bytes,
                    recording.path,
                ),
            )

        self.store.transaction(work, SCOPE)

    def listed(self, tenant: str, limit: int = 500) -> list[Recording]:
        """``tenant``'s recordings, the newest first."""
        rows = self.store.read(
            lambda db: db.execute(
                f"SELECT {COLUMNS} FROM consultant_recordings WHERE tenant = ? "
                "ORDER BY started DESC, name LIMIT ?",
                (tenant, limit),
            ).fetchall()
        )
        return [Recording.from_row(tuple(row)) for row in rows]

    def find(self, tenant: str, name: str) -> Recording | None:
        row = self.store.read(
            lambda db: db.execute(
                f"SELECT {COLUMNS} FROM consultant_recordings WHERE tenant = ? AND name = ?",
                (tenant, name),
            ).fetchone()
        )
        return None if row is None else Recording.from_row(tuple(row))

    def delete_expired(self, tenant: str, keep_days: float, now: float | None = None) -> int:
        """Delete ``tenant``'s recordings that started more than ``keep_days``
        ago, rows and files; how many. The rows go in one transaction first:
        whoever deleted a row (one process, even on a cluster) removes its file."""
        cutoff = (time.time() if now is None else now) - keep_days * DAY

        def work(db: Connection) -> list[str]:
            rows = db.execute(
                "SELECT path FROM consultant_recordings WHERE tenant = ? AND started < ?",
                (tenant, cutoff),
            ).fetchall()
            db.execute(
                "DELETE FROM consultant_recordings WHERE tenant = ? AND started < ?",
                (tenant, cutoff),
            )
            return [str(row[0]) for row in rows]

        paths = self.store.transaction(work, SCOPE)
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        if paths:
            log.info(
                "expired recordings deleted", extra={"tenant": tenant, "recordings": len(paths)}
            )
        return len(paths)


def file_name(tenant: str, call_id: str, started: float) -> str:
    """The recording's name: the bank, the caller's channel and the second
    the consultant answered (letters, digits, ``.``, ``-``, ``_``)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"{tenant}-{call_id}-{int(started)}")
    assert NAME.fullmatch(name), name
    return name


@dataclass
class LiveRecording:
    """A consultant call being recorded."""

    tenant: Tenant
    name: str
    call_id: str
    queue: str
    agent: str
    started: float  # Unix time
    began: float  # monotonic


_keeping: set["asyncio.Task[None]"] = set()


async def start_recording(
    gateway: QueueGateway,
    tenant: Tenant,
    bridge: str,
    *,
    call_id: str,
    queue: str,
    agent: str,
) -> LiveRecording | None:
    """Start recording the conversation ``bridge`` when the bank records
    consultant calls; None when it does not, or Asterisk refused (logged)."""
    if not tenant.recordings.enabled:
        return None
    started = time.time()
    name = file_name(tenant.id, call_id, started)
    try:
        await gateway.record_bridge(bridge, name)
    except AriError as exc:
        log.warning("consultant call not recorded", extra={"error": str(exc)})
        return None
    log.info("consultant call recorded", extra={"recording": name})
    return LiveRecording(tenant, name, call_id, queue, agent, started, time.monotonic())


async def finish_recording(
    gateway: QueueGateway, book: RecordingBook, recording: LiveRecording
) -> None:
    """Stop the recording; keep it in the background (fetch, file, row)."""
    with contextlib.suppress(AriError):
        await gateway.stop_recording(recording.name)
    seconds = round(time.monotonic() - recording.began, 1)
    task = asyncio.ensure_future(_keep(gateway, book, recording, seconds))
    _keeping.add(task)
    task.add_done_callback(_keeping.discard)


async def drain(timeout: float = 5.0) -> None:
    """Let recordings being kept finish (the app stopping)."""
    if _keeping:
        await asyncio.wait(set(_keeping), timeout=timeout)


async def _keep(
    gateway: QueueGateway, book: RecordingBook, recording: LiveRecording, seconds: float
) -> None:
    """Fetch, file and list the recording; whatever fails, nothing is left
    outside the retention: a file whose row failed is removed, and the
    recording is deleted from Asterisk's spool in every case (logged)."""
    name = recording.name
    written: Path | None = None
    try:
        data = await _fetch(gateway, name)
        if not data:
            log.error("consultant recording not found in Asterisk", extra={"recording": name})
            return
        folder = recording.tenant.recordings.folder / recording.tenant.id
        path = folder / f"{name}.wav"
        await asyncio.to_thread(_write, path, data)
        written = path
        await book.store.run(
            lambda: book.add(
                Recording(
                    recording.tenant.id,
                    name,
                    recording.call_id,
                    recording.queue,
                    recording.agent,
                    recording.started,
                    seconds,
                    len(data),
                    str(path),
                )
            )
        )
        written = None  # listed: the retention deletes it
        log.info("consultant recording kept", extra={"recording": name, "bytes": len(data)})
    except Exception as exc:  # a full disk, the store down: logged, the call is over anyway
        log.error("consultant recording not kept", extra={"recording": name, "error": repr(exc)})
        if written is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(written)
    finally:
        try:
            await gateway.delete_stored_recording(name)
        except Exception as exc:  # logged: the spool holds it until Asterisk's own cleanup
            log.error(
                "consultant recording not deleted from Asterisk",
                extra={"recording": name, "error": repr(exc)},
            )


async def _fetch(gateway: QueueGateway, name: str) -> bytes:
    """The stored recording's bytes, tried a few times (the file may lag
    the stop by a moment, ARI may fail once); empty when never fetched."""
    for attempt in range(FETCH_TRIES):
        try:
            return await gateway.stored_recording(name)
        except (CallHungUp, AriError) as exc:  # not stored yet, or ARI failed
            if attempt == FETCH_TRIES - 1:
                log.warning(
                    "consultant recording not fetched",
                    extra={"recording": name, "error": repr(exc)},
                )
            else:
                await asyncio.sleep(FETCH_PAUSE)
    return b""


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
    except BaseException:  # a partial file (a full disk) is not left behind
        path.unlink(missing_ok=True)
        raise
