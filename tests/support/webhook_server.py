"""The reference webservice for the ``webhook`` verb: a bank's webservice
that drives calls, for the tests and the demo. It checks the signature of
every request, validates each request and each of its own replies against
the contract (``stasis_app/verbs/webhook.openapi.yaml``: a failure answers
500 and is counted in :attr:`WebhookServer.invalid`), and signs its replies.

By the dialled line (the test config's ``webhook`` bank): 104 answers
properly (asks for keys, reads them back, hangs up), 105 answers too late,
106 signs its replies with the wrong key, 113 sends a properly signed reply
larger than the app accepts.

Any other line is the bank's integration line (the demo's ``webservice``
state of config/flows/bank.yaml), scripted by the caller's number:

* a known customer (:data:`KNOWN_CALLERS`): the customer number is set and
  the caller goes straight into card blocking (``goto block_pin``);
* :data:`TO_QUEUE` / :data:`TO_LINE`: a transfer to the bank's queue
  ``main`` / its line :data:`OTHER_LINE`;
* anyone else: a public announcement (:data:`ANNOUNCEMENT`), a private text
  about the caller (:func:`private_text`), then back to the flow.

Run it for the demo: ``python -m tests.support.webhook_server`` (the key in
``$INFOLINIA_WEBHOOK_SECRET``, as the app's).
"""

import asyncio
import json
import os
import threading
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from aiohttp import web

from stasis_app.verbs.webhook import SIGNATURE_HEADER, reply_signed_bytes, sign, signature_ok

PORT = 18765
SECRET = b"test-webhook-secret"
CONTRACT = Path(__file__).resolve().parents[2] / "stasis_app" / "verbs" / "webhook.openapi.yaml"

ANNOUNCEMENT = "Od poniedziałku lokata pięć procent w skali roku."
KNOWN_CALLERS = {"48600000004": "12345678"}  # caller -> customer number
TO_QUEUE, TO_LINE = "48600000002", "48600000003"
OTHER_LINE = "141"


def private_text(caller: str) -> str:
    """Something about this caller only: spoken live, never cached."""
    return f"Twój numer: {' '.join(caller[-2:])}."


@cache
def _schemas() -> dict[str, Any]:
    spec = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    components = spec["components"]["schemas"]
    # One document the validator resolves "#/components/schemas/..." in.
    return {
        name: {**components[name], "components": {"schemas": components}}
        for name in ("Request", "Reply")
    }


def valid(kind: str, document: Any) -> str | None:
    """Why ``document`` breaks the contract's ``kind`` schema (None: it keeps it)."""
    try:
        jsonschema.validate(document, _schemas()[kind])
    except jsonschema.ValidationError as exc:
        return f"{kind}: {exc.message}"
    return None


def integration_reply(
    call: dict[str, Any], announcement: str = ANNOUNCEMENT
) -> list[dict[str, Any]]:
    """The bank's integration line, scripted by the caller's number."""
    caller = call["caller"]
    if call["round"] > 1:
        return []  # back to the flow
    if caller in KNOWN_CALLERS:
        return [
            {"verb": "set", "params": {"values": {"customer_number": KNOWN_CALLERS[caller]}}},
            {"verb": "goto", "params": {"state": "block_pin"}},
        ]
    news = {"text": announcement, "public": True}
    if caller == TO_QUEUE:
        return [{"verb": "transfer", "params": {"queue": "main"}}]
    if caller == TO_LINE:
        return [{"verb": "transfer", "params": {"line": OTHER_LINE, "prompt": ["transferring"]}}]
    mine = {"text": private_text(caller), "public": False}
    return [{"verb": "say", "params": {"prompt": [news, mine]}}]


def echo_reply(call: dict[str, Any]) -> list[dict[str, Any]]:
    if call["round"] == 1:
        return [
            {
                "verb": "gather",
                "params": {"prompt": ["ask_digits"], "into": "digits", "max_digits": 4},
            },
        ]
    return [
        {"verb": "say", "params": {"prompt": ["you_entered", {"value": "digits", "as": "digits"}]}},
        {"verb": "hangup", "params": {"prompt": ["goodbye"]}},
    ]


class WebhookServer:
    def __init__(self, secret: bytes = SECRET, port: int = PORT) -> None:
        self.secret = secret
        self.port = port
        self.requests: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.invalid: list[str] = []  # requests or replies that broke the contract
        self.announcement = ANNOUNCEMENT  # the public text of the integration line
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="webhook-server")

    def start(self) -> "WebhookServer":
        self._thread.start()
        self._ready.wait(5)
        return self

    def stop(self) -> None:
        # Close the listening socket and the loop: nothing left for the GC to warn about.
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/infolinia", self._handle)
        self._runner = runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not signature_ok(self.secret, body, request.headers.get(SIGNATURE_HEADER)):
            self.bad_signatures += 1
            return web.Response(status=401)
        call = json.loads(body)
        broken = valid("Request", call)
        if broken:
            self.invalid.append(broken)
            return web.Response(status=400)
        self.requests.append(call)
        if call["line"] == "105":
            await asyncio.sleep(3)  # longer than the flow's timeout
        if call["line"] in ("104", "105", "106", "113"):
            verbs = echo_reply(call)
        else:
            verbs = integration_reply(call, self.announcement)
        document = {"verbs": verbs}
        broken = valid("Reply", document)
        if broken:  # this server's own bug: never send it
            self.invalid.append(broken)
            return web.Response(status=500)
        padding = {"padding": "x" * 70_000} if call["line"] == "113" else {}
        reply = json.dumps({**document, **padding}, ensure_ascii=False).encode()
        key = b"not-the-shared-secret" if call["line"] == "106" else self.secret
        signed = reply_signed_bytes(call["call"], call["round"], reply)
        return web.Response(
            body=reply,
            content_type="application/json",
            headers={SIGNATURE_HEADER: sign(key, signed)},
        )


def main() -> None:
    secret = os.environ.get("INFOLINIA_WEBHOOK_SECRET", "").encode()
    if not secret:
        raise SystemExit("set $INFOLINIA_WEBHOOK_SECRET (the same key as the app's)")
    server = WebhookServer(secret).start()
    print(f"reference webservice on http://127.0.0.1:{server.port}/infolinia (Ctrl-C stops)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
