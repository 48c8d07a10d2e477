"""Signed chain heads: where the audit trail ended, written outside the store.

A trail cut short is still a whole chain; only a record kept elsewhere shows
that entries are missing from its end. The app appends one line per head to
``audit.heads_file`` (opened ``O_APPEND``, mode 0600)::

    {"audit_head": 42, "hash": "k1:…", "at": "2026-12-06T06:00:00.123+00:00",
     "key": "1a2b3c4d", "prev": "<mac of the line before>", "mac": "<hmac-sha256>"}

``mac`` is an HMAC under the audit key over the head and ``prev``, so a head
cannot be forged without the key, and a line taken out of the middle breaks
the next line's ``prev``. Lines go out after every ``heads_every_entries``
entries this app appends (default: every one, so that even after a crash
with no orderly stop every entry that was written is anchored), every
``heads_interval`` seconds when the trail grew through another process (a
CLI command), when the app starts and when it stops.

The file is only as safe as the place it ends up: a bank ships it as it grows
to its own log system (docs/security.md, Audit), where whoever can rewrite
the state store cannot rewrite it. ``infolinia audit verify --heads FILE``
reads it, or a copy from the log system (a syslog prefix before the JSON is
ignored), and names an entry that a head saw but the trail no longer has.
"""

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from stasis_app.config import AuditSettings
from stasis_app.safeguards.audit import AuditEntry, AuditLog, ExpectedHead, HeadsError, on_append
from stasis_app.safeguards.audit_key import AuditKey

log = logging.getLogger(__name__)

HEAD_LABEL = "infolinia-audit-head"
CHECK_EVERY = 3600.0  # seconds between the app's own verifies (from the checkpoint)
TAIL_BYTES = 4096  # enough for the last line (a head is about 250 bytes)


def _line_fields(head: dict[str, object]) -> list[object]:
    return [head["audit_head"], head["hash"], head["at"], head["prev"]]


def read_heads(path: Path, key: AuditKey) -> Iterator[ExpectedHead]:
    """The heads of a heads file (or a log system's copy of it), in order,
    each checked: signed with ``key``, following the line before it.
    Raises :class:`HeadsError` at the first line that is not."""
    previous: dict[str, object] | None = None
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            start = line.find('{"audit_head"')
            if start < 0:
                continue  # another program's line in a shared log
            where = f"{path.name} line {number}"
            try:
                head = json.loads(line[start:])
                fields = _line_fields(head)
                seq, hash_ = int(head["audit_head"]), str(head["hash"])
                mac, key_id = head["mac"], head["key"]
            except (ValueError, KeyError, TypeError):
                raise HeadsError(f"{where} is damaged (not a whole signed head)") from None
            if key_id != key.id:
                raise HeadsError(
                    f"{where} is signed with audit key {key_id}, not {key.id} "
                    f"(from {key.source}): forged, or the wrong key was given"
                )
            if not isinstance(mac, str) or not key.check(HEAD_LABEL, fields, mac):
                raise HeadsError(f"{where} is not signed with the audit key: a forged head")
            if previous is not None and head["prev"] != previous["mac"]:
                raise HeadsError(
                    f"{where} does not follow the head before it: heads were taken out "
                    "of the file between them"
                )
            previous = head
            yield ExpectedHead(seq, hash_, f"{where} (at {head['at']})")


def parse_expected(text: str) -> ExpectedHead:
    """``SEQ:HASH`` (as a head line or ``audit verify`` shows it) -> an expected head."""
    seq, sep, hash_ = text.partition(":")
    if not sep or not seq.strip().isdigit() or not hash_.strip():
        raise ValueError(f"{text!r} is not SEQ:HASH")
    return ExpectedHead(int(seq), hash_.strip(), f"--expect-head {seq.strip()}")


class HeadsFile:
    """The app's end of a heads file: appends signed heads, never rewrites."""

    def __init__(self, path: Path, key: AuditKey) -> None:
        self.path = path
        self.key = key
        self._lock = threading.Lock()  # audit entries are appended on several threads
        self._fd: int | None = None
        self._prev = ""  # the last line's mac
        self.last: tuple[int, str] | None = None  # the last head in the file
        # The highest seq this process wrote: entries appended on two threads
        # may report in either order, and a head never goes back for that.
        self._written = 0

    def open(self) -> None:
        """Open for appending (made 0600 in a 0700 folder when new) and read
        the last head, which the next line follows."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._fd = os.open(
            self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
        )
        if os.fstat(self._fd).st_uid == os.getuid():
            os.fchmod(self._fd, 0o600)
        last = _last_head(self.path)
        if last is not None:
            self._prev = str(last.get("mac", ""))
            self.last = (int(str(last["audit_head"])), str(last["hash"]))

    def write(self, seq: int, hash_: str) -> None:
        """Append the head ``seq``/``hash_`` (unless it is the last one written)."""
        with self._lock:
            if self._fd is None or self.last == (seq, hash_) or seq < self._written:
                return
            at = datetime.now(UTC).isoformat(timespec="milliseconds")
            head: dict[str, object] = {"audit_head": seq, "hash": hash_, "at": at}
            head.update(key=self.key.id, prev=self._prev)
            head["mac"] = self.key.sign(HEAD_LABEL, _line_fields(head))
            line = json.dumps(head, separators=(", ", ": ")) + "\n"
            os.write(self._fd, line.encode())  # one write: O_APPEND keeps lines whole
            self._prev, self.last, self._written = str(head["mac"]), (seq, hash_), seq

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None


def _last_head(path: Path) -> dict[str, object] | None:
    with path.open("rb") as file:
        size = file.seek(0, os.SEEK_END)
        file.seek(max(0, size - TAIL_BYTES))
        lines = file.read().decode("utf-8", errors="replace").splitlines()
    for line in reversed(lines):
        start = line.find('{"audit_head"')
        if start >= 0:
            try:
                head = json.loads(line[start:])
            except ValueError:
                return None  # a torn last line: the next one starts a new link
            return head if isinstance(head, dict) else None
    return None


class AuditHeads:
    """What the app runs for its audit trail: checks the key, writes signed
    heads (every N entries, every interval when the trail grew elsewhere, at
    start and stop) and verifies the trail against the heads file at start."""

    def __init__(self, audit: AuditLog, settings: AuditSettings) -> None:
        self.audit = audit
        self.settings = settings
        self.file: HeadsFile | None = None
        self._appended = 0

    def start(self) -> None:
        """Check (or make) the key and open the heads file; raises
        :class:`~stasis_app.safeguards.audit_key.AuditKeyError` on a missing or wrong key."""
        key = self.audit.check_key()
        if self.settings.heads_file is None:
            log.warning("audit heads are off (audit.heads_file): a trail cut short goes unseen")
            return
        self.file = HeadsFile(self.settings.heads_file, key)
        self.file.open()
        on_append(self.audit.store, self._appended_one)

    def verify(self) -> None:
        """Verify the trail from its checkpoint against the heads file (a
        trail cut short or put back to an older copy since the last run is
        an error in the log), then write the head found and a checkpoint."""
        heads = () if self.file is None else read_heads(self.file.path, self.file.key)
        check = self.audit.verify(heads=heads, save_checkpoint=True)
        if check.ok:
            log.info(
                "audit trail verified",
                extra={
                    "entries": check.entries,
                    "checked": check.checked,
                    "from_checkpoint": check.from_seq,
                    "heads": check.heads,
                    "unkeyed": check.unkeyed,
                },
            )
        else:
            log.error(
                "audit trail BROKEN",
                extra={"first_bad": check.first_bad, "problem": check.problem},
            )
        self.write_head()

    def _appended_one(self, entry: AuditEntry) -> None:
        self._appended += 1
        if self.file is not None and self._appended % self.settings.heads_every_entries == 0:
            self.file.write(entry.seq, entry.hash)

    def write_head(self) -> None:
        """Sign the trail's current head into the file (if it moved)."""
        if self.file is not None:
            seq, hash_ = self.audit.head()
            if seq:
                self.file.write(seq, hash_)

    async def run(self) -> None:
        """Every ``heads_interval``: a head for entries other processes wrote;
        every hour, a verify that moves the checkpoint on (so that the audit
        page verifies the last hour's entries, not the day's)."""
        last_check = time.monotonic()
        while True:
            await asyncio.sleep(self.settings.heads_interval)
            try:
                if time.monotonic() - last_check >= CHECK_EVERY:
                    last_check = time.monotonic()
                    await asyncio.to_thread(self.verify)
                else:
                    await self.audit.store.run(self.write_head)
            except Exception:  # a busy store or a full disk: try again next round
                log.exception("audit head could not be written")

    def stop(self) -> None:
        """The last head, then close (the app is stopping)."""
        on_append(self.audit.store, None)
        self.write_head()
        seq, hash_ = self.audit.head()
        log.info("audit head", extra={"seq": seq, "hash": hash_})
        if self.file is not None:
            self.file.close()
