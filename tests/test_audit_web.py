"""The admin page's audit view on a long trail: the table shows a page at a
time (older pages back by seq), the CSV carries every matching entry,
streamed, and the page's verify starts from the signed checkpoint without
moving it."""

import asyncio
import csv
import io
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from stasis_app.admin.api import AdminApi
from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web import admin_pages
from stasis_app.admin.web.accounts import Accounts
from stasis_app.admin.web.audit import PAGE_ROWS
from stasis_app.safeguards import audit as trail
from stasis_app.safeguards.audit import AuditLog
from stasis_app.telephony.live_calls import CallRegistry
from tests.support.isolated_admin import isolated_prompt_admin

pytestmark = pytest.mark.unit
PASSWORD = "dobre-haslo-123"
ENTRIES = 2100  # more than the page used to load and export at all (2000)
Client = TestClient[web.Request, web.Application]


@pytest.fixture
def admin(tmp_path: Path) -> PromptAdmin:
    admin = isolated_prompt_admin(tmp_path)
    audit = AuditLog(admin.store)

    async def record_all() -> None:  # recorded together: group commit, a few transactions
        await asyncio.gather(
            *(
                audit.record(
                    tenant="cieszyn",
                    action="block_card",
                    result="confirmed" if n % 2 else "journaled",
                    reference=f"BS-{n}",
                )
                for n in range(1, ENTRIES + 1)
            )
        )

    asyncio.run(record_all())
    return admin


@pytest.fixture
async def client(admin: PromptAdmin) -> AsyncIterator[Client]:
    accounts = Accounts(admin.store)
    accounts.set_user("root", "auditor", "*", PASSWORD)
    pages = admin_pages(admin, CallRegistry(), accounts)
    async with TestClient(TestServer(AdminApi(admin, None, pages).app())) as client:
        form = await client.get("/admin/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', await form.text())
        assert csrf
        data = {"user": "root", "password": PASSWORD, "csrf": csrf.group(1)}
        assert (await client.post("/admin/login", data=data)).status == 200
        yield client


def shown(page: str) -> list[int]:
    return [int(seq) for seq in re.findall(r"<tr><td>(\d+)</td>", page)]


async def test_the_table_pages_back_and_the_csv_carries_every_entry(
    client: Client, admin: PromptAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trail, "PAGE", 300)  # the CSV streams in several pages
    total, _ = AuditLog(admin.store).head()  # the blocks, and the login's own entry
    page = await (await client.get("/admin/audit")).text()
    assert shown(page) == list(range(total, total - PAGE_ROWS, -1))
    older = re.search(r'id="older" href="([^"]+)"', page)
    assert older
    page = await (await client.get(older.group(1).replace("&amp;", "&"))).text()
    assert shown(page)[0] == total - PAGE_ROWS
    answer = await client.get("/admin/audit.csv")
    assert answer.headers["Content-Type"].startswith("text/csv")
    exported = list(csv.DictReader(io.StringIO(await answer.text())))
    assert [int(row["seq"]) for row in exported] == list(range(1, total + 1))
    journaled = await (await client.get("/admin/audit.csv", params={"result": "journaled"})).text()
    assert len(journaled.splitlines()) == 1 + ENTRIES // 2
    today = exported[0]["at"][:10]
    assert shown(await (await client.get("/admin/audit", params={"to": "2000-01-01"})).text()) == []
    assert len(shown(await (await client.get("/admin/audit", params={"to": today})).text())) == (
        PAGE_ROWS
    )


async def test_the_page_verifies_from_the_checkpoint_and_names_a_break(
    client: Client, admin: PromptAdmin
) -> None:
    audit = AuditLog(admin.store)
    total, _ = audit.head()
    page = await (await client.get("/admin/audit")).text()
    assert f"Łańcuch spójny (cały dziennik): {total} wpisów." in page
    assert audit.checkpoint() is None  # a page view stores none
    assert audit.verify(save_checkpoint=True).ok  # as `infolinia audit verify` does
    page = await (await client.get("/admin/audit")).text()
    assert f"Sprawdzony od punktu kontrolnego #{total}" in page
    audit.append(tenant="cieszyn", action="block_card", result="confirmed", reference="BS-new")
    with sqlite3.connect(admin.store.path) as db:
        db.execute("UPDATE audit SET reference = 'BS-0' WHERE reference = 'BS-new'")
    page = await (await client.get("/admin/audit")).text()
    assert f"Łańcuch przerwany przy wpisie #{total + 1}" in page
    with sqlite3.connect(admin.store.path) as db:
        db.execute("UPDATE audit_checkpoint SET seq = 10")
    page = await (await client.get("/admin/audit")).text()
    assert "punkt kontrolny" not in page and "checkpoint is not signed" in page


async def test_a_calling_number_that_is_a_formula_is_exported_as_text(
    client: Client, admin: PromptAdmin
) -> None:
    """The calling number is whatever the network or the caller put there: a
    CSV cell that a spreadsheet would run as a formula gets an apostrophe.
    (Before, "=HYPERLINK(...)" went into the export as it came.)"""
    AuditLog(admin.store).append(
        tenant="cieszyn",
        action="authenticate",
        result="refused",
        caller="=HYPERLINK('http://127.0.0.1/x')",
        customer="12345678",
    )
    exported = list(
        csv.DictReader(io.StringIO(await (await client.get("/admin/audit.csv")).text()))
    )
    [row] = [r for r in exported if r["action"] == "authenticate"]
    assert row["caller"] == "'=HYPERLINK('http://127.0.0.1/x')"
    assert row["customer"] == "*****678"  # an ordinary cell is left as it is
