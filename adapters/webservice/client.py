"""The ``webservice`` adapter: the bank's core system behind JSON over HTTPS.

One pooled aiohttp session per tenant, a timeout on every request, signed
requests and verified responses (:mod:`adapters.webservice.signing`), optional
mutual TLS. Only reads (cards, accounts, operations, predefined transfers) are retried: a login
counts failures at the bank and a block must not be sent twice by us (the
core asks again with the same operation id when it has to; blocks are
idempotent on it).

Redirects are never followed (a 3xx is :class:`~adapters.errors.Unavailable`),
and an answer is read to its end, however the wire splits it, up to
:data:`~adapters.webservice.signing.MAX_BODY` bytes (:mod:`adapters.http_body`).

The HTTP contract is ``openapi.yaml`` in this folder. Status codes map to the
adapter error tree: 404 -> NotFound, 403/409/422 -> Refused, anything else
that is not 200 -> Unavailable; no answer in time -> Timeout.
"""

import logging
import os
import ssl
import urllib.parse
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from adapters.errors import NotFound, Refused, Timeout, Unavailable
from adapters.hookspecs import SECRET_ENV, SECRET_FILE
from adapters.http_body import IDENTITY_HEADERS, BodyTooLarge, read_capped
from adapters.spec import (
    Account,
    AccountSummary,
    Balance,
    BlockResult,
    Card,
    Customer,
    ExchangeRate,
    Operation,
    PredefinedTransfer,
    TransferResult,
)
from adapters.webservice import signing, wire

log = logging.getLogger(__name__)
Body = TypeVar("Body", bound=BaseModel)
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
RETRYABLE_STATUS = {502, 503, 504}


class WebserviceSettings(BaseModel):
    """A tenant's ``adapter.settings`` for ``name: webservice``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Titles: the labels of the admin page's form for a new bank (Polish).
    base_url: str = Field(
        title="Adres usługi banku", description="e.g. https://core.bank.example/infolinia/"
    )
    secret_env: str | None = Field(
        None,
        title="Zmienna środowiskowa z kluczem HMAC",
        description="environment variable with the HMAC key",
        json_schema_extra=SECRET_ENV,
    )
    secret_file: Path | None = Field(
        None,
        title="Plik z kluczem HMAC",
        description="file with the HMAC key",
        json_schema_extra=SECRET_FILE,
    )
    request_timeout: float = Field(
        2.0, gt=0, le=60, title="Czas na zapytanie (s)", description="seconds per HTTP request"
    )
    read_retries: int = Field(
        1, ge=0, le=3, title="Ponowienia odczytów", description="extra tries for reads only"
    )
    max_connections: int = Field(20, ge=1, le=1000, title="Najwięcej połączeń naraz")
    ca_file: Path | None = Field(
        None, title="Plik CA serwera", description="CA bundle that signed the server"
    )
    client_cert: Path | None = Field(
        None, title="Certyfikat klienta (PEM)", description="PEM certificate for mutual TLS"
    )
    client_key: Path | None = Field(
        None,
        title="Klucz certyfikatu klienta (plik PEM)",
        description="PEM key of client_cert",
        json_schema_extra=SECRET_FILE,
    )
    # The optional operations the bank's server implements (openapi.yaml).
    accounts_detail: bool = Field(
        False,
        title="Serwis podaje rachunki klienta z saldem dostępnym",
        description="the server answers account-list, an account's balance and operations",
    )
    exchange_rates: bool = Field(
        False, title="Serwis podaje kursy walut", description="the server answers exchange-rates"
    )
    change_telekod: bool = Field(
        False, title="Serwis zmienia telekod", description="the server answers telekod (change)"
    )
    predefined_transfers: bool = Field(
        False,
        title="Serwis podaje i wykonuje przelewy zdefiniowane",
        description="the server answers predefined-transfers and their execute",
    )

    def offers(self) -> list[str]:
        """The optional operations (adapters.spec.OptionalOperation) these settings turn on."""
        offered = []
        if self.accounts_detail:
            offered += ["account_list", "account_balance", "account_operations"]
        if self.exchange_rates:
            offered.append("exchange_rates")
        if self.change_telekod:
            offered.append("change_telekod")
        if self.predefined_transfers:
            offered += ["predefined_transfers", "execute_transfer"]
        return offered

    @field_validator("base_url")
    @classmethod
    def _https_unless_local(cls, value: str) -> str:
        url = urllib.parse.urlsplit(value)
        if url.scheme == "https" or (url.scheme == "http" and url.hostname in LOCAL_HOSTS):
            return value if value.endswith("/") else value + "/"
        raise ValueError("must be an https:// URL (http:// only to this machine)")

    @model_validator(mode="after")
    def _one_secret_and_a_pair(self) -> "WebserviceSettings":
        if (self.secret_env is None) == (self.secret_file is None):
            raise ValueError("give exactly one of secret_env and secret_file")
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("client_cert and client_key go together")
        return self

    def secret(self) -> bytes:
        """The shared HMAC key, read from the environment or the file."""
        if self.secret_env is not None:
            value = os.environ.get(self.secret_env, "")
            if not value:
                raise ValueError(f"environment variable {self.secret_env} is empty or unset")
            return value.encode()
        assert self.secret_file is not None
        key = self.secret_file.read_bytes().strip()
        if not key:
            raise ValueError(f"{self.secret_file} is empty")
        return key

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.ca_file is None and self.client_cert is None:
            return None  # aiohttp's default verification against the system CAs
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.client_cert is not None:
            context.load_cert_chain(self.client_cert, self.client_key)
        return context


class WebserviceBank:
    """A :class:`~adapters.spec.CoreBanking` over the bank's webservice."""

    def __init__(self, settings: WebserviceSettings) -> None:
        self.settings = settings
        self._key = settings.secret()  # fails at start-up, not on the first call
        self._ssl = settings.ssl_context()
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.settings.max_connections, ssl=self._ssl if self._ssl else True
                ),
                timeout=aiohttp.ClientTimeout(total=self.settings.request_timeout),
                auto_decompress=False,  # the signature covers the bytes on the wire
            )
        return self._session

    async def _call(
        self, method: str, path: str, answer: type[Body], payload: BaseModel | None = None
    ) -> Body:
        body = payload.model_dump_json().encode() if payload is not None else b""
        target = urllib.parse.urlsplit(urllib.parse.urljoin(self.settings.base_url, path))
        url = urllib.parse.urlunsplit(target)
        path_and_query = target.path + (f"?{target.query}" if target.query else "")
        tries = 1 + (self.settings.read_retries if method == "GET" else 0)
        for attempt in range(1, tries + 1):
            try:
                return await self._once(method, url, path_and_query, body, answer)
            except (_Transient, Timeout):
                if attempt == tries:
                    raise
                log.info("core read failed, retrying", extra={"path": target.path})
        raise AssertionError("unreachable")

    async def _once(
        self, method: str, url: str, target: str, body: bytes, answer: type[Body]
    ) -> Body:
        headers = signing.request_headers(self._key, method, target, body)
        headers["Content-Type"] = "application/json"
        headers.update(IDENTITY_HEADERS)
        try:
            async with self._client().request(
                method, url, data=body or None, headers=headers, allow_redirects=False
            ) as response:
                # The whole body, however it is split on the wire, up to the cap.
                raw = await read_capped(response.content, signing.MAX_BODY, response.content_length)
                status = response.status
                signature = response.headers.get(signing.SIGNATURE)
        except BodyTooLarge:
            raise Unavailable("core answer too large") from None
        except TimeoutError:
            seconds = self.settings.request_timeout
            raise Timeout(f"core did not answer {method} in {seconds}s") from None
        except aiohttp.ClientError as exc:
            raise _Transient(f"core unreachable: {type(exc).__name__}") from None
        return read_answer(self._key, headers[signing.NONCE], status, raw, signature, answer)

    # --- CoreBanking ------------------------------------------------------

    async def identify(self, customer_number: str, birth_date: date) -> Customer:
        request = _login(
            wire.IdentifyRequest, customer_number=customer_number, birth_date=birth_date
        )
        found = await self._call("POST", "v1/identify", wire.CustomerBody, request)
        return Customer(found.customer_number)

    async def authenticate(self, customer_number: str, pin: str) -> Customer:
        request = _login(wire.AuthenticateRequest, customer_number=customer_number, pin=pin)
        found = await self._call("POST", "v1/authenticate", wire.CustomerBody, request)
        return Customer(found.customer_number)

    async def list_cards(self, customer: Customer) -> list[Card]:
        body = await self._call("GET", f"{_customer(customer)}/cards", wire.CardsBody)
        return [card.to_card() for card in body.cards]

    async def block_card(self, customer: Customer, card_id: str, operation_id: str) -> BlockResult:
        path = f"{_customer(customer)}/cards/{urllib.parse.quote(card_id, safe='')}/block"
        request = wire.BlockRequest(operation_id=operation_id)
        return (await self._call("POST", path, wire.BlockBody, request)).to_result()

    async def block_internet_banking(self, customer: Customer, operation_id: str) -> BlockResult:
        path = f"{_customer(customer)}/internet-banking/block"
        request = wire.BlockRequest(operation_id=operation_id)
        return (await self._call("POST", path, wire.BlockBody, request)).to_result()

    async def list_accounts(self, customer: Customer) -> list[Account]:
        body = await self._call("GET", f"{_customer(customer)}/accounts", wire.AccountsBody)
        return [account.to_account() for account in body.accounts]

    async def last_operations(self, customer: Customer, limit: int = 5) -> list[Operation]:
        path = f"{_customer(customer)}/operations?limit={int(limit)}"
        body = await self._call("GET", path, wire.OperationsBody)
        return [operation.to_operation() for operation in body.operations]

    # --- optional operations (the settings say which the server has) ----------

    async def account_list(self, customer: Customer) -> list[AccountSummary]:
        body = await self._call("GET", f"{_customer(customer)}/account-list", wire.AccountListBody)
        return [account.to_summary() for account in body.accounts]

    async def account_balance(self, customer: Customer, account_id: str) -> Balance:
        path = f"{_account(customer, account_id)}/balance"
        return (await self._call("GET", path, wire.BalanceBody)).to_balance()

    async def account_operations(
        self, customer: Customer, account_id: str, limit: int = 5
    ) -> list[Operation]:
        path = f"{_account(customer, account_id)}/operations?limit={max(int(limit), 1)}"
        body = await self._call("GET", path, wire.OperationsBody)
        return [operation.to_operation() for operation in body.operations][: max(limit, 0)]

    async def exchange_rates(self) -> list[ExchangeRate]:
        body = await self._call("GET", "v1/exchange-rates", wire.RatesBody)
        return [rate.to_rate() for rate in body.rates]

    async def change_telekod(self, customer: Customer, old: str, new: str) -> None:
        # A malformed telekod is refused here without pydantic's message (it quotes the input).
        request = _login(wire.ChangeTelekodRequest, old_telekod=old, new_telekod=new)
        await self._call("POST", f"{_customer(customer)}/telekod", wire.ChangedBody, request)

    async def predefined_transfers(
        self, customer: Customer, account_id: str
    ) -> list[PredefinedTransfer]:
        path = f"{_account(customer, account_id)}/predefined-transfers"
        body = await self._call("GET", path, wire.TransfersBody)
        return [transfer.to_transfer() for transfer in body.transfers]

    async def execute_transfer(
        self, customer: Customer, transfer: PredefinedTransfer, operation_id: str
    ) -> TransferResult:
        quoted = urllib.parse.quote(transfer.transfer_id, safe="")
        path = f"{_customer(customer)}/predefined-transfers/{quoted}/execute"
        try:
            request = wire.ExecuteTransferRequest(
                operation_id=operation_id,
                payee=transfer.payee,
                amount=f"{transfer.amount:f}",
                currency=transfer.currency,
                title=transfer.title,
            )
        except ValidationError:
            raise Refused("the order cannot be sent as the contract asks") from None
        # Never retried by us (a POST): the flow asks again with the same operation id.
        return (await self._call("POST", path, wire.TransferResultBody, request)).to_result()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def read_answer(
    key: bytes, nonce: str, status: int, raw: bytes, signature: str | None, answer: type[Body]
) -> Body:
    """The core's answer to the request signed with ``nonce``, as ``answer``;
    otherwise one of the adapter errors (:mod:`adapters.errors`), never
    anything else: a wrong signature or a body off the contract is
    :class:`~adapters.errors.Unavailable`, an error status its mapped error."""
    if not signing.response_ok(key, nonce, status, raw, signature):
        raise Unavailable(f"core answer not signed with our key (status {status})")
    if status == 200:
        try:
            return answer.model_validate_json(raw)
        except ValidationError as exc:
            where = ".".join(str(p) for p in exc.errors()[0]["loc"])
            raise Unavailable(f"core answer does not follow the contract at {where}") from None
    raise _status_error(status)


def _customer(customer: Customer) -> str:
    return f"v1/customers/{urllib.parse.quote(customer.number, safe='')}"


def _account(customer: Customer, account_id: str) -> str:
    return f"{_customer(customer)}/accounts/{urllib.parse.quote(account_id, safe='')}"


class _Transient(Unavailable):
    """Worth one more try for a read: the connection failed or the core was busy."""


REFUSED = "core refused: customer number or credentials not accepted"


def _login(model: type[Body], **fields: Any) -> Body:
    # A malformed number or PIN is refused here, and pydantic's message (which
    # quotes the input) is dropped: it would carry the PIN.
    try:
        return model(**fields)
    except ValidationError:
        raise Refused(REFUSED) from None


def _status_error(status: int) -> Exception:
    if status == 404:
        return NotFound("core: no such customer, card or account")
    if status in (403, 409, 422):
        return Refused(REFUSED)
    if status == 401:
        return Unavailable("core refused our signature (check the shared secret and clocks)")
    if status in RETRYABLE_STATUS:
        return _Transient(f"core answered {status}")
    return Unavailable(f"core answered {status}")
