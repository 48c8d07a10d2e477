"""The webservice adapter against the reference server of its contract:
answers, errors, retries, signatures both ways, mutual TLS, and the
OpenAPI document itself."""

import json
import logging
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
import yaml
from aiohttp import web
from openapi_spec_validator import validate as validate_openapi

from adapters.demo import DemoBank, DemoSettings
from adapters.errors import NotFound, Refused, Timeout, Unavailable
from adapters.registry import AdapterRegistry, AdapterSetupError
from adapters.spec import AccountKind, CardStatus, Customer, Direction, OptionalOperation
from adapters.webservice import WebserviceBank, WebserviceSettings, signing
from plugin.manager import get_plugin_manager
from tests.support.outbound_server import Bystander, answer_in_pieces, serving
from tests.support.reference_core import SECRET, ReferenceCore, serve

pytestmark = pytest.mark.unit

OPENAPI = Path(__file__).resolve().parent.parent / "adapters" / "webservice" / "openapi.yaml"
PIN = "1234"
CUSTOMER = Customer("12345678")


@pytest.fixture
def core(tmp_path: Path) -> ReferenceCore:
    return ReferenceCore(DemoBank(DemoSettings(database=tmp_path / "bank.sqlite", tenant="t")))


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "core-key"
    path.write_bytes(SECRET + b"\n")
    return path


@pytest.fixture
async def base_url(core: ReferenceCore) -> AsyncIterator[str]:
    runner, port = await serve(core)
    yield f"http://127.0.0.1:{port}/"
    await runner.cleanup()


@pytest.fixture
async def bank(base_url: str, key_file: Path) -> AsyncIterator[WebserviceBank]:
    adapter = WebserviceBank(
        WebserviceSettings(base_url=base_url, secret_file=key_file, request_timeout=0.5)
    )
    yield adapter
    await adapter.close()


async def test_every_operation_answers_through_the_contract(bank: WebserviceBank) -> None:
    assert await bank.identify("12345678", date(1950, 2, 1)) == CUSTOMER
    assert await bank.authenticate("12345678", PIN) == CUSTOMER
    cards = await bank.list_cards(CUSTOMER)
    assert [(c.card_id, c.last4, c.status) for c in cards] == [
        ("card-1111", "1111", CardStatus.ACTIVE),
        ("card-2222", "2222", CardStatus.ACTIVE),
    ]
    account, _savings = await bank.list_accounts(CUSTOMER)  # the demo's two (issue 21)
    assert (account.balance, account.currency) == (Decimal("1234.56"), "PLN")
    assert isinstance(account.balance, Decimal)
    # The optional reads (the settings turn them on; the reference core has them).
    [current, savings] = await bank.account_list(CUSTOMER)
    assert (savings.kind, savings.last4) == (AccountKind.SAVINGS, "9023")
    funds = await bank.account_balance(CUSTOMER, current.account_id)
    assert (funds.balance, funds.available) == (Decimal("1234.56"), Decimal("1734.56"))
    [latest] = await bank.account_operations(CUSTOMER, savings.account_id, limit=1)
    assert (latest.amount, latest.counterparty) == (Decimal("12.34"), "Odsetki")
    with pytest.raises(NotFound):
        await bank.account_balance(Customer("87654321"), current.account_id)
    assert [r.currency for r in await bank.exchange_rates()][:2] == ["EUR", "USD"]
    operations = await bank.last_operations(CUSTOMER, limit=2)
    assert [(o.amount, o.direction) for o in operations] == [
        (Decimal("56.20"), Direction.OUT),
        (Decimal("2500.00"), Direction.IN),
    ]
    first = await bank.block_card(CUSTOMER, "card-1111", "op-1")
    again = await bank.block_card(CUSTOMER, "card-1111", "op-1")
    assert first == again and first.reference.isdigit()
    assert (await bank.list_cards(CUSTOMER))[0].status is CardStatus.BLOCKED
    internet = await bank.block_internet_banking(CUSTOMER, "op-2")
    assert internet == await bank.block_internet_banking(CUSTOMER, "op-2")


async def test_the_optional_writes_change_the_telekod_and_carry_out_a_transfer_once(
    bank: WebserviceBank, core: ReferenceCore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(Refused) as wrong_old:
        await bank.change_telekod(CUSTOMER, "9999", "739164")
    with pytest.raises(Refused) as malformed:
        await bank.change_telekod(CUSTOMER, PIN, "73x")  # never sent: not a telekod
    assert await bank.authenticate("12345678", PIN) == CUSTOMER  # nothing changed
    await bank.change_telekod(CUSTOMER, PIN, "739164")  # answers nothing (None)
    assert await bank.authenticate("12345678", "739164") == CUSTOMER
    with pytest.raises(Refused):
        await bank.authenticate("12345678", PIN)
    kept = [seen for seen in core.seen if seen.path.endswith("/telekod")]
    assert len(kept) == 2  # the malformed one never left
    told = " ".join([str(wrong_old.value), str(malformed.value), caplog.text, repr(kept)])
    assert "739164" not in told and "9999" not in told and "73x" not in told

    [current, _savings] = await bank.account_list(CUSTOMER)
    transfers = await bank.predefined_transfers(CUSTOMER, current.account_id)
    pge = transfers[0]
    assert (pge.transfer_id, pge.payee, pge.amount) == ("pt-1", "PGE Obrót", Decimal("120.00"))
    assert isinstance(pge.amount, Decimal) and len(transfers) == 2
    with pytest.raises(Refused):  # the order as the code was bound to it, not as the bank has it
        await bank.execute_transfer(CUSTOMER, replace(pge, amount=Decimal("121.00")), "op-t1")
    with pytest.raises(Refused):
        await bank.execute_transfer(CUSTOMER, replace(pge, payee="Ktoś inny"), "op-t1")
    with pytest.raises(NotFound):
        await bank.execute_transfer(Customer("87654321"), pge, "op-t1")
    done = await bank.execute_transfer(CUSTOMER, pge, "op-t1")
    assert done.reference.isdigit()
    assert await bank.execute_transfer(CUSTOMER, pge, "op-t1") == done  # once per operation id
    with pytest.raises(Refused):  # the same id for another order
        await bank.execute_transfer(CUSTOMER, transfers[1], "op-t1")
    runs = [s for s in core.seen if s.path.endswith("/execute")]
    assert runs[-2].body == {  # the whole order travels
        "operation_id": "op-t1", "payee": "PGE Obrót", "amount": "120.00", "currency": "PLN",
        "title": "energia elektryczna",
    }  # fmt: skip
    core.seen.clear()
    core.faults.fail_statuses = [503]
    with pytest.raises(Unavailable):  # a transfer is never sent twice by us
        await bank.execute_transfer(CUSTOMER, transfers[1], "op-t2")
    assert len(core.seen) == 1


def test_the_settings_say_which_optional_operations_the_server_has(key_file: Path) -> None:
    registry = AdapterRegistry(get_plugin_manager(env={}))
    settings = {"base_url": "https://core.bank.example/", "secret_file": str(key_file)}
    assert registry.offers("webservice", settings) == frozenset()
    writes = {**settings, "change_telekod": True, "predefined_transfers": True}
    assert registry.offers("webservice", writes) == {
        OptionalOperation.CHANGE_TELEKOD,
        OptionalOperation.PREDEFINED_TRANSFERS,
        OptionalOperation.EXECUTE_TRANSFER,
    }


async def test_refusals_look_the_same_and_never_carry_the_pin(bank: WebserviceBank) -> None:
    with pytest.raises(Refused) as unknown:  # a login never says which part was wrong
        await bank.identify("99999999", date(1950, 2, 1))
    with pytest.raises(Refused) as wrong_pin:
        await bank.authenticate("12345678", "9999")
    with pytest.raises(Refused) as wrong_birth:
        await bank.identify("12345678", date(1960, 1, 1))
    with pytest.raises(Refused) as malformed:
        await bank.authenticate("12345678", "12x")  # never sent: not a PIN
    messages = {str(e.value) for e in (unknown, wrong_pin, wrong_birth, malformed)}
    assert len(messages) == 1
    assert "9999" not in str(wrong_pin.value) and "12x" not in str(malformed.value)
    with pytest.raises(NotFound):
        await bank.block_card(CUSTOMER, "card-9999", "op-3")


async def test_a_read_is_retried_once_and_a_block_never(
    bank: WebserviceBank, core: ReferenceCore
) -> None:
    core.faults.fail_statuses = [503]
    assert len(await bank.list_cards(CUSTOMER)) == 2
    assert [s.path for s in core.seen].count("/v1/customers/12345678/cards") == 2

    core.seen.clear()
    core.faults.fail_statuses = [503]
    with pytest.raises(Unavailable):
        await bank.block_internet_banking(CUSTOMER, "op-4")
    assert len(core.seen) == 1

    core.faults.fail_statuses = [503, 503]
    with pytest.raises(Unavailable):
        await bank.list_accounts(CUSTOMER)


async def test_a_slow_core_is_a_timeout(bank: WebserviceBank, core: ReferenceCore) -> None:
    core.faults.delay = 2.0  # the adapter waits 0.5 s per request
    with pytest.raises(Timeout):
        await bank.authenticate("12345678", PIN)
    assert len(core.seen) == 1  # a login is not retried


@pytest.mark.parametrize(
    ("fault", "value"),
    [("wrong_key", True), ("oversize", True), ("json_number_money", True)],
)
async def test_an_untrustworthy_answer_is_dropped(
    bank: WebserviceBank, core: ReferenceCore, fault: str, value: Any
) -> None:
    setattr(core.faults, fault, value)
    with pytest.raises(Unavailable) as failure:
        await bank.list_accounts(CUSTOMER)
    assert not isinstance(failure.value, Timeout)


async def test_an_unreachable_core_is_unavailable(key_file: Path) -> None:
    adapter = WebserviceBank(
        WebserviceSettings(base_url="http://127.0.0.1:9/", secret_file=key_file)
    )
    with pytest.raises(Unavailable):
        await adapter.list_cards(CUSTOMER)
    await adapter.close()


async def test_the_server_refuses_unsigned_stale_replayed_and_oversized_requests(
    base_url: str, core: ReferenceCore
) -> None:
    body = json.dumps({"customer_number": "12345678", "pin": PIN}).encode()
    url = base_url + "v1/authenticate"
    signed = signing.request_headers(SECRET, "POST", "/v1/authenticate", body)
    stale = signing.request_headers(
        SECRET, "POST", "/v1/authenticate", body, sent_at=time.time() - 3600
    )
    big = b'{"pad": "' + b"x" * signing.MAX_BODY + b'"}'
    async with aiohttp.ClientSession() as http:
        statuses = []
        for headers, payload in [
            ({}, body),
            ({**signed, signing.SIGNATURE: "sha256=" + "0" * 64}, body),
            (stale, body),
            (signed, body),  # genuine: accepted
            (signed, body),  # the same request again: a replay
            (signing.request_headers(SECRET, "POST", "/v1/authenticate", big), big),
        ]:
            async with http.post(url, data=payload, headers=headers) as response:
                statuses.append(response.status)
    assert statuses[:5] == [401, 401, 401, 200, 401]
    assert statuses[5] in (401, 413)  # refused before or by the signature check
    assert core.refused[:4] == ["unsigned", "bad signature", "stale", "replayed"]


def test_settings_are_checked_before_a_call(tmp_path: Path, key_file: Path) -> None:
    registry = AdapterRegistry(get_plugin_manager(env={}))
    cases: list[tuple[dict[str, Any], str]] = [
        ({"base_url": "http://core.bank.example/", "secret_file": str(key_file)}, "https"),
        ({"base_url": "https://core.bank.example/"}, "exactly one of secret_env"),
        (
            {"base_url": "https://core.bank.example/", "secret_env": "INFOLINIA_NO_SUCH_VAR"},
            "INFOLINIA_NO_SUCH_VAR is empty or unset",
        ),
        (
            {
                "base_url": "https://core.bank.example/",
                "secret_file": str(key_file),
                "client_cert": str(key_file),
            },
            "client_cert and client_key go together",
        ),
        (
            {"base_url": "https://core.bank.example/", "secret_file": str(tmp_path / "none")},
            "No such file",
        ),
    ]
    for settings, problem in cases:
        with pytest.raises(AdapterSetupError) as failure:
            registry.create("webservice", settings)
        assert problem in str(failure.value), settings
        assert failure.value.field.startswith("adapter_settings")


# --- mutual TLS -----------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    root = tmp_path_factory.mktemp("pki")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=root, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=test-ca", "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    (root / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    for name, extra in (("server", ["-extfile", "san.cnf"]), ("client", [])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                "-keyout", f"{name}.key", "-out", f"{name}.csr")  # fmt: skip
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", *extra)  # fmt: skip
    return root


@pytest.fixture
async def tls_url(core: ReferenceCore, pki: Path) -> AsyncIterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=pki / "ca.pem")
    context.load_cert_chain(pki / "server.pem", pki / "server.key")
    context.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: no client certificate, no answer
    runner, port = await serve(core, ssl_context=context)
    yield f"https://127.0.0.1:{port}/"
    await runner.cleanup()


async def test_mutual_tls(tls_url: str, pki: Path, key_file: Path) -> None:
    with_cert = WebserviceBank(
        WebserviceSettings(
            base_url=tls_url,
            secret_file=key_file,
            ca_file=pki / "ca.pem",
            client_cert=pki / "client.pem",
            client_key=pki / "client.key",
        )
    )
    without_cert = WebserviceBank(
        WebserviceSettings(base_url=tls_url, secret_file=key_file, ca_file=pki / "ca.pem")
    )
    untrusted_server = WebserviceBank(WebserviceSettings(base_url=tls_url, secret_file=key_file))
    try:
        assert await with_cert.authenticate("12345678", PIN) == CUSTOMER
        for adapter in (without_cert, untrusted_server):
            with pytest.raises(Unavailable):
                await adapter.authenticate("12345678", PIN)
    finally:
        for adapter in (with_cert, without_cert, untrusted_server):
            await adapter.close()


# --- the contract document ------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(OPENAPI.read_text())
    return document


def test_the_contract_is_a_valid_openapi_document(openapi: dict[str, Any]) -> None:
    validate_openapi(openapi)  # raises on an invalid document


def test_the_reference_server_serves_exactly_the_documented_paths(
    openapi: dict[str, Any], core: ReferenceCore
) -> None:
    served = {
        (
            route.method.lower(),
            route.resource.canonical.replace("{number}", "{customer_number}").replace(
                "{card}", "{card_id}"
            ),
        )
        for route in core.app().router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    documented = {
        (method, path)
        for path, item in openapi["paths"].items()
        for method in item
        if method in ("get", "post")
    }
    assert served == documented


async def test_reference_answers_match_the_documented_schemas(
    openapi: dict[str, Any], base_url: str
) -> None:
    schemas = openapi["components"]["schemas"]

    def check(body: bytes, name: str) -> None:
        # The named schema, with the components its $refs point into.
        jsonschema.validate(json.loads(body), {**schemas[name], "components": {"schemas": schemas}})

    async def call(method: str, path: str, payload: dict[str, Any] | None = None) -> bytes:
        body = json.dumps(payload).encode() if payload is not None else b""
        headers = signing.request_headers(SECRET, method, "/" + path, body)
        async with http.request(method, base_url + path, data=body or None, headers=headers) as r:
            return await r.read()

    async with aiohttp.ClientSession() as http:
        check(await call("POST", "v1/authenticate", {"customer_number": "12345678", "pin": PIN}),
              "Customer")  # fmt: skip
        check(await call("GET", "v1/customers/12345678/cards"), "Cards")
        check(await call("GET", "v1/customers/12345678/accounts"), "Accounts")
        check(await call("GET", "v1/customers/12345678/operations?limit=3"), "Operations")
        check(await call("POST", "v1/customers/12345678/internet-banking/block",
                         {"operation_id": "x1"}), "Block")  # fmt: skip
        check(await call("POST", "v1/authenticate", {"customer_number": "12345678", "pin": "0000"}),
              "Error")  # fmt: skip
        check(await call("GET", "v1/customers/12345678/accounts/acc-12345678/predefined-transfers"),
              "Transfers")  # fmt: skip
        order = {"operation_id": "x2", "payee": "PGE Obrót", "amount": "120.00",
                 "currency": "PLN", "title": "energia elektryczna"}  # fmt: skip
        check(await call("POST", "v1/customers/12345678/predefined-transfers/pt-1/execute",
                         order), "TransferDone")  # fmt: skip
        check(await call("POST", "v1/customers/12345678/predefined-transfers/pt-1/execute",
                         {**order, "operation_id": "x3", "amount": "1.00"}), "Error")  # fmt: skip
        check(await call("POST", "v1/customers/12345678/telekod",
                         {"old_telekod": PIN, "new_telekod": "739164"}), "Changed")  # fmt: skip


# --- answers as the wire delivers them ---------------------------------------


def _signed(request: web.Request, status: int, payload: Any) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    nonce = request.headers[signing.NONCE]
    return body, {signing.SIGNATURE: signing.sign_response(SECRET, nonce, status, body)}


def _bank_at(base: str, key_file: Path) -> WebserviceBank:
    return WebserviceBank(
        WebserviceSettings(base_url=base, secret_file=key_file, request_timeout=5, read_retries=0)
    )


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
async def test_an_answer_split_into_pieces_with_pauses_is_read_whole(
    key_file: Path, chunked: bool
) -> None:
    many = [
        {"card_id": f"card-{n:04}", "kind": "debit", "last4": f"{n:04}", "status": "active"}
        for n in range(300)  # about 25 KB: several TCP segments whatever the MTU
    ]

    async def cards(request: web.Request) -> web.StreamResponse:
        body, headers = _signed(request, 200, {"cards": many})
        return await answer_in_pieces(request, body, headers, pieces=6, chunked=chunked)

    app = web.Application()
    app.router.add_get("/v1/customers/12345678/cards", cards)
    async with serving(app) as base:
        bank = _bank_at(base, key_file)
        try:
            got = await bank.list_cards(CUSTOMER)
        finally:
            await bank.close()
    assert [card.card_id for card in got] == [card["card_id"] for card in many]


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
async def test_an_answer_over_the_cap_is_refused(key_file: Path, chunked: bool) -> None:
    async def cards(request: web.Request) -> web.StreamResponse:
        body, headers = _signed(request, 200, {"cards": [], "padding": "x" * signing.MAX_BODY})
        return await answer_in_pieces(request, body, headers, pieces=8, chunked=chunked)

    app = web.Application()
    app.router.add_get("/v1/customers/12345678/cards", cards)
    async with serving(app) as base:
        bank = _bank_at(base, key_file)
        try:
            with pytest.raises(Unavailable, match="too large"):
                await bank.list_cards(CUSTOMER)
        finally:
            await bank.close()


async def test_a_redirect_is_not_followed(key_file: Path) -> None:
    async with Bystander().running() as elsewhere:

        async def moved(request: web.Request) -> web.Response:
            body, headers = _signed(request, 307, {})
            location = f"http://127.0.0.1:{elsewhere.port}/v1/authenticate"
            return web.Response(status=307, body=body, headers={**headers, "Location": location})

        app = web.Application()
        app.router.add_post("/v1/authenticate", moved)
        async with serving(app) as base:
            bank = _bank_at(base, key_file)
            try:
                with pytest.raises(Unavailable, match="307"):
                    await bank.authenticate("12345678", PIN)
            finally:
                await bank.close()
    assert elsewhere.connections == 0 and elsewhere.received == b""
