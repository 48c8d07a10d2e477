"""Signing webhook bodies."""

import pytest
from pydantic import ValidationError

from stasis_app.verbs.webhook import WebhookParams, reply_signed_bytes, sign, signature_ok

pytestmark = pytest.mark.unit


def test_signature_is_hmac_sha256_of_the_exact_body() -> None:
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert sign(b"Jefe", b"what do ya want for nothing?") == f"sha256={expected}"


def test_a_changed_body_or_key_or_missing_header_fails() -> None:
    good = sign(b"k", b'{"a": 1}')
    assert signature_ok(b"k", b'{"a": 1}', good)
    assert not signature_ok(b"k", b'{"a": 2}', good)
    assert not signature_ok(b"other", b'{"a": 1}', good)
    assert not signature_ok(b"k", b'{"a": 1}', None)


def test_a_reply_signature_covers_its_call_and_round() -> None:
    body = b'{"verbs": []}'
    header = sign(b"k", reply_signed_bytes("1700.1", 2, body))
    assert signature_ok(b"k", reply_signed_bytes("1700.1", 2, body), header)
    assert not signature_ok(b"k", reply_signed_bytes("1700.1", 3, body), header)  # replayed
    assert not signature_ok(b"k", reply_signed_bytes("1800.5", 2, body), header)


def test_plain_http_only_to_this_machine() -> None:
    WebhookParams(url="http://127.0.0.1:8080/x", secret_env="K")
    WebhookParams(url="https://bank.example/x", secret_env="K")
    with pytest.raises(ValidationError, match="must be https"):
        WebhookParams(url="http://bank.example/x", secret_env="K")
