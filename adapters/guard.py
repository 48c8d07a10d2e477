"""The core's guard around every adapter call: a timeout per call, one
exception tree, a log line per failure (never with secrets), and a circuit
breaker.

Whatever an adapter does (hangs, raises its own exceptions, returns late),
the call's task gets either a result or an :class:`~adapters.errors.AdapterError`
within ``timeout`` seconds, so the caller always hears something.

After ``breaker_failures`` failures in a row (timeouts or errors, not
refusals), the breaker opens: for ``breaker_seconds`` every call fails at
once with :class:`~adapters.errors.Unavailable`, so callers are not made to
wait for a core that is down. Then one call is let through; an answer
closes the breaker, a failure opens it again.

The optional operations (:class:`adapters.spec.OptionalOperation`) go
through the same guard; one the adapter does not offer (``offers``, from its
factory) is never asked for: it fails at once with ``Unavailable`` (the flow
checker keeps flows from getting there).
"""

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable
from datetime import date
from typing import Any, TypeVar

from adapters.errors import AdapterError, CircuitOpen, NotFound, Refused, Timeout, Unavailable
from adapters.spec import (
    Account,
    AccountSummary,
    Balance,
    BlockResult,
    Card,
    CoreBanking,
    Customer,
    ExchangeRate,
    Operation,
    OptionalOperation,
    PredefinedTransfer,
    TransferResult,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


class GuardedAdapter:
    """Wraps a :class:`CoreBanking` adapter; is one itself."""

    def __init__(
        self,
        adapter: CoreBanking,
        name: str,
        timeout: float,
        breaker_failures: int = 3,
        breaker_seconds: float = 30.0,
        offers: frozenset[OptionalOperation] = frozenset(),
    ) -> None:
        self.adapter = adapter
        self.offers = offers
        self.name = name
        self.timeout = timeout
        self.breaker_failures = breaker_failures
        self.breaker_seconds = breaker_seconds
        self._failures = 0
        self._open_until = 0.0

    @property
    def circuit_open(self) -> bool:
        return time.monotonic() < self._open_until

    def _failed(self) -> None:
        self._failures += 1
        if self._failures >= self.breaker_failures:
            if not self.circuit_open:
                log.warning(
                    "adapter circuit opened",
                    extra={
                        "adapter": self.name,
                        "failures": self._failures,
                        "seconds": self.breaker_seconds,
                    },
                )
            self._open_until = time.monotonic() + self.breaker_seconds

    def _answered(self) -> None:
        if self._failures >= self.breaker_failures:
            log.info("adapter circuit closed", extra={"adapter": self.name})
        self._failures = 0

    async def _guard(self, operation: str, work: Awaitable[T]) -> T:
        if self.circuit_open:
            if inspect.iscoroutine(work):
                work.close()  # never started: no "never awaited" warning
            raise CircuitOpen(f"{self.name}.{operation}: circuit open")
        try:
            result = await self._call(operation, work)
        except (Refused, NotFound):
            self._answered()  # the core answered: it is up
            raise
        except Unavailable:
            self._failed()
            raise
        self._answered()
        return result

    async def _call(self, operation: str, work: Awaitable[T]) -> T:
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

    # --- optional operations -------------------------------------------------------

    def _optional(self, operation: OptionalOperation) -> Any:
        """The adapter's method of ``operation``; ``Unavailable`` if it does not offer it."""
        if operation not in self.offers:
            raise Unavailable(f"{self.name} does not offer {operation.value}")
        return getattr(self.adapter, operation.value)

    async def account_list(self, customer: Customer) -> list[AccountSummary]:
        method = self._optional(OptionalOperation.ACCOUNT_LIST)
        return await self._guard("account_list", method(customer))

    async def account_balance(self, customer: Customer, account_id: str) -> Balance:
        method = self._optional(OptionalOperation.ACCOUNT_BALANCE)
        return await self._guard("account_balance", method(customer, account_id))

    async def account_operations(
        self, customer: Customer, account_id: str, limit: int = 5
    ) -> list[Operation]:
        method = self._optional(OptionalOperation.ACCOUNT_OPERATIONS)
        return await self._guard("account_operations", method(customer, account_id, limit))

    async def exchange_rates(self) -> list[ExchangeRate]:
        method = self._optional(OptionalOperation.EXCHANGE_RATES)
        return await self._guard("exchange_rates", method())

    async def bank_information(self) -> str | None:
        method = self._optional(OptionalOperation.BANK_INFORMATION)
        return await self._guard("bank_information", method())

    async def change_telekod(self, customer: Customer, old: str, new: str) -> None:
        method = self._optional(OptionalOperation.CHANGE_TELEKOD)
        await self._guard("change_telekod", method(customer, old, new))

    async def predefined_transfers(
        self, customer: Customer, account_id: str
    ) -> list[PredefinedTransfer]:
        method = self._optional(OptionalOperation.PREDEFINED_TRANSFERS)
        return await self._guard("predefined_transfers", method(customer, account_id))

    async def execute_transfer(
        self, customer: Customer, transfer: PredefinedTransfer, operation_id: str
    ) -> TransferResult:
        method = self._optional(OptionalOperation.EXECUTE_TRANSFER)
        return await self._guard("execute_transfer", method(customer, transfer, operation_id))

    async def close(self) -> None:
        await self._call("close", self.adapter.close())
