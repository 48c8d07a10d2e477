"""A bank's call flow as versions in the state store (issue 20).

Each bank's flow lives in ``flow_versions`` (migration 10) as versions
numbered 1, 2, 3, ... per bank: the YAML text as written, its hash (the
:attr:`Flow.version` call records carry), author, time, comment, origin and
state: ``draft``, ``published`` (the live one: at most one per bank) or
``retired`` (live once). The rules an operator can count on (docs/flows.md,
"Versions and publishing"):

* **The file is the seed.** At every start and reload the app reads each
  bank's flow file (as it always did); a text the store has never had from a
  file for that bank (compared by hash) becomes a new version, origin
  ``file:<path>``: *published* when the bank's live version is itself a file
  import (or the bank has none yet), a *draft* otherwise (someone published
  through the command or the admin page since: the store wins, the log says
  the changed file waits as draft N). A file text seen before changes
  nothing, so a node with an older copy of the file never takes back a newer
  publish. The command line imports a bank's file only when the bank has no
  version at all.
* **Every save and publish runs the app's own flow checker**
  (:meth:`~stasis_app.deployment.Deployment.check_flow`: the checks of
  :mod:`stasis_app.flow.model` and the bank's queues). A draft with a
  problem is kept (work in progress) with its first problem (field, state);
  it cannot be published.
* **Publish is atomic**: one transaction of the bank's write scope
  ``flows:<bank>`` retires the live version and publishes the draft. A
  **revert** publishes an old version's text as a new version (origin
  ``revert:<n>``). Both are audited (``flow_publish``, ``flow_revert``: who,
  which version, its hash).
* **Going live**: the node that publishes swaps the bank's flow at once;
  every node looks at the published versions each :data:`FOLLOW_EVERY`
  seconds (one read of a small index) and swaps within that. A call keeps
  the :class:`Flow` it started with (``InfoliniaApp.handle_call``): calls in
  progress finish on their version, new calls take the new one.
"""

import asyncio
import difflib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from stasis_app.errors import ConfigError, InfoliniaError
from stasis_app.flow.model import Flow, flow_hash, parse_flow_text
from stasis_app.store import Connection, Store

if TYPE_CHECKING:  # the deployment is built on flows: no import back at run time
    from stasis_app.deployment import Deployment
    from stasis_app.safeguards.audit import AuditLog

log = logging.getLogger(__name__)

DRAFT, PUBLISHED, RETIRED = "draft", "published", "retired"
FOLLOW_EVERY = 1.0  # seconds between a node's looks at the published versions
MAX_TEXT = 256 * 1024  # characters of one version's YAML
FILE_ORIGIN = "file:"
COLUMNS = (
    "tenant, number, hash, author, at, comment, origin, based_on, state, "
    "published_by, published_at, problem"
)

# (tenant, YAML text, what errors name) -> the checked Flow, or a ConfigError.
Checker = Callable[[str, str, str], Flow]


def scope(tenant: str) -> str:
    """The store's write scope of a bank's versions (docs/state.md)."""
    return f"flows:{tenant}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class VersionError(InfoliniaError):
    """A version cannot be read, saved or published as asked (the message
    is fit for the admin who asked)."""


class UnknownVersion(VersionError, LookupError):
    """No such bank, or no such version of its flow."""


class StaleVersion(VersionError):
    """The draft is no longer what the editor saw (someone saved it meanwhile)."""


@dataclass(frozen=True)
class Problem:
    """What the flow checker found wrong: the field (``states.menu.on.3``),
    the state it is in ('' for the whole flow) and what is wrong."""

    field: str
    state: str
    problem: str

    @classmethod
    def of(cls, exc: ConfigError) -> "Problem":
        parts = exc.field.split(".")
        state = parts[1] if len(parts) > 1 and parts[0] == "states" else ""
        return cls(exc.field, state, exc.problem)

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class FlowRejected(VersionError):
    """The flow checker refused the version: it cannot be published."""

    def __init__(self, number: int, problem: Problem) -> None:
        self.number = number
        self.problem = problem
        super().__init__(f"version {number} cannot be published: {problem}")


@dataclass(frozen=True)
class FlowVersion:
    tenant: str
    number: int
    hash: str  # as Flow.version and call records' flow_version
    author: str
    at: str  # ISO 8601, UTC
    comment: str
    origin: str  # file:<path>, import, editor, revert:<n>
    based_on: int  # the version it was made from (0: none)
    state: str  # draft, published, retired
    published_by: str
    published_at: str
    problem: Problem | None  # the checker's first problem when saved
    text: str = ""  # the YAML (empty in lists: read one version with FlowVersions.get)

    def summary(self) -> dict[str, Any]:
        """As JSON for the admin API and ``--json`` (the text left out)."""
        values = {k: v for k, v in self.__dict__.items() if k != "text"}
        values["problem"] = None if self.problem is None else self.problem.__dict__
        return values


@dataclass(frozen=True)
class FlowDiff:
    """What changed from version ``old`` to ``new``: the YAML as a unified
    diff, and the states added, removed or changed (their YAML differs)."""

    old: int
    new: int
    unified: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    initial: tuple[str, str] | None = None  # (old, new) when the first state changed


@dataclass(frozen=True)
class LiveFlow:
    """Where a bank's live flow came from, as this node serves it."""

    version: FlowVersion | None  # None: the file, as read (no usable version)
    note: str = ""  # why the file serves instead of the store's version


def _problem(text: str) -> Problem | None:
    if not text:
        return None
    values = json.loads(text)
    return Problem(values["field"], values["state"], values["problem"])


def _version(row: Any, text: str = "") -> FlowVersion:
    values = list(row)
    values[11] = _problem(values[11])
    values.append(text)
    return FlowVersion(*values)


def check(
    checker: Checker, tenant: str, text: str, where: str
) -> tuple[Flow | None, Problem | None]:
    """Run the app's flow checker on ``text``: the flow, or the first problem."""
    try:
        return checker(tenant, text, where), None
    except ConfigError as exc:
        return None, Problem.of(exc)
    except Exception as exc:  # a verb's own rule tripping on odd input: still a problem
        log.warning("the flow checker failed on a version", extra={"error": type(exc).__name__})
        return None, Problem("-", "", f"the flow cannot be read ({type(exc).__name__})")


class FlowVersions:
    """The versions of every bank's flow in one store, and which one each
    bank of this node's deployment serves (:attr:`live`)."""

    def __init__(self, store: Store, audit: "AuditLog | None" = None) -> None:
        self.store = store
        self._audit = audit
        self.live: dict[str, LiveFlow] = {}  # by bank, for this node's deployment
        # A look at the store and this node's own publishes swap flows in turn:
        # a look that read version 2 never swaps it in after a publish of 3 here.
        self._swapping = asyncio.Lock()

    @property
    def audit(self) -> "AuditLog":
        if self._audit is None:
            from stasis_app.safeguards.audit import AuditLog

            self._audit = AuditLog(self.store)
        return self._audit

    # --- reading ------------------------------------------------------------

    def history(self, tenant: str) -> list[FlowVersion]:
        """Every version of the bank's flow, newest first (without texts)."""
        query = f"SELECT {COLUMNS} FROM flow_versions WHERE tenant = ? ORDER BY number DESC"
        rows = self.store.read(lambda db: db.execute(query, (tenant,)).fetchall())
        return [_version(row) for row in rows]

    def get(self, tenant: str, number: int) -> FlowVersion:
        """One version with its text."""
        query = f"SELECT {COLUMNS}, text FROM flow_versions WHERE tenant = ? AND number = ?"
        row = self.store.read(lambda db: db.execute(query, (tenant, number)).fetchone())
        if row is None:
            raise UnknownVersion(f"{tenant} has no flow version {number}")
        return _version(row[:-1], row[-1])

    def published(self, tenant: str) -> FlowVersion | None:
        """The bank's live version in the store, with its text."""
        query = f"SELECT {COLUMNS}, text FROM flow_versions WHERE tenant = ? AND state = ?"
        row = self.store.read(lambda db: db.execute(query, (tenant, PUBLISHED)).fetchone())
        return None if row is None else _version(row[:-1], row[-1])

    def published_numbers(self) -> dict[str, int]:
        """Every bank's live version number (what each node looks at each second)."""
        query = "SELECT tenant, number FROM flow_versions WHERE state = ?"
        rows = self.store.read(lambda db: db.execute(query, (PUBLISHED,)).fetchall())
        return {str(tenant): int(number) for tenant, number in rows}

    def newest_draft(self, tenant: str) -> FlowVersion | None:
        drafts = [v for v in self.history(tenant) if v.state == DRAFT]
        return drafts[0] if drafts else None

    def diff(self, tenant: str, old: int, new: int) -> FlowDiff:
        """What changed from version ``old`` to ``new``."""
        return diff_versions(self.get(tenant, old), self.get(tenant, new))

    # --- writing ------------------------------------------------------------

    def save_draft(
        self,
        tenant: str,
        text: str,
        author: str,
        checker: Checker,
        *,
        comment: str = "",
        origin: str = "editor",
        based_on: int | None = None,
    ) -> FlowVersion:
        """A new draft of the bank's flow, checked (its problem kept with it).
        ``based_on`` defaults to the live version."""
        _check_size(text)
        number_hint = "new draft"
        _, problem = check(checker, tenant, text, f"{tenant} flow, {number_hint}")

        def work(db: Connection) -> int:
            number = _next_number(db, tenant)
            base = based_on if based_on is not None else _live_number(db, tenant)
            _insert(db, tenant, number, text, author, comment, origin, base, DRAFT, problem)
            return number

        number = self.store.transaction(work, scope(tenant))
        log.info(
            "flow draft saved",
            extra={"tenant": tenant, "version": number, "ok": problem is None},
        )
        return self.get(tenant, number)

    def update_draft(
        self,
        tenant: str,
        number: int,
        text: str,
        author: str,
        checker: Checker,
        *,
        expected_hash: str,
        comment: str | None = None,
    ) -> FlowVersion:
        """Change a draft in place (still a draft, still the text the editor
        saw: ``expected_hash``; else :class:`StaleVersion`)."""
        _check_size(text)
        _, problem = check(checker, tenant, text, f"{tenant} flow, draft {number}")

        def work(db: Connection) -> None:
            row = db.execute(
                "SELECT state, hash, comment FROM flow_versions WHERE tenant = ? AND number = ?",
                (tenant, number),
            ).fetchone()
            if row is None:
                raise UnknownVersion(f"{tenant} has no flow version {number}")
            if row[0] != DRAFT:
                raise VersionError(f"version {number} is {row[0]}: only a draft changes")
            if row[1] != expected_hash:
                raise StaleVersion(f"draft {number} was changed meanwhile (now {row[1]})")
            db.execute(
                "UPDATE flow_versions SET text = ?, hash = ?, author = ?, at = ?, comment = ?, "
                "problem = ? WHERE tenant = ? AND number = ?",
                (text, flow_hash(text), author, _now(), row[2] if comment is None else comment,
                 _problem_text(problem), tenant, number),
            )  # fmt: skip

        self.store.transaction(work, scope(tenant))
        return self.get(tenant, number)

    def publish(
        self, tenant: str, number: int, who: str, checker: Checker, expected_hash: str = ""
    ) -> FlowVersion:
        """Make draft ``number`` the bank's live version (checked again first:
        :class:`FlowRejected` with the problem; refused and live stay as they
        were). Audited either way."""
        draft = self.get(tenant, number)
        if draft.state != DRAFT:
            raise VersionError(
                f"version {number} is {draft.state}: publish a draft, or revert to it"
            )
        if expected_hash and draft.hash != expected_hash:
            raise StaleVersion(f"draft {number} was changed meanwhile (now {draft.hash})")
        _, problem = check(checker, tenant, draft.text, f"{tenant} flow, draft {number}")
        if problem is not None:
            self._audit_change("flow_publish", "refused", tenant, draft, who, problem=problem)
            raise FlowRejected(number, problem)

        def work(db: Connection) -> int:
            row = db.execute(
                "SELECT state, hash FROM flow_versions WHERE tenant = ? AND number = ?",
                (tenant, number),
            ).fetchone()
            if row is None or row[0] != DRAFT or row[1] != draft.hash:
                raise StaleVersion(f"draft {number} was changed or published meanwhile")
            previous = _live_number(db, tenant)
            _retire(db, tenant)
            db.execute(
                "UPDATE flow_versions SET state = ?, published_by = ?, published_at = ? "
                "WHERE tenant = ? AND number = ?",
                (PUBLISHED, who, _now(), tenant, number),
            )
            return previous

        previous = self.store.transaction(work, scope(tenant))
        version = self.get(tenant, number)
        self._audit_change("flow_publish", "ok", tenant, version, who, previous=previous)
        log.info("flow version published", extra={"tenant": tenant, "version": number})
        return version

    def revert(
        self, tenant: str, number: int, who: str, checker: Checker, comment: str = ""
    ) -> FlowVersion:
        """Publish version ``number``'s text again, as a new version."""
        old = self.get(tenant, number)
        _, problem = check(checker, tenant, old.text, f"{tenant} flow, version {number}")
        if problem is not None:
            self._audit_change("flow_revert", "refused", tenant, old, who, problem=problem)
            raise FlowRejected(number, problem)
        note = comment or f"revert to version {number}"

        def work(db: Connection) -> tuple[int, int]:
            new = _next_number(db, tenant)
            previous = _live_number(db, tenant)
            _retire(db, tenant)
            _insert(db, tenant, new, old.text, who, note, f"revert:{number}", number,
                    PUBLISHED, None, published_by=who)  # fmt: skip
            return new, previous

        new, previous = self.store.transaction(work, scope(tenant))
        version = self.get(tenant, new)
        self._audit_change(
            "flow_revert", "ok", tenant, version, who, previous=previous, reverted_to=number
        )
        log.info(
            "flow version published", extra={"tenant": tenant, "version": new, "revert": number}
        )
        return version

    def _audit_change(
        self,
        action: str,
        result: str,
        tenant: str,
        version: FlowVersion,
        who: str,
        problem: Problem | None = None,
        **more: int,
    ) -> None:
        detail: dict[str, Any] = {"user": who, "version": version.number, "hash": version.hash}
        detail.update(more)
        if problem is not None:
            detail["field"], detail["problem"] = problem.field, problem.problem
        try:
            self.audit.append(tenant=tenant, action=action, result=result, detail=detail)
        except Exception:  # the change stands; the log says its entry is missing
            log.exception("a flow change could not be audited", extra={"tenant": tenant})

    # --- the files, and what this node serves -------------------------------

    def seed(self, deployment: "Deployment", *, changed_files: bool = True) -> dict[str, str]:
        """Import each bank's flow file as the rules say (module docstring);
        what happened per bank that changed: ``first``, ``published``,
        ``draft``. ``changed_files=False`` (the command line) imports only for
        banks with no version at all."""
        files = {}
        for tenant, served in deployment.tenants.items():
            # The deployment's flow is the file's as read at this start (its hash).
            text = served.tenant.flow.read_bytes().decode("utf-8")
            if flow_hash(text) == served.flow.version:
                files[tenant] = text
        known = self.store.read(_file_hashes)
        todo = {
            tenant: text
            for tenant, text in files.items()
            if tenant not in known or (changed_files and flow_hash(text) not in known[tenant])
        }
        if not todo:
            return {}

        def work(db: Connection) -> dict[str, str]:
            done = {}
            for tenant, text in todo.items():
                source = f"{FILE_ORIGIN}{deployment.tenants[tenant].tenant.flow}"
                done_here = _seed_one(db, tenant, text, source, changed_files)
                if done_here:
                    done[tenant] = done_here
            return done

        done = self.store.transaction(work)  # every bank at once: at start, rarely
        for tenant, what in done.items():
            if what == DRAFT:
                number = self.newest_draft(tenant)
                log.warning(
                    "the flow file changed, but the bank's live flow was published "
                    "through the store: the file waits as a draft (infolinia flow publish)",
                    extra={
                        "tenant": tenant,
                        "version": number.number if number else None,
                        "file": str(deployment.tenants[tenant].tenant.flow),
                    },
                )
            else:
                log.info("flow file imported", extra={"tenant": tenant, "as": what})
        return done

    def serve_published(self, deployment: "Deployment") -> dict[str, LiveFlow]:
        """Give each bank of ``deployment`` (not yet serving calls) its live
        version from the store, checked; where none checks, the file's flow
        stays and :class:`LiveFlow` says why. The banks' :class:`LiveFlow`
        (for :attr:`live`, set by the caller on the event loop)."""
        live: dict[str, LiveFlow] = {}
        for tenant, served in deployment.tenants.items():
            version = self.published(tenant)
            if version is None:
                live[tenant] = LiveFlow(None, "no version in the store")
                continue
            if version.hash != served.flow.version:
                flow, problem = check(
                    deployment.check_flow,
                    tenant,
                    version.text,
                    f"{tenant} flow, version {version.number}",
                )
                if flow is None:
                    log.error(
                        "the bank's published flow does not check here: the file serves",
                        extra={
                            "tenant": tenant,
                            "version": version.number,
                            "problem": str(problem),
                        },
                    )
                    live[tenant] = LiveFlow(None, f"version {version.number}: {problem}")
                    continue
                served.flow = flow
            live[tenant] = LiveFlow(_without_text(version))
        return live

    def prepare(self, deployment: "Deployment") -> dict[str, LiveFlow]:
        """At start and reload: :meth:`seed`, then :meth:`serve_published`."""
        self.seed(deployment)
        return self.serve_published(deployment)

    def go_live(self, deployment: "Deployment", version: FlowVersion, flow: Flow) -> None:
        """Swap the bank's flow on this node (on the event loop): new calls
        take ``flow``; calls in progress keep theirs."""
        served = deployment.tenants.get(version.tenant)
        if served is None:
            return
        served.flow = flow
        self.live[version.tenant] = LiveFlow(_without_text(version))
        log.info(
            "flow version live",
            extra={"tenant": version.tenant, "version": version.number, "hash": version.hash},
        )

    async def follow(
        self, deployment: Callable[[], "Deployment"], every: float = FOLLOW_EVERY
    ) -> None:
        """Look at the published versions every ``every`` seconds and swap the
        banks whose live version changed (published through another node or
        the command line)."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.refresh(deployment())
            except Exception:  # the store is down: the next look tries again
                log.warning("flow versions could not be looked at", exc_info=True)

    async def change_live(
        self, deployment: "Deployment", change: Callable[[], FlowVersion]
    ) -> FlowVersion:
        """Run ``change`` (a :meth:`publish` or :meth:`revert`) on the store's
        threads and serve its version on this node at once (the other nodes
        take it at their next look)."""
        async with self._swapping:
            version = await self.store.run(change)
            where = f"{version.tenant} flow, version {version.number}"
            flow = await asyncio.to_thread(
                deployment.check_flow, version.tenant, version.text, where
            )
            self.go_live(deployment, version, flow)
        return version

    async def refresh(self, deployment: "Deployment") -> list[str]:
        """One look: the banks whose flow was swapped."""
        async with self._swapping:
            return await self._refresh(deployment)

    async def _refresh(self, deployment: "Deployment") -> list[str]:
        numbers = await self.store.run(self.published_numbers)
        swapped = []
        for tenant, number in numbers.items():
            if tenant not in deployment.tenants:
                continue
            current = self.live.get(tenant)
            if current is not None and current.version is not None:
                if current.version.number == number:
                    continue
            elif current is not None and current.note.startswith(f"version {number}:"):
                continue  # refused here already: said once in the log
            version = await self.store.run(partial(self.published, tenant))
            if version is None:
                continue
            where = f"{tenant} flow, version {version.number}"
            flow, problem = await asyncio.to_thread(
                check, deployment.check_flow, tenant, version.text, where
            )
            if flow is None:
                log.error(
                    "the bank's published flow does not check here: the running one stays",
                    extra={"tenant": tenant, "version": version.number, "problem": str(problem)},
                )
                kept = current.version if current is not None else None
                self.live[tenant] = LiveFlow(kept, f"version {version.number}: {problem}")
                continue
            self.go_live(deployment, version, flow)
            swapped.append(tenant)
        return swapped


def diff_versions(old: FlowVersion, new: FlowVersion) -> FlowDiff:
    """The unified diff of two versions' YAML, and their states compared."""
    unified = "".join(
        difflib.unified_diff(
            old.text.splitlines(keepends=True),
            new.text.splitlines(keepends=True),
            f"version {old.number}",
            f"version {new.number}",
        )
    )
    before, after = _states(old.text), _states(new.text)
    initial = None
    if before is None or after is None:
        return FlowDiff(old.number, new.number, unified)
    (start_old, states_old), (start_new, states_new) = before, after
    if start_old != start_new:
        initial = (start_old, start_new)
    return FlowDiff(
        old.number,
        new.number,
        unified,
        added=[name for name in states_new if name not in states_old],
        removed=[name for name in states_old if name not in states_new],
        changed=[
            name
            for name in states_new
            if name in states_old and states_old[name] != states_new[name]
        ],
        initial=initial,
    )


def _states(text: str) -> tuple[str, dict[str, Any]] | None:
    try:
        raw = parse_flow_text(text, "-")
    except ConfigError:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("states"), dict):
        return None
    return str(raw.get("initial")), {str(k): v for k, v in raw["states"].items()}


def _check_size(text: str) -> None:
    if not text.strip():
        raise VersionError("a flow's text is empty")
    if len(text) > MAX_TEXT:
        raise VersionError(f"a flow's text is at most {MAX_TEXT} characters")


def _problem_text(problem: Problem | None) -> str:
    return "" if problem is None else json.dumps(problem.__dict__, ensure_ascii=False)


def _without_text(version: FlowVersion) -> FlowVersion:
    return FlowVersion(**{**version.__dict__, "text": ""})


def _next_number(db: Connection, tenant: str) -> int:
    row = db.execute("SELECT MAX(number) FROM flow_versions WHERE tenant = ?", (tenant,)).fetchone()
    return int(row[0] or 0) + 1


def _live_number(db: Connection, tenant: str) -> int:
    row = db.execute(
        "SELECT number FROM flow_versions WHERE tenant = ? AND state = ?", (tenant, PUBLISHED)
    ).fetchone()
    return int(row[0]) if row else 0


def _retire(db: Connection, tenant: str) -> None:
    db.execute(
        "UPDATE flow_versions SET state = ? WHERE tenant = ? AND state = ?",
        (RETIRED, tenant, PUBLISHED),
    )


def _insert(
    db: Connection,
    tenant: str,
    number: int,
    text: str,
    author: str,
    comment: str,
    origin: str,
    based_on: int,
    state: str,
    problem: Problem | None,
    published_by: str = "",
) -> None:
    at = _now()
    db.execute(
        f"INSERT INTO flow_versions ({COLUMNS}, text) VALUES ({', '.join('?' * 13)})",
        (tenant, number, flow_hash(text), author, at, comment, origin, based_on, state,
         published_by, at if state == PUBLISHED else "", _problem_text(problem), text),
    )  # fmt: skip


def _file_hashes(db: Connection) -> dict[str, set[str]]:
    """Per bank, the hashes of every text imported from a file (and banks
    with any version at all: an empty set when none came from a file)."""
    found: dict[str, set[str]] = {}
    for tenant, hash_, origin in db.execute("SELECT tenant, hash, origin FROM flow_versions"):
        hashes = found.setdefault(str(tenant), set())
        if str(origin).startswith(FILE_ORIGIN):
            hashes.add(str(hash_))
    return found


def _seed_one(db: Connection, tenant: str, text: str, source: str, changed_files: bool) -> str:
    """Inside the seeding transaction: import one bank's file text if the
    rules say so (read again under the lock: another node may have just
    done it). ``first``, ``published``, ``draft`` or '' (nothing to do)."""
    rows = db.execute(
        "SELECT hash, origin, state FROM flow_versions WHERE tenant = ?", (tenant,)
    ).fetchall()
    hash_ = flow_hash(text)
    if rows and not changed_files:
        return ""
    if any(h == hash_ and str(o).startswith(FILE_ORIGIN) for h, o, _ in rows):
        return ""
    live = [o for _, o, state in rows if state == PUBLISHED]
    number = _next_number(db, tenant)
    if not live or str(live[0]).startswith(FILE_ORIGIN):
        _retire(db, tenant)
        _insert(db, tenant, number, text, "file", "", source, 0, PUBLISHED, None,
                published_by="file")  # fmt: skip
        return "first" if not rows else PUBLISHED
    _insert(db, tenant, number, text, "file", "the flow file changed", source,
            _live_number(db, tenant), DRAFT, None)  # fmt: skip
    return DRAFT
