"""A bank's webservice for tests: drives calls through the webhook verb.

By the dialled line: 104 answers properly (asks for keys, reads them back,
hangs up), 105 answers too late, 106 signs its replies with the wrong key,
113 sends a properly signed reply larger than the app accepts. It checks the
signature of every request it gets.
"""

import asyncio
import json
import threading
from typing import Any

from aiohttp import web

from stasis_app.verbs.webhook import SIGNATURE_HEADER, reply_signed_bytes, sign, signature_ok

PORT = 18765
SECRET = b"test-webhook-secret"


class WebhookServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.bad_signatures = 0
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
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", PORT).start())
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not signature_ok(SECRET, body, request.headers.get(SIGNATURE_HEADER)):
            self.bad_signatures += 1
            return web.Response(status=401)
        call = json.loads(body)
        self.requests.append(call)
        if call["line"] == "105":
            await asyncio.sleep(3)  # longer than the flow's timeout
        if call["round"] == 1:
            verbs: list[dict[str, Any]] = [
                {
                    "verb": "gather",
                    "params": {"prompt": ["ask_digits"], "into": "digits", "max_digits": 4},
                },
            ]
        else:
            verbs = [
                {
                    "verb": "say",
                    "params": {"prompt": ["you_entered", {"value": "digits", "as": "digits"}]},
                },
                {"verb": "hangup", "params": {"prompt": ["goodbye"]}},
            ]
        padding = {"padding": "x" * 70_000} if call["line"] == "113" else {}
        reply = json.dumps({"verbs": verbs, **padding}).encode()
        key = b"not-the-shared-secret" if call["line"] == "106" else SECRET
        signed = reply_signed_bytes(call["call"], call["round"], reply)
        return web.Response(
            body=reply,
            content_type="application/json",
            headers={SIGNATURE_HEADER: sign(key, signed)},
        )
