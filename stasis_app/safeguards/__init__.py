"""What protects a call beyond its flow, opened on the state store at start and
again at every config reload (:meth:`Safeguards.on`; the blocks under way,
``in_flight``, carry over) and handed to every call's context:

* ``audit``: the keyed (HMAC) audit trail; ``audit_key``: its key, never in
  the store; ``audit_heads``: signed heads of the chain, written outside it;
* ``login_guard``: the guessing counters and locks of phone logins;
* ``journal``: the block journal's storage (blocks the bank has not
  confirmed yet, and block requests);
* ``blocks``: the block service every durable operation goes through
  (operation id, retry, journal, audit, shielding), and ``JournalWorker``;
* ``spool``: this node's spool, where a confirmed block's records wait
  while the store cannot take them (docs/state.md).

What it may import (``devtools/architecture.py``): the layers below it,
telephony, the store, the foundation (config, errors, ...), ``adapters``,
``voice`` and ``plugin``; it uses the store, config, errors and the adapter
contract. Never the call logic (flow, verbs, queue) or anything above it.
"""

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stasis_app.config import SecuritySettings
from stasis_app.safeguards.audit import AuditLog
from stasis_app.safeguards.blocks import BlockService
from stasis_app.safeguards.journal import BlockJournal
from stasis_app.safeguards.login_guard import LoginGuard
from stasis_app.safeguards.spool import Spool
from stasis_app.store import Store


@dataclass(frozen=True)
class Safeguards:
    settings: SecuritySettings
    audit: AuditLog
    guard: LoginGuard
    journal: BlockJournal
    # Durable operations (blocks): retry, journal, audit (stasis_app/safeguards/blocks.py).
    blocks: BlockService

    @property
    def in_flight(self) -> set["asyncio.Future[Any]"]:
        """Blocks under way: the app waits for them before it exits."""
        return self.blocks.in_flight

    @classmethod
    def on(
        cls,
        store: Store,
        settings: SecuritySettings,
        in_flight: "set[asyncio.Future[Any]] | None" = None,
    ) -> "Safeguards":
        audit, journal = AuditLog(store), BlockJournal(store)
        blocks = BlockService(journal, audit, in_flight, Spool(spool_folder(store, settings)))
        return cls(settings, audit, LoginGuard(store, settings), journal, blocks)


DEFAULT_SPOOL = Path("/var/lib/infolinia/spool")


def spool_folder(store: Store, settings: SecuritySettings) -> Path:
    """This node's spool: as configured, else beside a SQLite store (its own
    disk), else the default folder (a PostgreSQL store: each node has its own)."""
    if settings.spool_dir is not None:
        return settings.spool_dir
    if isinstance(store.where, Path):
        return store.where.parent / "spool"
    return DEFAULT_SPOOL
