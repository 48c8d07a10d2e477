"""A reference implementation of the webservice contract
(``adapters/webservice/openapi.yaml``) over the demo bank, for tests; run on
its own (``python -m tests.support.reference_core --help``) it is the load
benchmark's bank core in a process of its own.

It checks every request as a bank's server must (signature, age, replay,
size) and signs every answer. ``faults`` lets a test make it misbehave:
answer late, fail with a status, sign with the wrong key, send too much.
"""

import argparse
import asyncio
import contextlib
import json
import os
import ssl
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from adapters.demo import DemoBank, DemoSettings
from adapters.errors import AdapterError, NotFound, Refused
from adapters.spec import Customer, PredefinedTransfer
from adapters.webservice import signing, wire

SECRET = b"test-core-secret"
PORT = 18766  # the real-call tests' tenant points here


@dataclass
class Faults:
    delay: float = 0.0  # seconds before answering
    fail_statuses: list[int] = field(default_factory=list)  # next answers' statuses
    wrong_key: bool = False
    oversize: bool = False
    json_number_money: bool = False  # balance as a JSON number, against the contract
    blocks_down: bool = False  # blocks answer 503 (the rest works)
    # requests about these customer numbers answer 503 (the bank is down for
    # their callers only: other calls at the same moment are served)
    down_for: set[str] = field(default_factory=set)


@dataclass
class Seen:
    method: str
    path: str
    body: dict[str, Any]


class ReferenceCore:
    """The bank side of the webservice contract."""

    def __init__(self, bank: DemoBank, key: bytes = SECRET) -> None:
        self.bank = bank
        self.key = key
        self.verifier = signing.RequestVerifier(key)
        self.faults = Faults()
        self.refused: list[str] = []  # why requests were refused
        self.seen: list[Seen] = []
        self.keep_seen = True  # record every request in ``seen`` (tests read it)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=signing.MAX_BODY)
        app.router.add_post("/v1/identify", self._identify)
        app.router.add_post("/v1/authenticate", self._authenticate)
        app.router.add_get("/v1/customers/{number}/cards", self._cards)
        app.router.add_post("/v1/customers/{number}/cards/{card}/block", self._block_card)
        app.router.add_post("/v1/customers/{number}/internet-banking/block", self._block_ib)
        app.router.add_get("/v1/customers/{number}/accounts", self._accounts)
        app.router.add_get("/v1/customers/{number}/operations", self._operations)
        # The optional operations (settings accounts_detail, exchange_rates).
        app.router.add_get("/v1/customers/{number}/account-list", self._account_list)
        app.router.add_get("/v1/customers/{number}/accounts/{account_id}/balance", self._balance)
        app.router.add_get(
            "/v1/customers/{number}/accounts/{account_id}/operations", self._account_operations
        )
        app.router.add_get("/v1/exchange-rates", self._rates)
        # (settings change_telekod, predefined_transfers)
        app.router.add_post("/v1/customers/{number}/telekod", self._change_telekod)
        app.router.add_get(
            "/v1/customers/{number}/accounts/{account_id}/predefined-transfers", self._transfers
        )
        app.router.add_post(
            "/v1/customers/{number}/predefined-transfers/{transfer_id}/execute", self._execute
        )
        app.middlewares.append(self._guard)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.read()
        problem = self.verifier.problem(request.method, request.path_qs, body, request.headers)
        nonce = request.headers.get(signing.NONCE, "")
        if problem is not None:
            self.refused.append(problem)
            return self._answer(nonce, 401, {"error": "refused", "message": problem})
        if self.keep_seen:
            seen = json.loads(body) if body else {}
            if request.path.endswith("/telekod"):  # a telekod is kept nowhere, not even here
                seen = dict.fromkeys(seen, "***")
            self.seen.append(Seen(request.method, request.path, seen))
        if self.faults.delay:
            await asyncio.sleep(self.faults.delay)
        if self.faults.blocks_down and request.path.endswith("/block"):
            return self._answer(nonce, 503, {"error": "unavailable"})
        if body and json.loads(body).get("customer_number") in self.faults.down_for:
            return self._answer(nonce, 503, {"error": "unavailable"})
        if self.faults.fail_statuses:
            status = self.faults.fail_statuses.pop(0)
            return self._answer(nonce, status, {"error": "unavailable"})
        try:
            status, payload = 200, await handler(request)
        except NotFound:
            status, payload = 404, {"error": "not_found"}
        except Refused:
            status, payload = 403, {"error": "refused"}
        except ValidationError:
            status, payload = 422, {"error": "refused"}
        except AdapterError:
            status, payload = 503, {"error": "unavailable"}
        return self._answer(nonce, status, payload)

    def _answer(self, nonce: str, status: int, payload: Any) -> web.Response:
        body = json.dumps(payload).encode()
        if self.faults.oversize:
            body = json.dumps({**payload, "padding": "x" * signing.MAX_BODY}).encode()
        key = b"not-the-shared-key" if self.faults.wrong_key else self.key
        signature = signing.sign_response(key, nonce, status, body)
        return web.Response(
            status=status,
            body=body,
            content_type="application/json",
            headers={signing.SIGNATURE: signature},
        )

    async def _identify(self, request: web.Request) -> Any:
        asked = wire.IdentifyRequest.model_validate_json(await request.read())
        found = await self.bank.identify(asked.customer_number, asked.birth_date)
        return {"customer_number": found.number}

    async def _authenticate(self, request: web.Request) -> Any:
        asked = wire.AuthenticateRequest.model_validate_json(await request.read())
        found = await self.bank.authenticate(asked.customer_number, asked.pin)
        return {"customer_number": found.number}

    async def _cards(self, request: web.Request) -> Any:
        cards = await self.bank.list_cards(Customer(request.match_info["number"]))
        return {
            "cards": [
                {"card_id": c.card_id, "kind": c.kind, "last4": c.last4, "status": c.status}
                for c in cards
            ]
        }

    async def _block_card(self, request: web.Request) -> Any:
        asked = wire.BlockRequest.model_validate_json(await request.read())
        customer = Customer(request.match_info["number"])
        result = await self.bank.block_card(
            customer, request.match_info["card"], asked.operation_id
        )
        return {"reference": result.reference, "already_blocked": result.already_blocked}

    async def _block_ib(self, request: web.Request) -> Any:
        asked = wire.BlockRequest.model_validate_json(await request.read())
        customer = Customer(request.match_info["number"])
        result = await self.bank.block_internet_banking(customer, asked.operation_id)
        return {"reference": result.reference, "already_blocked": result.already_blocked}

    async def _accounts(self, request: web.Request) -> Any:
        accounts = await self.bank.list_accounts(Customer(request.match_info["number"]))
        return {
            "accounts": [
                {
                    "account_id": a.account_id,
                    "name": a.name,
                    "balance": float(a.balance)
                    if self.faults.json_number_money
                    else str(a.balance),
                    "currency": a.currency,
                }
                for a in accounts
            ]
        }

    async def _operations(self, request: web.Request) -> Any:
        limit = int(request.query.get("limit", "5"))
        operations = await self.bank.last_operations(Customer(request.match_info["number"]), limit)
        return {
            "operations": [
                {
                    "booked": o.booked.isoformat(),
                    "amount": str(o.amount),
                    "currency": o.currency,
                    "direction": o.direction,
                    "counterparty": o.counterparty,
                }
                for o in operations
            ]
        }

    async def _account_list(self, request: web.Request) -> Any:
        accounts = await self.bank.account_list(Customer(request.match_info["number"]))
        return {
            "accounts": [
                {"account_id": a.account_id, "kind": a.kind, "last4": a.last4,
                 "currency": a.currency}
                for a in accounts
            ]
        }  # fmt: skip

    async def _balance(self, request: web.Request) -> Any:
        customer = Customer(request.match_info["number"])
        found = await self.bank.account_balance(customer, request.match_info["account_id"])
        return {
            "account_id": found.account_id,
            "balance": str(found.balance),
            "available": str(found.available),
            "currency": found.currency,
        }

    async def _account_operations(self, request: web.Request) -> Any:
        limit = int(request.query.get("limit", "5"))
        customer = Customer(request.match_info["number"])
        found = await self.bank.account_operations(
            customer, request.match_info["account_id"], limit
        )
        return {"operations": [_operation(o) for o in found]}

    async def _rates(self, request: web.Request) -> Any:
        rates = await self.bank.exchange_rates()
        return {
            "rates": [
                {"currency": r.currency, "buy": str(r.buy), "sell": str(r.sell), "units": r.units}
                for r in rates
            ]
        }

    async def _change_telekod(self, request: web.Request) -> Any:
        asked = wire.ChangeTelekodRequest.model_validate_json(await request.read())
        customer = Customer(request.match_info["number"])
        await self.bank.change_telekod(customer, asked.old_telekod, asked.new_telekod)
        return {"changed": True}

    async def _transfers(self, request: web.Request) -> Any:
        customer = Customer(request.match_info["number"])
        found = await self.bank.predefined_transfers(customer, request.match_info["account_id"])
        return {
            "transfers": [
                {"transfer_id": t.transfer_id, "payee": t.payee, "amount": f"{t.amount:f}",
                 "currency": t.currency, "title": t.title}
                for t in found
            ]
        }  # fmt: skip

    async def _execute(self, request: web.Request) -> Any:
        asked = wire.ExecuteTransferRequest.model_validate_json(await request.read())
        order = PredefinedTransfer(
            request.match_info["transfer_id"],
            asked.payee,
            Decimal(asked.amount),
            asked.currency,
            asked.title,
        )
        customer = Customer(request.match_info["number"])
        done = await self.bank.execute_transfer(customer, order, asked.operation_id)
        return {"reference": done.reference}


def _operation(o: Any) -> dict[str, Any]:
    return {
        "booked": o.booked.isoformat(),
        "amount": str(o.amount),
        "currency": o.currency,
        "direction": o.direction,
        "counterparty": o.counterparty,
    }


async def serve(
    core: ReferenceCore, port: int = 0, ssl_context: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, int]:
    """Start serving on 127.0.0.1 in the running loop; returns the runner and the port."""
    runner = web.AppRunner(core.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context)
    await site.start()
    server = site._server
    assert server is not None
    sockets = getattr(server, "sockets", None) or []
    return runner, int(sockets[0].getsockname()[1]) if sockets else port


class ReferenceCoreThread:
    """The reference core in its own thread and loop, for an app in another process."""

    def __init__(self, settings: DemoSettings, port: int = PORT) -> None:
        self.core = ReferenceCore(DemoBank(settings))
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="reference-core")

    def start(self) -> "ReferenceCoreThread":
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("reference core did not start")
        return self

    def stop(self) -> None:
        # Close the listening socket first: the next test binds the same port.
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(5)
        asyncio.run_coroutine_threadsafe(self.core.bank.close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._runner, self.port = self._loop.run_until_complete(serve(self.core, self.port))
        self._ready.set()
        self._loop.run_forever()


def main() -> None:
    """Serve the reference core in this process until stopped (the load
    benchmark's bank core: ``bench/load.py --core webservice``)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--database", type=Path, required=True, help="the demo bank's SQLite file")
    parser.add_argument("--tenant", required=True, help="whose demo data to serve")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument(
        "--secret-env", required=True, help="environment variable with the shared HMAC key"
    )
    args = parser.parse_args()
    key = os.environ.get(args.secret_env, "").encode()
    if not key:
        raise SystemExit(f"environment variable {args.secret_env} is empty or unset")
    core = ReferenceCore(DemoBank(DemoSettings(database=args.database, tenant=args.tenant)), key)
    core.keep_seen = False  # a long run would keep every request

    async def run() -> None:
        runner, port = await serve(core, args.port)
        print(f"reference core on 127.0.0.1:{port}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
