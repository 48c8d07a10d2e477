"""The demo SMS sender: writes each message to an outbox file instead of a
phone (``infolinia demo-bank sms`` shows it; the tests read it).

The outbox stands for the customer's phone, so it holds the codes: one JSON
object a line, in a file only its owner may read (0600). Nothing else of
infolinia ever writes a code.
"""

import asyncio
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from adapters.errors import Unavailable
from adapters.sms import Sms


class OutboxSettings(BaseModel):
    """Settings of the ``demo-outbox`` sender in a bank's ``sms.settings``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outbox: Path = Field(description="the outbox file (JSON lines, made 0600)")


def _append(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.fchmod(fd, 0o600)  # also a file someone made with wider rights
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def read_outbox(path: Path) -> list[dict[str, Any]]:
    """Every message in the outbox, oldest first ([] when there is none)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class OutboxSender:
    """An :class:`~adapters.sms.SmsSender` that appends to a file."""

    def __init__(self, settings: OutboxSettings) -> None:
        self.path = settings.outbox

    async def send(self, sms: Sms) -> None:
        message = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "tenant": sms.tenant,
            "customer": sms.customer,
            "phone": sms.phone,
            "text": sms.text,
        }
        try:
            await asyncio.to_thread(
                _append, self.path, json.dumps(message, ensure_ascii=False) + "\n"
            )
        except OSError as exc:
            raise Unavailable(f"the outbox cannot be written ({type(exc).__name__})") from None

    async def close(self) -> None:
        return None
