"""The demo bank: a sandbox core system in SQLite, for the demo and the tests.

Every tenant that names the ``demo`` adapter gets its own copy of the seed
data (customers 12345678 and 87654321). PINs and dates of birth are stored
as scrypt hashes and compared in constant time; failed logins and lockouts
are kept in the database, for PINs and dates of birth apart. Blocks are
idempotent on the operation id.

It offers every optional operation (:data:`OFFERS`): 12345678 has a second
account (a savings account in złoty), accounts have a kind, the last digits
of their number and available funds; the bank has a table of exchange rates
(``infolinia demo-bank rates`` sets it) and an information text (none by
default: the bank's recorded prompt plays); the telekod can be changed; and
12345678 has predefined transfers, carried out idempotently on the operation
id (recorded in ``transfer_runs``; the demo moves no money).
"""

import asyncio
import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from adapters.errors import NotFound, Refused
from adapters.spec import (
    Account,
    AccountKind,
    AccountSummary,
    Balance,
    BlockResult,
    Card,
    CardKind,
    CardStatus,
    Customer,
    Direction,
    ExchangeRate,
    Operation,
    OptionalOperation,
    PredefinedTransfer,
    TransferResult,
)

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    tenant TEXT NOT NULL, number TEXT NOT NULL,
    pin_hash BLOB NOT NULL, birth_hash BLOB NOT NULL, salt BLOB NOT NULL,
    internet_banking TEXT NOT NULL DEFAULT 'active',
    failed_logins INTEGER NOT NULL DEFAULT 0, locked_until TEXT,
    PRIMARY KEY (tenant, number));
CREATE TABLE IF NOT EXISTS cards (
    tenant TEXT NOT NULL, card_id TEXT NOT NULL, customer TEXT NOT NULL,
    kind TEXT NOT NULL, last4 TEXT NOT NULL, status TEXT NOT NULL,
    PRIMARY KEY (tenant, card_id));
CREATE TABLE IF NOT EXISTS accounts (
    tenant TEXT NOT NULL, account_id TEXT NOT NULL, customer TEXT NOT NULL,
    name TEXT NOT NULL, balance TEXT NOT NULL, currency TEXT NOT NULL,
    PRIMARY KEY (tenant, account_id));
CREATE TABLE IF NOT EXISTS operations (
    tenant TEXT NOT NULL, account_id TEXT NOT NULL, booked TEXT NOT NULL,
    amount TEXT NOT NULL, currency TEXT NOT NULL, direction TEXT NOT NULL,
    counterparty TEXT NOT NULL);
-- Failed dates of birth, counted apart from failed PINs (customers.failed_logins):
-- someone guessing a customer's PIN must not lock the date of birth the owner
-- blocks a lost card with.
CREATE TABLE IF NOT EXISTS birth_failures (
    tenant TEXT NOT NULL, number TEXT NOT NULL, failed INTEGER NOT NULL, locked_until TEXT,
    PRIMARY KEY (tenant, number));
-- The optional operations' data (adapters/spec.py OptionalOperation): one
-- row per account (its kind, the last digits of its number, available funds),
-- the bank's exchange rates and information text, predefined transfers and
-- the transfers carried out (idempotent on the operation id).
CREATE TABLE IF NOT EXISTS account_details (
    tenant TEXT NOT NULL, account_id TEXT NOT NULL, kind TEXT NOT NULL,
    last4 TEXT NOT NULL, available TEXT NOT NULL,
    PRIMARY KEY (tenant, account_id));
CREATE TABLE IF NOT EXISTS rates (
    tenant TEXT NOT NULL, currency TEXT NOT NULL, buy TEXT NOT NULL, sell TEXT NOT NULL,
    units INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (tenant, currency));
CREATE TABLE IF NOT EXISTS information (
    tenant TEXT NOT NULL PRIMARY KEY, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS transfers (
    tenant TEXT NOT NULL, transfer_id TEXT NOT NULL, customer TEXT NOT NULL,
    account_id TEXT NOT NULL, payee TEXT NOT NULL, amount TEXT NOT NULL,
    currency TEXT NOT NULL, title TEXT NOT NULL,
    PRIMARY KEY (tenant, transfer_id));
CREATE TABLE IF NOT EXISTS transfer_runs (
    tenant TEXT NOT NULL, operation_id TEXT NOT NULL, transfer_id TEXT NOT NULL,
    customer TEXT NOT NULL, reference TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (tenant, operation_id));
CREATE TABLE IF NOT EXISTS blocks (
    tenant TEXT NOT NULL, operation_id TEXT NOT NULL, kind TEXT NOT NULL,
    customer TEXT NOT NULL, target TEXT NOT NULL, reference TEXT NOT NULL,
    already_blocked INTEGER NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (tenant, operation_id));
"""

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=30)
# Every optional operation (adapters.spec.OptionalOperation): its factory's ``offers``.
OFFERS = frozenset(operation.value for operation in OptionalOperation)
TELEKOD_LENGTHS = range(4, 7)  # what the demo core accepts as a new telekod

# The demo bank's table of exchange rates (złoty for one unit), until
# `infolinia demo-bank rates` sets another.
SEED_RATES = (
    ("EUR", Decimal("4.2150"), Decimal("4.3850"), 1),
    ("USD", Decimal("3.9520"), Decimal("4.1240"), 1),
    ("GBP", Decimal("5.0310"), Decimal("5.2470"), 1),
    ("CHF", Decimal("4.4980"), Decimal("4.6890"), 1),
    ("CZK", Decimal("0.1680"), Decimal("0.1790"), 1),
)


@dataclass(frozen=True)
class SeedCustomer:
    number: str
    pin: str
    born: date
    cards: tuple[tuple[str, CardKind, str], ...]  # (card_id, kind, last4)
    balance: Decimal
    operations: tuple[tuple[int, str, Direction, str], ...]  # (days ago, amount, dir, who)
    account_last4: str = "0000"  # the personal account's number ends so
    available: Decimal | None = None  # funds available; None: the balance
    # More accounts: (kind, name, last4, balance, available, operations like above)
    more_accounts: tuple[
        tuple[AccountKind, str, str, Decimal, Decimal, tuple[tuple[int, str, Direction, str], ...]],
        ...,
    ] = ()
    # Predefined transfers of the personal account: (id, payee, amount, title)
    transfers: tuple[tuple[str, str, str, str], ...] = ()


SEED = (
    SeedCustomer(
        number="12345678",
        pin="1234",
        born=date(1950, 2, 1),
        cards=(("card-1111", CardKind.DEBIT, "1111"), ("card-2222", CardKind.CREDIT, "2222")),
        balance=Decimal("1234.56"),
        operations=(
            (1, "56.20", Direction.OUT, "Biedronka"),
            (2, "2500.00", Direction.IN, "ZUS emerytura"),
            (4, "120.00", Direction.OUT, "PGE energia"),
            (7, "15.99", Direction.OUT, "Apteka"),
            (9, "300.00", Direction.OUT, "Wypłata z bankomatu"),
            (12, "45.50", Direction.OUT, "Orlen"),
        ),
        account_last4="4711",
        available=Decimal("1734.56"),  # with a 500 zł overdraft
        more_accounts=(
            (
                AccountKind.SAVINGS,
                "rachunek oszczędnościowy",
                "9023",
                Decimal("15000.00"),
                Decimal("15000.00"),
                (
                    (20, "12.34", Direction.IN, "Odsetki"),
                    (40, "1000.00", Direction.IN, "Przelew własny"),
                ),
            ),
        ),
        transfers=(
            ("pt-1", "PGE Obrót", "120.00", "energia elektryczna"),
            ("pt-2", "Spółdzielnia Mieszkaniowa", "450.00", "czynsz"),
        ),
    ),
    SeedCustomer(
        number="87654321",
        pin="4321",
        born=date(1985, 6, 15),
        cards=(("card-3333", CardKind.DEBIT, "3333"),),
        balance=Decimal("0.01"),
        operations=((3, "10.00", Direction.OUT, "Żabka"),),
        account_last4="3310",
    ),
    # Secrets that occur nowhere else, so a search for them in every log and
    # file the system wrote means something (tests/test_real_safeguards.py).
    SeedCustomer(
        number="31415926",
        pin="271828",
        born=date(1947, 8, 19),
        cards=(("card-4444", CardKind.DEBIT, "4444"),),
        balance=Decimal("99.99"),
        operations=((2, "20.00", Direction.IN, "Poczta Polska"),),
        account_last4="5926",
    ),
)


class DemoSettings(BaseModel):
    """Settings of the demo adapter in a tenant's config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Titles: the labels of the admin page's form for a new bank (Polish).
    database: Path = Field(
        title="Plik bazy demo (SQLite)", description="SQLite file shared by all demo tenants"
    )
    tenant: str = Field(
        min_length=1,
        title="Bank w danych demo",
        description="whose copy of the seed data to use",
    )


def _hash(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=2**12, r=8, p=1)


def _now() -> datetime:
    return datetime.now(UTC)


class DemoBank:
    """A :class:`~adapters.spec.CoreBanking` over SQLite."""

    def __init__(self, settings: DemoSettings, today: Callable[[], date] = date.today) -> None:
        self.path = settings.database
        self.tenant = settings.tenant
        self.today = today
        # Every operation is one write transaction (BEGIN IMMEDIATE), so they
        # run one at a time anyway; one thread of its own does them without
        # waiting on SQLite's lock, keeps one connection, and keeps the
        # memory of one scrypt check (glibc leaves 4 MiB in the arena of each
        # thread that ran one; the shared pool has six threads).
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-core")
        self._db: sqlite3.Connection | None = None
        self._closed = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)
            seeded = db.execute(
                "SELECT 1 FROM customers WHERE tenant = ? LIMIT 1", (self.tenant,)
            ).fetchone()
        if seeded is None:
            self.reset()
        else:
            self._seed_optional()

    # --- storage ----------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # Shorter than the guard's per-call timeout: a busy database is an answer.
        db = sqlite3.connect(self.path, timeout=3, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def in_thread() -> T:
            if self._db is None:  # opened on the core's thread, kept there
                self._db = self._connect()
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                result = work(db)
                db.execute("COMMIT")
                return result
            except sqlite3.Error:
                # Not kept after a database error (busy, I/O): closing rolls
                # back, and the next operation opens a connection afresh.
                self._db = None
                db.close()
                raise
            except BaseException:
                db.execute("ROLLBACK")  # Refused, NotFound: the connection is fine
                raise

        return await asyncio.get_running_loop().run_in_executor(self._thread, in_thread)

    def reset(self) -> None:
        """Put this tenant's data back to the seed (cards active, no blocks)."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            for table in (
                "customers",
                "cards",
                "accounts",
                "operations",
                "blocks",
                "birth_failures",
                "account_details",
                "rates",
                "information",
                "transfers",
                "transfer_runs",
            ):
                db.execute(f"DELETE FROM {table} WHERE tenant = ?", (self.tenant,))
            for customer in SEED:
                salt = secrets.token_bytes(16)
                db.execute(
                    "INSERT INTO customers (tenant, number, pin_hash, birth_hash, salt) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        self.tenant,
                        customer.number,
                        _hash(customer.pin, salt),
                        _hash(customer.born.isoformat(), salt),
                        salt,
                    ),
                )
                for card_id, kind, last4 in customer.cards:
                    db.execute(
                        "INSERT INTO cards VALUES (?, ?, ?, ?, ?, 'active')",
                        (self.tenant, card_id, customer.number, kind.value, last4),
                    )
                account_id = f"acc-{customer.number}"
                db.execute(
                    "INSERT INTO accounts VALUES (?, ?, ?, 'konto osobiste', ?, 'PLN')",
                    (self.tenant, account_id, customer.number, str(customer.balance)),
                )
                self._insert_operations(db, account_id, customer.operations)
            self._seed_extras(db)
            db.execute("COMMIT")

    def _insert_operations(
        self,
        db: sqlite3.Connection,
        account_id: str,
        operations: tuple[tuple[int, str, Direction, str], ...],
    ) -> None:
        for days_ago, amount, direction, who in operations:
            booked = self.today() - timedelta(days=days_ago)
            db.execute(
                "INSERT INTO operations VALUES (?, ?, ?, ?, 'PLN', ?, ?)",
                (self.tenant, account_id, booked.isoformat(), amount, direction.value, who),
            )

    def _seed_optional(self) -> None:
        """A database seeded before the optional operations' data existed gets it."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            found = db.execute(
                "SELECT 1 FROM account_details WHERE tenant = ? LIMIT 1", (self.tenant,)
            ).fetchone()
            if found is None:
                self._seed_extras(db)
            db.execute("COMMIT")

    def _seed_extras(self, db: sqlite3.Connection) -> None:
        """The seed's more accounts, account details, rates and predefined transfers
        (the personal accounts themselves are in ``accounts`` already)."""
        for customer in SEED:
            account_id = f"acc-{customer.number}"
            available = customer.available if customer.available is not None else customer.balance
            db.execute(
                "INSERT OR REPLACE INTO account_details VALUES (?, ?, ?, ?, ?)",
                (
                    self.tenant,
                    account_id,
                    AccountKind.CURRENT.value,
                    customer.account_last4,
                    str(available),
                ),
            )
            for number, (kind, name, last4, balance, free, operations) in enumerate(
                customer.more_accounts, start=2
            ):
                more_id = f"{account_id}-{number}"
                db.execute(
                    "INSERT OR REPLACE INTO accounts VALUES (?, ?, ?, ?, ?, 'PLN')",
                    (self.tenant, more_id, customer.number, name, str(balance)),
                )
                db.execute(
                    "INSERT OR REPLACE INTO account_details VALUES (?, ?, ?, ?, ?)",
                    (self.tenant, more_id, kind.value, last4, str(free)),
                )
                db.execute(
                    "DELETE FROM operations WHERE tenant = ? AND account_id = ?",
                    (self.tenant, more_id),
                )
                self._insert_operations(db, more_id, operations)
            for transfer_id, payee, amount, title in customer.transfers:
                db.execute(
                    "INSERT OR REPLACE INTO transfers VALUES (?, ?, ?, ?, ?, ?, 'PLN', ?)",
                    (self.tenant, transfer_id, customer.number, account_id, payee, amount, title),
                )
        for currency, buy, sell, units in SEED_RATES:
            db.execute(
                "INSERT OR REPLACE INTO rates VALUES (?, ?, ?, ?, ?)",
                (self.tenant, currency, str(buy), str(sell), units),
            )

    # --- login --------------------------------------------------------------

    async def identify(self, customer_number: str, birth_date: date) -> Customer:
        return await self._login(customer_number, birth_date.isoformat(), "birth_hash")

    async def authenticate(self, customer_number: str, pin: str) -> Customer:
        return await self._login(customer_number, pin, "pin_hash")

    async def _login(self, number: str, secret: str, column: str) -> Customer:
        def work(db: sqlite3.Connection) -> Customer | None:
            row = db.execute(
                f"SELECT {column}, salt FROM customers WHERE tenant = ? AND number = ?",
                (self.tenant, number),
            ).fetchone()
            if row is None:
                _hash(secret, b"0" * 16)  # same work as a real check: no timing hint
                return None
            stored, salt = row
            offered = _hash(secret, salt)  # hashed even when locked: no timing hint
            failed, locked_until = self._failures(db, number, column)
            if locked_until and datetime.fromisoformat(locked_until) > _now():
                return None
            if locked_until:  # a lockout that has expired starts the count again
                failed = 0
            if hmac.compare_digest(stored, offered):
                self._set_failures(db, number, column, 0, None)
                return Customer(number)
            failed += 1
            lock = (_now() + LOCKOUT).isoformat() if failed >= MAX_FAILED_LOGINS else None
            self._set_failures(db, number, column, failed, lock)
            return None

        customer = await self._run(work)
        if customer is None:
            # One message whatever was wrong: never reveal which part failed.
            raise Refused("customer number or credentials not accepted")
        return customer

    def _failures(self, db: sqlite3.Connection, number: str, column: str) -> tuple[int, Any]:
        """Failed logins in a row and the lockout's end, for PINs or dates of birth."""
        if column == "pin_hash":
            query = "SELECT failed_logins, locked_until FROM customers"
        else:
            query = "SELECT failed, locked_until FROM birth_failures"
        row = db.execute(query + " WHERE tenant = ? AND number = ?", (self.tenant, number))
        found = row.fetchone()
        return (int(found[0]), found[1]) if found else (0, None)

    def _set_failures(
        self, db: sqlite3.Connection, number: str, column: str, failed: int, lock: str | None
    ) -> None:
        if column == "pin_hash":
            db.execute(
                "UPDATE customers SET failed_logins = ?, locked_until = ? "
                "WHERE tenant = ? AND number = ?",
                (failed, lock, self.tenant, number),
            )
            return
        db.execute(
            "INSERT INTO birth_failures VALUES (?, ?, ?, ?) ON CONFLICT (tenant, number) "
            "DO UPDATE SET failed = excluded.failed, locked_until = excluded.locked_until",
            (self.tenant, number, failed, lock),
        )

    # --- reading --------------------------------------------------------------

    async def list_cards(self, customer: Customer) -> list[Card]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT card_id, kind, last4, status FROM cards "
                "WHERE tenant = ? AND customer = ? ORDER BY card_id",
                (self.tenant, customer.number),
            ).fetchall()
        )
        return [Card(r[0], CardKind(r[1]), r[2], CardStatus(r[3])) for r in rows]

    async def list_accounts(self, customer: Customer) -> list[Account]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT account_id, name, balance, currency FROM accounts "
                "WHERE tenant = ? AND customer = ? ORDER BY account_id",
                (self.tenant, customer.number),
            ).fetchall()
        )
        return [Account(r[0], r[1], Decimal(r[2]), r[3]) for r in rows]

    async def last_operations(self, customer: Customer, limit: int = 5) -> list[Operation]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT o.booked, o.amount, o.currency, o.direction, o.counterparty "
                "FROM operations o JOIN accounts a "
                "ON a.tenant = o.tenant AND a.account_id = o.account_id "
                "WHERE o.tenant = ? AND a.customer = ? ORDER BY o.booked DESC LIMIT ?",
                (self.tenant, customer.number, limit),
            ).fetchall()
        )
        return [
            Operation(date.fromisoformat(r[0]), Decimal(r[1]), r[2], Direction(r[3]), r[4])
            for r in rows
        ]

    # --- blocking -----------------------------------------------------------------

    async def block_card(self, customer: Customer, card_id: str, operation_id: str) -> BlockResult:
        def work(db: sqlite3.Connection) -> BlockResult:
            done = self._block_done(db, operation_id, "card", customer.number, card_id)
            if done is not None:
                return done
            row = db.execute(
                "SELECT status FROM cards WHERE tenant = ? AND card_id = ? AND customer = ?",
                (self.tenant, card_id, customer.number),
            ).fetchone()
            if row is None:
                raise NotFound("no such card for this customer")
            db.execute(
                "UPDATE cards SET status = 'blocked' WHERE tenant = ? AND card_id = ?",
                (self.tenant, card_id),
            )
            return self._record_block(db, operation_id, "card", customer, card_id, row[0])

        return await self._run(work)

    async def block_internet_banking(self, customer: Customer, operation_id: str) -> BlockResult:
        def work(db: sqlite3.Connection) -> BlockResult:
            done = self._block_done(
                db, operation_id, "internet_banking", customer.number, customer.number
            )
            if done is not None:
                return done
            row = db.execute(
                "SELECT internet_banking FROM customers WHERE tenant = ? AND number = ?",
                (self.tenant, customer.number),
            ).fetchone()
            if row is None:
                raise NotFound("no such customer")
            db.execute(
                "UPDATE customers SET internet_banking = 'blocked' WHERE tenant = ? AND number = ?",
                (self.tenant, customer.number),
            )
            return self._record_block(
                db, operation_id, "internet_banking", customer, customer.number, row[0]
            )

        return await self._run(work)

    def _block_done(
        self, db: sqlite3.Connection, operation_id: str, kind: str, customer: str, target: str
    ) -> BlockResult | None:
        row = db.execute(
            "SELECT reference, already_blocked, kind, customer, target FROM blocks "
            "WHERE tenant = ? AND operation_id = ?",
            (self.tenant, operation_id),
        ).fetchone()
        if row is None:
            return None
        if (row[2], row[3], row[4]) != (kind, customer, target):
            raise Refused("operation id already used for another block")
        return BlockResult(row[0], bool(row[1]))

    def _record_block(
        self,
        db: sqlite3.Connection,
        operation_id: str,
        kind: str,
        customer: Customer,
        target: str,
        status_before: str,
    ) -> BlockResult:
        already = status_before == "blocked"
        # A blocked target answers with the block in force: two callers blocking
        # one card at the same moment get one block and one reference.
        in_force = (
            db.execute(
                "SELECT reference FROM blocks WHERE tenant = ? AND kind = ? AND customer = ? "
                "AND target = ? ORDER BY at, rowid LIMIT 1",
                (self.tenant, kind, customer.number, target),
            ).fetchone()
            if already
            else None
        )
        reference = in_force[0] if in_force else f"{secrets.randbelow(10**8):08d}"
        db.execute(
            "INSERT INTO blocks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.tenant,
                operation_id,
                kind,
                customer.number,
                target,
                reference,
                int(already),
                _now().isoformat(),
            ),
        )
        return BlockResult(reference, already)

    # --- optional operations (adapters.spec.OptionalOperation) -------------------

    async def account_list(self, customer: Customer) -> list[AccountSummary]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT a.account_id, d.kind, d.last4, a.currency FROM accounts a "
                "JOIN account_details d ON d.tenant = a.tenant AND d.account_id = a.account_id "
                "WHERE a.tenant = ? AND a.customer = ? ORDER BY a.account_id",
                (self.tenant, customer.number),
            ).fetchall()
        )
        return [AccountSummary(r[0], AccountKind(r[1]), r[2], r[3]) for r in rows]

    async def account_balance(self, customer: Customer, account_id: str) -> Balance:
        row = await self._run(
            lambda db: db.execute(
                "SELECT a.balance, d.available, a.currency FROM accounts a "
                "JOIN account_details d ON d.tenant = a.tenant AND d.account_id = a.account_id "
                "WHERE a.tenant = ? AND a.customer = ? AND a.account_id = ?",
                (self.tenant, customer.number, account_id),
            ).fetchone()
        )
        if row is None:
            raise NotFound("no such account for this customer")
        return Balance(account_id, Decimal(row[0]), Decimal(row[1]), row[2])

    async def account_operations(
        self, customer: Customer, account_id: str, limit: int = 5
    ) -> list[Operation]:
        def work(db: sqlite3.Connection) -> list[Any]:
            owner = db.execute(
                "SELECT 1 FROM accounts WHERE tenant = ? AND customer = ? AND account_id = ?",
                (self.tenant, customer.number, account_id),
            ).fetchone()
            if owner is None:
                raise NotFound("no such account for this customer")
            return db.execute(
                "SELECT booked, amount, currency, direction, counterparty FROM operations "
                "WHERE tenant = ? AND account_id = ? ORDER BY booked DESC LIMIT ?",
                (self.tenant, account_id, max(limit, 0)),
            ).fetchall()

        rows = await self._run(work)
        return [
            Operation(date.fromisoformat(r[0]), Decimal(r[1]), r[2], Direction(r[3]), r[4])
            for r in rows
        ]

    async def exchange_rates(self) -> list[ExchangeRate]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT currency, buy, sell, units FROM rates WHERE tenant = ? ORDER BY rowid",
                (self.tenant,),
            ).fetchall()
        )
        return [ExchangeRate(r[0], Decimal(r[1]), Decimal(r[2]), int(r[3])) for r in rows]

    async def bank_information(self) -> str | None:
        row = await self._run(
            lambda db: db.execute(
                "SELECT text FROM information WHERE tenant = ?", (self.tenant,)
            ).fetchone()
        )
        return str(row[0]) if row else None

    async def change_telekod(self, customer: Customer, old: str, new: str) -> None:
        if not (new.isascii() and new.isdigit() and len(new) in TELEKOD_LENGTHS) or new == old:
            # The rules of the demo core; the line checks the bank's own first.
            raise Refused("the new telekod is not accepted")
        await self._login(customer.number, old, "pin_hash")  # Refused when wrong (and counted)

        def work(db: sqlite3.Connection) -> None:
            salt = db.execute(
                "SELECT salt FROM customers WHERE tenant = ? AND number = ?",
                (self.tenant, customer.number),
            ).fetchone()
            if salt is None:
                raise NotFound("no such customer")
            db.execute(
                "UPDATE customers SET pin_hash = ? WHERE tenant = ? AND number = ?",
                (_hash(new, salt[0]), self.tenant, customer.number),
            )

        await self._run(work)

    async def predefined_transfers(
        self, customer: Customer, account_id: str
    ) -> list[PredefinedTransfer]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT transfer_id, payee, amount, currency, title FROM transfers "
                "WHERE tenant = ? AND customer = ? AND account_id = ? ORDER BY transfer_id",
                (self.tenant, customer.number, account_id),
            ).fetchall()
        )
        return [PredefinedTransfer(r[0], r[1], Decimal(r[2]), r[3], r[4]) for r in rows]

    async def execute_transfer(
        self, customer: Customer, transfer: PredefinedTransfer, operation_id: str
    ) -> TransferResult:
        def work(db: sqlite3.Connection) -> TransferResult:
            done = db.execute(
                "SELECT reference, transfer_id, customer FROM transfer_runs "
                "WHERE tenant = ? AND operation_id = ?",
                (self.tenant, operation_id),
            ).fetchone()
            if done is not None:
                if (done[1], done[2]) != (transfer.transfer_id, customer.number):
                    raise Refused("operation id already used for another transfer")
                return TransferResult(done[0])
            row = db.execute(
                "SELECT payee, amount, currency, title FROM transfers "
                "WHERE tenant = ? AND customer = ? AND transfer_id = ?",
                (self.tenant, customer.number, transfer.transfer_id),
            ).fetchone()
            if row is None:
                raise NotFound("no such transfer for this customer")
            payee, amount, currency, title = row
            if (payee, Decimal(amount), currency, title) != (
                transfer.payee,
                transfer.amount,
                transfer.currency,
                transfer.title,
            ):
                raise Refused("the transfer order has changed")
            reference = f"{secrets.randbelow(10**8):08d}"
            db.execute(
                "INSERT INTO transfer_runs VALUES (?, ?, ?, ?, ?, ?)",
                (
                    self.tenant,
                    operation_id,
                    transfer.transfer_id,
                    customer.number,
                    reference,
                    _now().isoformat(),
                ),
            )
            return TransferResult(reference)

        return await self._run(work)

    # --- for people -------------------------------------------------------------

    def set_rates(self, rates: list[ExchangeRate]) -> None:
        """Replace the bank's table of exchange rates (``infolinia demo-bank rates``)."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM rates WHERE tenant = ?", (self.tenant,))
            for rate in rates:
                db.execute(
                    "INSERT INTO rates VALUES (?, ?, ?, ?, ?)",
                    (self.tenant, rate.currency, str(rate.buy), str(rate.sell), rate.units),
                )
            db.execute("COMMIT")

    def rates(self) -> list[ExchangeRate]:
        """The bank's table of exchange rates, as set."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT currency, buy, sell, units FROM rates WHERE tenant = ? ORDER BY rowid",
                (self.tenant,),
            ).fetchall()
        return [ExchangeRate(r[0], Decimal(r[1]), Decimal(r[2]), int(r[3])) for r in rows]

    def set_information(self, text: str | None) -> None:
        """The bank's information text the adapter serves (None: none, the prompt plays)."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM information WHERE tenant = ?", (self.tenant,))
            if text is not None:
                db.execute("INSERT INTO information VALUES (?, ?)", (self.tenant, text))
            db.execute("COMMIT")

    def snapshot(self, customer_number: str) -> dict[str, Any]:
        """A customer's current state, for ``infolinia demo-bank show`` and tests."""
        with self._connect() as db:
            customer = db.execute(
                "SELECT internet_banking, failed_logins, locked_until FROM customers "
                "WHERE tenant = ? AND number = ?",
                (self.tenant, customer_number),
            ).fetchone()
            if customer is None:
                raise NotFound("no such customer")
            cards = db.execute(
                "SELECT last4, kind, status FROM cards WHERE tenant = ? AND customer = ? "
                "ORDER BY card_id",
                (self.tenant, customer_number),
            ).fetchall()
            blocks = db.execute(
                # One block per reference: a block of a blocked target is answered
                # with the block in force and adds no block of its own.
                "SELECT kind, target, reference, MIN(at) FROM blocks WHERE tenant = ? "
                "AND customer = ? GROUP BY reference ORDER BY MIN(at)",
                (self.tenant, customer_number),
            ).fetchall()
            accounts = db.execute(
                "SELECT name, balance, currency FROM accounts WHERE tenant = ? AND customer = ?",
                (self.tenant, customer_number),
            ).fetchall()
            transfers_done = db.execute(
                "SELECT transfer_id, reference, at FROM transfer_runs WHERE tenant = ? "
                "AND customer = ? ORDER BY at",
                (self.tenant, customer_number),
            ).fetchall()
        return {
            "tenant": self.tenant,
            "customer": customer_number,
            "internet_banking": customer[0],
            "failed_logins": customer[1],
            "locked_until": customer[2],
            "cards": [{"last4": c[0], "kind": c[1], "status": c[2]} for c in cards],
            "accounts": [{"name": a[0], "balance": a[1], "currency": a[2]} for a in accounts],
            "blocks": [
                {"kind": b[0], "target": b[1], "reference": b[2], "at": b[3]} for b in blocks
            ],
            "transfers_done": [
                {"transfer_id": r[0], "reference": r[1], "at": r[2]} for r in transfers_done
            ],
        }

    async def close(self) -> None:
        def close_db() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._thread, close_db)
        self._thread.shutdown()
