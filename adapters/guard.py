"""The core's guard around every adapter call: a timeout per call, one
exception tree, and a log line per failure (never with secrets).

Whatever an adapter does (hangs, raises its own exceptions, returns late),
the call's task gets either a result or an :class:`~adapters.errors.AdapterError`
within ``timeout`` seconds, so the caller always hears something.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable
from datetime import date
from typing import TypeVar

from adapters.errors import AdapterError, Timeout, Unavailable
from adapters.spec import Account, BlockResult, Card, CoreBanking, Customer, Operation

log = logging.getLogger(__name__)
T = TypeVar("T")


class GuardedAdapter:
    """Wraps a :class:`CoreBanking` adapter; is one itself."""

    def __init__(self, adapter: CoreBanking, name: str, timeout: float) -> None:
        self.adapter = adapter
        self.name = name
        self.timeout = timeout

    async def _guard(self, operation: str, work: Awaitable[T]) -> T:
        started = time.monotonic()
        try:
            return await asyncio.wait_for(work, self.timeout)
        except TimeoutError:
            log.warning(
                "adapter timed out",
                extra={"adapter": self.name, "operation": operation, "seconds": self.timeout},
            )
            raise Timeout(f"{self.name}.{operation} did not answer in {self.timeout}s") from None
        except AdapterError as exc:
            log.info(
                "adapter said no",
                extra={"adapter": self.name, "operation": operation, "error": type(exc).__name__},
            )
            raise
        except Exception as exc:
            # Only the type: an adapter's own message could carry what it was given.
            log.warning(
                "adapter failed",
                extra={
                    "adapter": self.name,
                    "operation": operation,
                    "error": type(exc).__name__,
                    "seconds": round(time.monotonic() - started, 3),
                },
            )
            raise Unavailable(f"{self.name}.{operation} failed: {type(exc).__name__}") from None

    async def identify(self, customer_number: str, birth_date: date) -> Customer:
        return await self._guard("identify", self.adapter.identify(customer_number, birth_date))

    async def authenticate(self, customer_number: str, pin: str) -> Customer:
        return await self._guard("authenticate", self.adapter.authenticate(customer_number, pin))

    async def list_cards(self, customer: Customer) -> list[Card]:
        return await self._guard("list_cards", self.adapter.list_cards(customer))

    async def block_card(self, customer: Customer, card_id: str, operation_id: str) -> BlockResult:
        return await self._guard(
            "block_card", self.adapter.block_card(customer, card_id, operation_id)
        )

    async def block_internet_banking(self, customer: Customer, operation_id: str) -> BlockResult:
        return await self._guard(
            "block_internet_banking", self.adapter.block_internet_banking(customer, operation_id)
        )

    async def list_accounts(self, customer: Customer) -> list[Account]:
        return await self._guard("list_accounts", self.adapter.list_accounts(customer))

    async def last_operations(self, customer: Customer, limit: int = 5) -> list[Operation]:
        return await self._guard("last_operations", self.adapter.last_operations(customer, limit))

    async def close(self) -> None:
        await self._guard("close", self.adapter.close())
