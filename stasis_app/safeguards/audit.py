"""The audit trail: every login attempt, every operation, every prompt edit
and admin action, appended to a keyed hash chain in the state store.

Each entry carries an HMAC-SHA256, under the audit key
(:mod:`stasis_app.safeguards.audit_key`, never in the store), of its own fields and of
the entry before it: ``k1:<key id>:<mac>``. Editing, removing, swapping or
re-hashing entries without the key breaks the chain there, and
:meth:`AuditLog.verify` (``infolinia audit verify``) names the first broken
entry. Cutting entries off the end leaves a shorter chain that is still
whole: the app writes signed chain heads to a file outside the store
(:mod:`stasis_app.safeguards.audit_heads`), and verify checks the trail still reaches
every head it is given (``--heads FILE``, ``--expect-head SEQ:HASH``).

Trails written before the key carry plain SHA-256 hashes (64 hex digits).
They stay as they are: the first keyed entry (action ``audit_key``) follows
the last of them and so anchors them, and verify reports how many entries
are unkeyed. A plain entry after a keyed one, or a trail with no keyed entry
at all, is a rewrite (whoever did it lacked the key).

Verify reads the table in pages by seq (never the whole table at once) and
starts from a signed checkpoint (the last entry an earlier verify found
whole), so a long trail is not recomputed every time; ``full=True``
recomputes every entry.

A block's reference finds the proof of its report
(``infolinia audit show --reference R``): PSD2 art. 70 asks that a customer
can have it for 18 months, so entries are never deleted by the app.

No secret ever reaches an entry: customer numbers are masked, PINs and dates
of birth are never passed in (``detail`` refuses keys that look like them).
"""

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from stasis_app.config import audit_settings
from stasis_app.errors import InfoliniaError
from stasis_app.safeguards.audit_key import AuditKey, AuditKeyError, AuditKeyMissing, read_key
from stasis_app.safeguards.group_commit import GroupCommit
from stasis_app.store import Connection, Store
from stasis_app.telephony.key_waits import AUDIT, waiting_on

log = logging.getLogger(__name__)
GENESIS = "0" * 64
SECRET_WORDS = ("pin", "birth", "secret", "password", "telekod", "token")
KEYED = "k1"  # the scheme marker of keyed entries: k1:<key id>:<hmac-sha256 hex>
ENTRY_LABEL = "infolinia-audit-entry"
CHECKPOINT_LABEL = "infolinia-audit-checkpoint"
PAGE = 1000  # rows read at once by verify and exports
# The store's write scope of the chain: appends take turns on every node, beside
# the login guard and the journal (stasis_app/store/state.py).
AUDIT_SCOPE = "audit"


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str  # ISO 8601, UTC
    tenant: str
    call_id: str
    caller: str  # the calling number, as the network gave it
    action: str  # identify, authenticate, block_card, ..., prompt_edit, admin_token
    customer: str  # masked: only the last three digits
    result: str  # ok, refused, locked, unavailable, confirmed, journaled, delivered, ...
    reference: str
    detail: str  # JSON object, no secrets
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ExpectedHead:
    """A chain head the trail must still reach: from a signed heads file or
    given by hand (``--expect-head``, e.g. read from the bank's log system)."""

    seq: int
    hash: str
    where: str  # what to name in a report: "heads file line 12 (at ...)", "--expect-head"


class HeadsError(InfoliniaError):
    """A heads file that cannot be trusted (a forged, reordered or missing line)."""


@dataclass(frozen=True)
class AuditCheck:
    ok: bool
    entries: int  # entries known whole: up to the checkpoint, and checked now
    first_bad: int | None = None  # seq of the first entry that does not verify
    problem: str = ""
    checked: int = 0  # entries recomputed by this verify
    from_seq: int = 0  # the checkpoint it started after (0: from the first entry)
    unkeyed: int = 0  # entries from before the audit key (seq 1..unkeyed)
    heads: int = 0  # expected heads the trail was found to reach
    full_at: str = ""  # when every entry was last recomputed ("" never)


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    unkeyed: int
    verified_at: str
    full_at: str
    mac: str

    def fields(self) -> list[Any]:
        return [self.seq, self.hash, self.unkeyed, self.verified_at, self.full_at]


def mask_customer(number: str) -> str:
    """``12345678`` -> ``*****678``: enough to tell entries apart, not to log in."""
    return "*" * max(0, len(number) - 3) + number[-3:] if number else ""


def _plain_digest(fields: list[Any]) -> str:
    """The hash of entries written before the audit key (unkeyed SHA-256)."""
    material = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


def _fields(entry: AuditEntry) -> list[Any]:
    values = asdict(entry)
    values.pop("hash")
    return list(values.values())


def _keyed_hash(key: AuditKey, fields: list[Any]) -> str:
    return f"{KEYED}:{key.id}:{key.sign(ENTRY_LABEL, fields)}"


def key_id_of(hash_: str) -> str | None:
    """The key id a keyed hash names; None for an entry from before the key."""
    parts = hash_.split(":")
    return parts[1] if len(parts) == 3 and parts[0] == KEYED else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


# Called after every entry this process appends, per state store (the app's
# signed heads: stasis_app.safeguards.audit_heads). Appends run on several threads.
_after_append: dict[str, Callable[[AuditEntry], None]] = {}
_after_append_lock = threading.Lock()


def on_append(store: Store, callback: Callable[[AuditEntry], None] | None) -> None:
    """Have ``callback`` told of every entry appended to ``store`` in this
    process (None: no longer)."""
    with _after_append_lock:
        if callback is None:
            _after_append.pop(str(store.where), None)
        else:
            _after_append[str(store.where)] = callback


class AuditLog:
    """Appends to and checks the keyed, hash-chained audit trail.

    ``key`` is the audit key; by default it is read (on first use) as the
    config that named this state store says (:func:`stasis_app.config.audit_settings`).
    """

    def __init__(self, store: Store, key: AuditKey | None = None) -> None:
        self.store = store
        self._key = key
        self._group: GroupCommit[AuditEntry, AuditEntry] = GroupCommit(self._write, store.run)

    # --- the key ------------------------------------------------------------

    def key(self, *, create: bool = False) -> AuditKey:
        """The audit key. With ``create``, a missing key file is made, but only
        while the trail has no keyed entry: a lost key is never replaced."""
        if self._key is not None:
            return self._key
        settings = audit_settings(self.store.where)
        try:
            self._key = read_key(settings)
        except AuditKeyMissing:
            if not create:
                raise
            newest = self._newest()
            if newest is not None and key_id_of(newest[1]) is not None:
                raise AuditKeyError(
                    f"the audit trail is signed with audit key {key_id_of(newest[1])} "
                    f"(entry #{newest[0]}) but {settings.key_file} is gone: restore it "
                    "(or set $INFOLINIA_AUDIT_KEY); a new key would leave the trail "
                    "unverifiable"
                ) from None
            self._key = read_key(settings, create=True)
        return self._key

    def _newest(self) -> tuple[int, str] | None:
        query = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"
        row = self.store.read(lambda db: db.execute(query).fetchone())
        return (int(row[0]), str(row[1])) if row else None

    def check_key(self) -> AuditKey:
        """The key, made if the trail is new; refused when the trail's newest
        entry was signed with another key. A trail from before the key gets
        its anchor now (what the app does at start)."""
        key = self.key(create=True)
        self.store.transaction(lambda db: _follow(db, key), AUDIT_SCOPE)
        return key

    # --- writing ------------------------------------------------------------

    def append(
        self,
        *,
        tenant: str,
        action: str,
        result: str,
        call_id: str = "",
        caller: str = "",
        customer: str = "",
        reference: str = "",
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Add one entry (``customer`` in clear: it is masked here)."""
        return self._write(
            [_draft(tenant, action, result, call_id, caller, customer, reference, detail)]
        )[0]

    @property
    def commits(self) -> int:
        """Write transactions :meth:`record` has made so far (fewer than its
        entries when entries arrived together)."""
        return self._group.writes

    async def record(self, **fields: Any) -> AuditEntry:
        """:meth:`append`, off the event loop; entries recorded while another
        append commits are written together with the next (group_commit.py)."""
        draft = _draft(**fields)  # a secret-looking detail is refused here, at once
        with waiting_on(AUDIT):  # a call's key-to-prompt figures count it
            return await self._group.submit(draft)

    def _write(self, drafts: list[AuditEntry]) -> list[AuditEntry]:
        """Chain ``drafts`` (seq, prev_hash and hash still to fill) onto the
        trail in one write transaction of the audit's scope."""
        key = self.key(create=True)

        def work(db: Connection) -> list[AuditEntry]:
            seq, prev = _follow(db, key)
            at = _now()  # in the chain's lock: times never go back as seq goes up
            written = []
            for draft in drafts:
                entry = _insert(db, key, replace(draft, seq=seq, at=at, prev_hash=prev))
                written.append(entry)
                seq, prev = seq + 1, entry.hash
            return written

        entries = self.store.transaction(work, AUDIT_SCOPE)
        callback = _after_append.get(str(self.store.where))
        if callback is not None:
            for entry in entries:
                try:
                    callback(entry)
                except Exception:  # committed: a failed signed head must not undo that
                    log.exception(
                        "audit entry written, its signed head not", extra={"seq": entry.seq}
                    )
        return entries

    # --- reading ------------------------------------------------------------

    def entries(
        self,
        *,
        reference: str | None = None,
        tenant: str | None = None,
        since: str | None = None,
        until: str | None = None,
        result: str | None = None,
        before: int | None = None,
        limit: int = 1000,
    ) -> list[AuditEntry]:
        """Entries matching every filter given, oldest first (the newest ``limit``
        of them; with ``before``, the newest below that seq: the next page back).
        ``since``/``until`` compare with the time's start: dates include their day."""
        where, args = self._where(reference, tenant, since, until, result)
        if before is not None:
            where.append("seq < ?")
            args.append(before)
        query = "SELECT * FROM audit" + (" WHERE " + " AND ".join(where) if where else "")
        query += " ORDER BY seq DESC LIMIT ?"
        rows = self.store.read(lambda db: db.execute(query, (*args, limit)).fetchall())
        return [AuditEntry(*row) for row in reversed(rows)]

    def page(
        self,
        *,
        after: int = 0,
        reference: str | None = None,
        tenant: str | None = None,
        since: str | None = None,
        until: str | None = None,
        result: str | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Up to ``limit`` (default :data:`PAGE`) matching entries after seq
        ``after``, oldest first (a long trail is read page by page: each page
        one short read)."""
        limit = PAGE if limit is None else limit
        where, args = self._where(reference, tenant, since, until, result)
        where.append("seq > ?")
        args.append(after)
        query = "SELECT * FROM audit WHERE " + " AND ".join(where) + " ORDER BY seq LIMIT ?"
        rows = self.store.read(lambda db: db.execute(query, (*args, limit)).fetchall())
        return [AuditEntry(*row) for row in rows]

    def stream(self, *, after: int = 0, **filters: Any) -> Iterator[AuditEntry]:
        """Every matching entry after seq ``after``, oldest first, read a page at a time."""
        while True:
            rows = self.page(after=after, **filters)
            yield from rows
            if len(rows) < (filters.get("limit") or PAGE):
                return
            after = rows[-1].seq

    @staticmethod
    def _where(
        reference: str | None,
        tenant: str | None,
        since: str | None,
        until: str | None,
        result: str | None,
    ) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        args: list[Any] = []
        for column, value in (("reference", reference), ("tenant", tenant), ("result", result)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if since is not None:
            where.append("at >= ?")
            args.append(since)
        if until is not None:  # a date: the whole day; a time: up to it
            where.append("substr(at, 1, length(?)) <= ?")
            args += [until, until]
        return where, args

    def head(self) -> tuple[int, str]:
        """The last entry's seq and hash (what a signed head records)."""
        return self._newest() or (0, GENESIS)

    # --- verifying ----------------------------------------------------------

    def verify(
        self,
        *,
        full: bool = False,
        heads: Iterable[ExpectedHead] = (),
        save_checkpoint: bool = False,
    ) -> AuditCheck:
        """Recompute the chain, page by page, from the stored checkpoint (or
        from the first entry: ``full``, or no checkpoint); stop at the first
        break. ``heads`` (ascending seq) must each still be in the trail with
        the hash they name: a trail cut short, or restored from an older
        copy, does not reach them. ``save_checkpoint`` stores (signed) where a
        whole trail ended, for the next verify to start from."""
        try:
            key = self.key()
        except AuditKeyError as exc:
            return AuditCheck(False, 0, None, exc.problem)
        return _Verifier(self, key, heads).run(full=full, save_checkpoint=save_checkpoint)

    def checkpoint(self) -> Checkpoint | None:
        row = self.store.read(
            lambda db: db.execute(
                "SELECT seq, hash, unkeyed, verified_at, full_at, mac FROM audit_checkpoint "
                "WHERE id = 1"
            ).fetchone()
        )
        return Checkpoint(*row) if row else None

    def _save_checkpoint(self, key: AuditKey, point: Checkpoint) -> None:
        mac = key.sign(CHECKPOINT_LABEL, point.fields())

        def work(db: Connection) -> None:
            db.execute(
                "INSERT INTO audit_checkpoint (id, seq, hash, unkeyed, verified_at, full_at, mac) "
                "VALUES (1, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, "
                "hash = excluded.hash, unkeyed = excluded.unkeyed, verified_at = "
                "excluded.verified_at, full_at = excluded.full_at, mac = excluded.mac",
                (*point.fields(), mac),
            )

        self.store.transaction(work, AUDIT_SCOPE)


def _draft(
    tenant: str,
    action: str,
    result: str,
    call_id: str = "",
    caller: str = "",
    customer: str = "",
    reference: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """An entry's own fields, checked (no secret-looking detail), the customer
    masked; its time and place in the chain are filled in when it is written."""
    detail = detail or {}
    for name in detail:
        if any(word in name.lower() for word in SECRET_WORDS):
            raise ValueError(f"audit detail {name!r} looks like a secret")
    text = json.dumps(detail, ensure_ascii=False, sort_keys=True)
    return AuditEntry(
        0, "", tenant, call_id, caller, action, mask_customer(customer),
        result, reference, text, "", "",
    )  # fmt: skip


def _insert(db: Connection, key: AuditKey, draft: AuditEntry) -> AuditEntry:
    entry = AuditEntry(**{**asdict(draft), "hash": _keyed_hash(key, _fields(draft))})
    db.execute(
        "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        tuple(asdict(entry).values()),
    )
    return entry


def _follow(db: Connection, key: AuditKey) -> tuple[int, str]:
    """The seq and previous hash of the next entry (in a write transaction):
    refused if the trail's newest entry was signed with another key; after a
    trail from before the key, first its anchor."""
    last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    if last is None:
        return 1, GENESIS
    seq, prev = int(last[0]), str(last[1])
    _same_key(key, seq, prev)
    if key_id_of(prev) is None:
        # The first keyed entry of a trail from before the key: it anchors
        # the unkeyed ones (their count, and their head as its prev_hash).
        anchor = AuditEntry(
            seq + 1, _now(), "*", "", "", "audit_key", "", "keyed", "",
            json.dumps({"key_id": key.id, "unkeyed_entries": seq}), prev, "",
        )  # fmt: skip
        return seq + 2, _insert(db, key, anchor).hash
    return seq + 1, prev


def _same_key(key: AuditKey, seq: int, hash_: str) -> None:
    written_with = key_id_of(hash_)
    if written_with is not None and written_with != key.id:
        raise AuditKeyError(
            f"the audit trail's newest entry #{seq} is signed with audit key {written_with}; "
            f"the key from {key.source} is {key.id}: give the key that wrote the trail"
        )


class _Verifier:
    """One run of :meth:`AuditLog.verify`."""

    def __init__(self, audit: AuditLog, key: AuditKey, heads: Iterable[ExpectedHead]) -> None:
        self.audit = audit
        self.key = key
        self.heads = iter(heads)
        self.pending: ExpectedHead | None = None  # the next head not yet reached
        self.last_head: ExpectedHead | None = None
        self.reached = 0
        self.unkeyed = 0
        self.keyed_seen = False
        self.checked = 0

    def run(self, *, full: bool, save_checkpoint: bool) -> AuditCheck:
        start = None if full else self.audit.checkpoint()
        try:
            return self._run(start, save_checkpoint)
        except HeadsError as exc:
            return self._fail(None, str(exc), start)

    def _run(self, start: Checkpoint | None, save_checkpoint: bool) -> AuditCheck:
        self._next_head()
        prev, expected = GENESIS, 1
        if start is not None:
            problem = self._resume(start)
            if problem is not None:
                return self._fail(start.seq, problem, None)
            prev, expected = start.hash, start.seq + 1
            self.unkeyed, self.keyed_seen = start.unkeyed, True
            # Heads at or below the checkpoint were reached by an earlier
            # verify: only their signatures and order are checked now.
            while self.pending is not None and self.pending.seq <= start.seq:
                if self.pending.seq == start.seq and self.pending.hash != start.hash:
                    return self._fail(start.seq, self._not_head(self.pending), start)
                self.reached += 1
                self._next_head()
        for entry in self.audit.stream(after=expected - 1):
            if entry.seq != expected:
                gone = f"entries {expected}..{entry.seq - 1} are gone"
                return self._fail(entry.seq, gone, start)
            if entry.prev_hash != prev:
                return self._fail(entry.seq, "does not follow the entry before it", start)
            problem = self._check(entry)
            if problem is not None:
                return self._fail(entry.seq, problem, start)
            while self.pending is not None and self.pending.seq == entry.seq:
                if self.pending.hash != entry.hash:
                    return self._fail(entry.seq, self._not_head(self.pending), start)
                self.reached += 1
                self._next_head()
            prev, expected = entry.hash, entry.seq + 1
            self.checked += 1
        last = expected - 1
        if self.pending is not None:
            head = self.pending
            while self.pending is not None:  # name the furthest head the trail misses
                head = self.pending
                self._next_head()
            return self._fail(
                last + 1,
                f"entries {last + 1}..{head.seq} are gone from the end: {head.where} "
                f"saw #{head.seq}, the trail ends at #{last}",
                start,
            )
        if last and not self.keyed_seen:
            return self._fail(
                1,
                "no entry is signed with the audit key: the trail was written before the key "
                "(start the app once: its first keyed entry anchors them) or re-hashed by "
                "someone without the key",
                start,
            )
        full_at = start.full_at if start is not None else _now()
        if save_checkpoint and last and (start is None or last > start.seq):
            self.audit._save_checkpoint(
                self.key, Checkpoint(last, prev, self.unkeyed, _now(), full_at, "")
            )
        return AuditCheck(
            True,
            last,
            checked=self.checked,
            from_seq=start.seq if start else 0,
            unkeyed=self.unkeyed,
            heads=self.reached,
            full_at=full_at,
        )

    def _resume(self, start: Checkpoint) -> str | None:
        """Why the checkpoint cannot be trusted, or None (its entry is recomputed:
        the checkpoint must still name the entry it was written for)."""
        if not self.key.check(CHECKPOINT_LABEL, start.fields(), start.mac):
            return (
                "the stored checkpoint is not signed with the audit key: forged in the store "
                "(verify --full recomputes every entry)"
            )
        rows = self.audit.page(after=start.seq - 1, limit=1)
        if not rows or rows[0].seq != start.seq:
            return f"entry #{start.seq}, found whole on {start.verified_at}, is gone"
        entry = rows[0]
        problem = self._check(entry)
        if problem is None and entry.hash != start.hash:
            problem = "is not the entry found whole there on " + start.verified_at
        if problem is not None:
            return problem
        self.checked += 1
        return None

    def _check(self, entry: AuditEntry) -> str | None:
        """What is wrong with one entry's own hash, or None."""
        written_with = key_id_of(entry.hash)
        if written_with is None:
            if self.keyed_seen:
                return (
                    "is not signed with the audit key, though entries before it are: "
                    "re-hashed by someone without the key"
                )
            if _plain_digest(_fields(entry)) != entry.hash:
                return "was changed after it was written"
            self.unkeyed += 1
            return None
        if written_with != self.key.id:
            return (
                f"is signed with audit key {written_with}, not with the key given "
                f"({self.key.id}, from {self.key.source}): rewritten with another key, "
                "or the wrong key was given"
            )
        if not hmac.compare_digest(_keyed_hash(self.key, _fields(entry)), entry.hash):
            return (
                "was changed after it was written (its signature does not match: "
                "edited, moved, or re-hashed without the key)"
            )
        self.keyed_seen = True
        return None

    def _next_head(self) -> None:
        previous = self.pending
        self.pending = next(self.heads, None)
        if previous is not None:
            self.last_head = previous
        if self.pending is not None and previous is not None and self.pending.seq < previous.seq:
            raise HeadsError(
                f"{self.pending.where} names #{self.pending.seq}, after {previous.where} named "
                f"#{previous.seq}: the trail was cut or put back to an older copy between them"
            )

    @staticmethod
    def _not_head(head: ExpectedHead) -> str:
        return (
            f"is not the entry {head.where} saw as #{head.seq}: the trail was rewritten "
            "from here on"
        )

    def _fail(self, seq: int | None, problem: str, start: Checkpoint | None) -> AuditCheck:
        verified = (seq - 1) if seq else 0
        return AuditCheck(
            False,
            max(0, verified),
            seq,
            problem,
            checked=self.checked,
            from_seq=start.seq if start else 0,
            unkeyed=self.unkeyed,
            heads=self.reached,
        )
