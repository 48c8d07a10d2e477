"""The demo bank adapter: seed data, logins, lockout, idempotent blocks."""

import asyncio
import sqlite3
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from adapters import demo as demo_module
from adapters.demo import DemoBank, DemoSettings
from adapters.errors import NotFound, Refused
from adapters.spec import CardKind, CardStatus, Customer, Direction

pytestmark = pytest.mark.unit

MARIA = Customer("12345678")


def bank(tmp_path: Path, tenant: str = "izbica") -> DemoBank:
    return DemoBank(DemoSettings(database=tmp_path / "demo.sqlite", tenant=tenant))


async def test_logins_accept_the_seed_and_refuse_alike_whatever_is_wrong(tmp_path: Path) -> None:
    demo = bank(tmp_path)
    assert await demo.authenticate("12345678", "1234") == MARIA
    assert await demo.identify("12345678", date(1950, 2, 1)) == MARIA
    messages = set()
    for number, pin in (("12345678", "9999"), ("00000000", "1234")):
        with pytest.raises(Refused) as refused:
            await demo.authenticate(number, pin)
        messages.add(str(refused.value))
    with pytest.raises(Refused) as refused:
        await demo.identify("12345678", date(1950, 2, 2))
    messages.add(str(refused.value))
    assert len(messages) == 1  # never says which part was wrong


async def test_five_failures_lock_the_phone_login_until_reset(tmp_path: Path) -> None:
    demo = bank(tmp_path)
    for _ in range(5):
        with pytest.raises(Refused):
            await demo.authenticate("87654321", "0000")
    with pytest.raises(Refused):
        await demo.authenticate("87654321", "4321")  # right PIN, but locked
    assert demo.snapshot("87654321")["locked_until"] is not None
    demo.reset()
    assert await demo.authenticate("87654321", "4321") == Customer("87654321")


async def test_cards_accounts_and_operations_of_the_seed(tmp_path: Path) -> None:
    demo = bank(tmp_path)
    cards = await demo.list_cards(MARIA)
    assert [(c.kind, c.last4, c.status) for c in cards] == [
        (CardKind.DEBIT, "1111", CardStatus.ACTIVE),
        (CardKind.CREDIT, "2222", CardStatus.ACTIVE),
    ]
    account, savings = await demo.list_accounts(MARIA)  # 12345678 has two (issue 21)
    assert account.balance == Decimal("1234.56") and account.currency == "PLN"
    assert savings.name == "rachunek oszczędnościowy" and savings.currency == "PLN"
    operations = await demo.last_operations(MARIA)
    assert len(operations) == 5
    assert [o.booked for o in operations] == sorted((o.booked for o in operations), reverse=True)
    assert operations[1].direction is Direction.IN and operations[1].amount == Decimal("2500.00")
    [other] = await demo.list_accounts(Customer("87654321"))
    assert other.balance == Decimal("0.01")


async def test_a_block_is_idempotent_on_its_operation_id(tmp_path: Path) -> None:
    demo = bank(tmp_path)
    first = await demo.block_card(MARIA, "card-1111", "op-1")
    again = await demo.block_card(MARIA, "card-1111", "op-1")
    assert first == again and first.reference.isdigit() and not first.already_blocked
    state = demo.snapshot("12345678")
    assert [c["status"] for c in state["cards"]] == ["blocked", "active"]
    assert len(state["blocks"]) == 1
    # Another request for the blocked card: the block in force, no second block.
    later = await demo.block_card(MARIA, "card-1111", "op-2")
    assert later.already_blocked and later.reference == first.reference
    assert len(demo.snapshot("12345678")["blocks"]) == 1
    with pytest.raises(NotFound):
        await demo.block_card(MARIA, "card-3333", "op-3")  # not Maria's card


async def test_wrong_pins_do_not_lock_the_date_of_birth(tmp_path: Path) -> None:
    """A stranger locks a customer's PIN; the owner still identifies with the
    date of birth (to block a lost card), and the other way round."""
    demo = bank(tmp_path)
    for _ in range(5):
        with pytest.raises(Refused):
            await demo.authenticate("12345678", "0000")
    with pytest.raises(Refused):
        await demo.authenticate("12345678", "1234")  # locked
    assert await demo.identify("12345678", date(1950, 2, 1)) == MARIA
    for _ in range(5):
        with pytest.raises(Refused):
            await demo.identify("87654321", date(1999, 1, 1))
    with pytest.raises(Refused):
        await demo.identify("87654321", date(1985, 6, 15))  # locked
    assert await demo.authenticate("87654321", "4321") == Customer("87654321")
    await demo.close()


async def test_two_blocks_of_one_card_at_the_same_moment_are_one_block(tmp_path: Path) -> None:
    """Two calls confirm the same card's block at once (two operation ids):
    one block at the bank, one reference for both. (It used to record two
    blocks with two references.)"""
    demo = bank(tmp_path)
    both = await asyncio.gather(
        demo.block_card(MARIA, "card-2222", "call-a:12345678:card-2222"),
        demo.block_card(MARIA, "card-2222", "call-b:12345678:card-2222"),
    )
    assert both[0].reference == both[1].reference
    assert sorted(result.already_blocked for result in both) == [False, True]
    assert [b["reference"] for b in demo.snapshot("12345678")["blocks"]] == [both[0].reference]
    await demo.close()


async def test_internet_banking_block_and_tenants_are_separate(tmp_path: Path) -> None:
    izbica, cieszyn = bank(tmp_path, "izbica"), bank(tmp_path, "cieszyn")
    result = await izbica.block_internet_banking(MARIA, "op-ib")
    assert result == await izbica.block_internet_banking(MARIA, "op-ib")
    assert izbica.snapshot("12345678")["internet_banking"] == "blocked"
    assert cieszyn.snapshot("12345678")["internet_banking"] == "active"


def test_pins_and_birth_dates_are_not_stored_in_clear(tmp_path: Path) -> None:
    bank(tmp_path)
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for secret in (b"1950-02-01", b"01021950", b"1985-06-15", b"15061985"):
        assert secret not in data


async def test_an_operation_id_cannot_be_reused_for_another_block(tmp_path: Path) -> None:
    demo = bank(tmp_path)
    await demo.block_card(MARIA, "card-1111", "op-1")
    with pytest.raises(Refused):
        await demo.block_card(MARIA, "card-2222", "op-1")
    assert [c["status"] for c in demo.snapshot("12345678")["cards"]] == ["blocked", "active"]


async def test_the_core_works_on_one_thread_of_its_own_and_close_ends_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # glibc keeps scrypt's 4 MiB in the arena of every thread that ran it: the
    # core's checks must stay on one thread, however many logins come at once.
    hashed_on: set[str] = set()
    real_hash = demo_module._hash

    def recording_hash(secret: str, salt: bytes) -> bytes:
        hashed_on.add(threading.current_thread().name)
        return real_hash(secret, salt)

    monkeypatch.setattr(demo_module, "_hash", recording_hash)
    demo = bank(tmp_path)
    hashed_on.clear()  # the seed was hashed on this thread
    logins = [demo.authenticate("12345678", "1234") for _ in range(12)]
    assert await asyncio.gather(*logins) == [MARIA] * 12
    assert len(hashed_on) == 1 and next(iter(hashed_on)).startswith("demo-core")
    await demo.close()
    assert not [t for t in threading.enumerate() if t.name in hashed_on]
    await demo.close()  # a second close (a reload's retired copy) is harmless


async def test_after_a_database_error_the_next_operation_opens_a_new_connection(
    tmp_path: Path,
) -> None:
    demo = bank(tmp_path)
    assert await demo.authenticate("12345678", "1234") == MARIA
    kept = demo._db
    with pytest.raises(sqlite3.OperationalError):
        await demo._run(lambda db: db.execute("SELECT * FROM no_such_table"))
    assert await demo.authenticate("12345678", "1234") == MARIA
    reopened = demo._db
    assert reopened is not None and reopened is not kept
    with pytest.raises(Refused):  # a refusal is no database error: the connection stays
        await demo.authenticate("12345678", "0000")
    assert demo._db is reopened
    await demo.close()
