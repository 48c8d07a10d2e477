"""How infolinia and a bank's webservice prove each message to the other.

Both directions carry ``X-Infolinia-Signature: sha256=<hex>``, an HMAC-SHA256
with the key the two sides share:

* a request signs ``<timestamp>\\n<nonce>\\n<METHOD>\\n<path?query>\\n`` followed
  by the exact body; the timestamp (Unix seconds) and a random nonce travel in
  ``X-Infolinia-Timestamp`` and ``X-Infolinia-Nonce``. A server refuses a
  request older or newer than :data:`MAX_SKEW` seconds, or whose nonce it has
  seen within that window (a replay);
* a response signs ``<nonce of the request>\\n<status>\\n`` followed by the
  exact body, so an answer recorded for one request cannot be passed off as
  the answer to another.

Both sides refuse bodies larger than :data:`MAX_BODY` bytes.
"""

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping

SIGNATURE = "X-Infolinia-Signature"
TIMESTAMP = "X-Infolinia-Timestamp"
NONCE = "X-Infolinia-Nonce"
MAX_SKEW = 300  # seconds a request may be early or late
MAX_BODY = 64 * 1024  # bytes in a request or a response


def _mac(key: bytes, material: bytes) -> str:
    return "sha256=" + hmac.new(key, material, hashlib.sha256).hexdigest()


def request_material(timestamp: str, nonce: str, method: str, target: str, body: bytes) -> bytes:
    return f"{timestamp}\n{nonce}\n{method.upper()}\n{target}\n".encode() + body


def response_material(nonce: str, status: int, body: bytes) -> bytes:
    return f"{nonce}\n{status}\n".encode() + body


def request_headers(
    key: bytes, method: str, target: str, body: bytes, sent_at: float | None = None
) -> dict[str, str]:
    """The three headers a request carries; ``target`` is the path and query."""
    timestamp = str(int(time.time() if sent_at is None else sent_at))
    nonce = secrets.token_hex(16)
    signature = _mac(key, request_material(timestamp, nonce, method, target, body))
    return {TIMESTAMP: timestamp, NONCE: nonce, SIGNATURE: signature}


def sign_response(key: bytes, nonce: str, status: int, body: bytes) -> str:
    return _mac(key, response_material(nonce, status, body))


def same_signature(expected: str, given: str | None) -> bool:
    """Constant-time comparison that is simply False for a missing or
    non-ASCII ``given`` (a header with such bytes reaches us as a str that
    ``hmac.compare_digest`` refuses with TypeError)."""
    return given is not None and given.isascii() and hmac.compare_digest(expected, given)


def response_ok(key: bytes, nonce: str, status: int, body: bytes, signature: str | None) -> bool:
    return same_signature(sign_response(key, nonce, status, body), signature)


class RequestVerifier:
    """The server side: checks signature, size, age and replays of each request."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self._seen: OrderedDict[str, float] = OrderedDict()  # nonce -> when seen

    def problem(
        self,
        method: str,
        target: str,
        body: bytes,
        headers: Mapping[str, str],
        now: float | None = None,
    ) -> str | None:
        """Why the request must be refused, or None when it is genuine."""
        timestamp, nonce = headers.get(TIMESTAMP), headers.get(NONCE)
        signature = headers.get(SIGNATURE)
        if not (timestamp and nonce and signature):
            return "unsigned"
        if len(body) > MAX_BODY:
            return "too large"
        expected = _mac(self.key, request_material(timestamp, nonce, method, target, body))
        if not same_signature(expected, signature):
            return "bad signature"
        now = time.time() if now is None else now
        try:
            sent = float(timestamp)
        except ValueError:
            return "bad timestamp"
        if abs(now - sent) > MAX_SKEW:
            return "stale"
        # A nonce must be remembered as long as its timestamp is accepted.
        while self._seen and next(iter(self._seen.values())) < now - 2 * MAX_SKEW:
            self._seen.popitem(last=False)
        if nonce in self._seen:
            return "replayed"
        self._seen[nonce] = now
        return None
