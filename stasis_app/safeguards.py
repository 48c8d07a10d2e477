"""What protects a call beyond its flow: the audit trail, the guessing
counters, the block journal and their settings, opened once per app on the
state store and handed to every call's context."""

import asyncio
from dataclasses import dataclass, field
from typing import Any

from stasis_app.audit import AuditLog
from stasis_app.config import SecuritySettings
from stasis_app.journal import BlockJournal
from stasis_app.login_guard import LoginGuard
from stasis_app.store import Store


@dataclass(frozen=True)
class Safeguards:
    settings: SecuritySettings
    audit: AuditLog
    guard: LoginGuard
    journal: BlockJournal
    # Blocks under way: the app waits for them before it exits.
    in_flight: set["asyncio.Future[Any]"] = field(default_factory=set)

    @classmethod
    def on(
        cls,
        store: Store,
        settings: SecuritySettings,
        in_flight: "set[asyncio.Future[Any]] | None" = None,
    ) -> "Safeguards":
        parts = (settings, AuditLog(store), LoginGuard(store, settings), BlockJournal(store))
        return cls(*parts, in_flight if in_flight is not None else set())
