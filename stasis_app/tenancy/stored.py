"""Banks kept in the state store (``tenants``, migration 12), beside the
config file's: the file stays the seed and its banks win.

A stored bank is the same mapping a bank has under ``tenants:`` in the file
(``name``, ``lines``, ``flow`` relative to the config file's folder,
``adapter``, ``prompts``, ``queues``...), kept as JSON with a revision: the
store's change counter when it was last written (every node looks at the
revisions each :data:`FOLLOW_EVERY` seconds, one read of a small table, and
serves a new or changed bank after rendering its prompts).

Rules an operator can count on (docs/tenants.md):

* an id or a dialled number is one bank's: adding or changing a stored bank
  is refused when another bank (of the file or the store) has its id or one
  of its numbers; the check of the store's own banks is made inside the
  write transaction, so two admins adding the same number at once cannot
  both succeed;
* a stored bank that does not load on a node (its adapter's plugin is not
  installed there, its key's variable is unset, the file took its number
  since) is left out on that node with its problem in the log and on the
  banks page; the file's banks and the other stored banks serve.
"""

import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from stasis_app.config import Settings
from stasis_app.deployment import Deployment, build_deployment
from stasis_app.errors import ConfigError, InfoliniaError
from stasis_app.store import Connection, Store
from stasis_app.tenants import Tenant

log = logging.getLogger(__name__)

FOLLOW_EVERY = 1.0  # seconds between a node's looks at the stored banks
STORE_SOURCE = "state store"  # what a stored bank's ConfigError names as its file
COLUMNS = "id, spec, revision, created_by, created_at, changed_by, changed_at"


class TenantStoreError(InfoliniaError):
    """A stored bank cannot be added or changed as asked (the message is fit
    for the admin who asked; ``field`` names the form's field at fault)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class StaleTenant(TenantStoreError):
    """The bank was changed meanwhile (another admin saved it first)."""


@dataclass(frozen=True)
class StoredTenant:
    """One bank of the store, as the page saved it."""

    id: str
    spec: dict[str, Any]  # as under tenants.ID in the config file (without id)
    revision: int
    created_by: str
    created_at: str  # ISO 8601, UTC
    changed_by: str
    changed_at: str


@dataclass(frozen=True)
class Origin:
    """Where a bank comes from: the config file (``where`` is its path) or
    the store (who added it and when, who changed it last)."""

    kind: str  # "file" or "store"
    where: str
    created_by: str = ""
    created_at: str = ""
    changed_by: str = ""
    changed_at: str = ""
    problem: str = ""  # a stored bank this node leaves out: why

    def describe(self) -> str:
        """In a line, for the command line."""
        if self.kind == "file":
            return f"file {self.where}"
        said = f"store, added by {self.created_by} {self.created_at}"
        if self.changed_at != self.created_at:
            said += f", changed by {self.changed_by} {self.changed_at}"
        return said

    def as_json(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v or k in ("kind", "where")}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _stored(row: Any) -> StoredTenant:
    id_, spec, revision, *rest = row
    return StoredTenant(str(id_), json.loads(spec), int(revision), *map(str, rest))


def _lines_of(spec: Mapping[str, Any]) -> list[str]:
    lines = spec.get("lines")
    return [str(line) for line in lines] if isinstance(lines, list) else []


class TenantStore:
    """The banks of one state store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def all(self) -> list[StoredTenant]:
        query = f"SELECT {COLUMNS} FROM tenants ORDER BY id"
        return [_stored(row) for row in self.store.read(lambda db: db.execute(query).fetchall())]

    def get(self, tenant: str) -> StoredTenant | None:
        query = f"SELECT {COLUMNS} FROM tenants WHERE id = ?"
        row = self.store.read(lambda db: db.execute(query, (tenant,)).fetchone())
        return None if row is None else _stored(row)

    def revisions(self) -> dict[str, int]:
        """Every stored bank's revision (what each node looks at each second)."""
        rows = self.store.read(lambda db: db.execute("SELECT id, revision FROM tenants").fetchall())
        return {str(id_): int(revision) for id_, revision in rows}

    def save(
        self,
        tenant: str,
        spec: Mapping[str, Any],
        who: str,
        file_tenants: Mapping[str, Tenant],
        *,
        expected_revision: int | None = None,
    ) -> StoredTenant:
        """Add bank ``tenant`` (``expected_revision`` None) or change it (the
        revision its editor saw; else :class:`StaleTenant`). ``file_tenants``:
        the config file's banks. Refused (:class:`TenantStoreError`) when
        another bank has the id or one of the numbers."""
        text = json.dumps(dict(spec), ensure_ascii=False, sort_keys=True)
        lines = _lines_of(spec)
        if tenant in file_tenants:
            raise TenantStoreError("id", f"bank {tenant} is in the config file: change it there")
        file_lines = {line: t.id for t in file_tenants.values() for line in t.lines}
        for line in lines:
            if line in file_lines:
                raise TenantStoreError("lines", f"number {line} is a line of {file_lines[line]}")

        def work(db: Connection) -> None:
            rows = db.execute("SELECT id, spec, revision FROM tenants").fetchall()
            current = {str(id_): int(revision) for id_, _, revision in rows}
            for id_, other, _ in rows:
                if str(id_) == tenant:
                    continue
                for line in _lines_of(json.loads(other)):
                    if line in lines:
                        raise TenantStoreError("lines", f"number {line} is a line of {id_}")
            revision = max(current.values(), default=0) + 1
            now = _now()
            if expected_revision is None:
                if tenant in current:
                    raise TenantStoreError("id", f"bank {tenant} exists already")
                db.execute(
                    f"INSERT INTO tenants ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (tenant, text, revision, who, now, who, now),
                )
                return
            if current.get(tenant) != expected_revision:
                raise StaleTenant("id", f"bank {tenant} was changed meanwhile: open it again")
            db.execute(
                "UPDATE tenants SET spec = ?, revision = ?, changed_by = ?, changed_at = ? "
                "WHERE id = ?",
                (text, revision, who, now, tenant),
            )

        self.store.transaction(work)
        saved = self.get(tenant)
        assert saved is not None  # written just now
        return saved


def stored_tenant(settings: Settings, stored: StoredTenant) -> Tenant:
    """A stored bank as the app's model of a bank, checked as the file's are
    (its flow relative to the config file's folder); ConfigError naming the
    store, the bank and the field."""
    try:
        tenant = Tenant(**{**stored.spec, "id": stored.id})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        problem = first["msg"].removeprefix("Value error, ")
        raise ConfigError(STORE_SOURCE, f"tenants.{stored.id}.{field}", problem) from None
    flow = tenant.flow if tenant.flow.is_absolute() else settings.source.parent / tenant.flow
    return tenant.model_copy(update={"flow": flow})


def with_stored(settings: Settings, stored: list[StoredTenant]) -> tuple[Settings, dict[str, str]]:
    """``settings`` (the config file's) with the stored banks added, and the
    stored banks left out (id -> why): a bad one, or one whose id or number
    the file has."""
    tenants = dict(settings.tenants)
    lines = {line: t.id for t in settings.tenants.values() for line in t.lines}
    left_out: dict[str, str] = {}
    for bank in stored:
        if bank.id in tenants:
            left_out[bank.id] = "the config file has a bank with this id"
            continue
        try:
            tenant = stored_tenant(settings, bank)
        except ConfigError as exc:
            left_out[bank.id] = f"{exc.field}: {exc.problem}"
            continue
        taken = [line for line in tenant.lines if line in lines]
        if taken:
            left_out[bank.id] = f"number {taken[0]} is a line of {lines[taken[0]]}"
            continue
        tenants[bank.id] = tenant
        lines.update(dict.fromkeys(tenant.lines, bank.id))
    return settings.model_copy(update={"tenants": tenants}), left_out


def build_serving(
    settings: Settings,
    stored: list[StoredTenant],
    build: Callable[[Settings], Deployment] = build_deployment,
) -> tuple[Settings, Deployment, dict[str, str]]:
    """The deployment of the file's banks and every stored bank that loads
    here (built and checked by ``build``, the app's own); the stored banks
    left out, with why. A problem of a file bank is the file's: raised."""
    merged, left_out = with_stored(settings, stored)
    stored_ids = {bank.id for bank in stored}
    while True:
        try:
            return merged, build(merged), left_out
        except ConfigError as exc:
            parts = exc.field.split(".")
            bank = parts[1] if len(parts) > 1 and parts[0] == "tenants" else ""
            if bank not in stored_ids or bank not in merged.tenants:
                raise
            left_out[bank] = f"{exc.field}: {exc.problem}"
            tenants = {k: v for k, v in merged.tenants.items() if k != bank}
            merged = merged.model_copy(update={"tenants": tenants})


def log_left_out(left_out: Mapping[str, str]) -> None:
    for bank, problem in left_out.items():
        log.error(
            "a bank of the state store does not load here: left out",
            extra={"tenant": bank, "problem": problem},
        )


def origins(
    settings: Settings, stored: list[StoredTenant], left_out: Mapping[str, str] | None = None
) -> dict[str, Origin]:
    """Every bank's origin: the file's (``settings`` as the file gave them),
    then the store's (with why this node leaves one out)."""
    found = {tenant: Origin("file", str(settings.source)) for tenant in settings.tenants}
    for bank in stored:
        if bank.id in found:
            continue
        found[bank.id] = Origin(
            "store",
            STORE_SOURCE,
            bank.created_by,
            bank.created_at,
            bank.changed_by,
            bank.changed_at,
            (left_out or {}).get(bank.id, ""),
        )
    return found


def relative_flow(settings: Settings, flow: Path) -> str:
    """A flow file as the config file would name it: relative to its folder
    when it is inside or beside it."""
    return os.path.relpath(flow, settings.source.parent)


def file_entry(settings: Settings, tenant: Tenant) -> dict[str, Any]:
    """A bank as the config file holds it under ``tenants.ID``: without its
    id and the settings left at their defaults, its flow named relative to
    the config file (what ``infolinia tenant export`` prints)."""
    dumped = tenant.model_dump(mode="json", exclude={"id"}, exclude_defaults=True)
    dumped["flow"] = relative_flow(settings, tenant.flow)
    return dumped
