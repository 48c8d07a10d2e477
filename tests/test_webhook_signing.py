"""Signing webhook bodies."""

import pytest

from stasis_app.verbs.webhook import sign, signature_ok

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
