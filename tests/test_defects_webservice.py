"""An error answer of the bank's webservice is judged by its status alone:
its body (the contract's ``Error``) is never parsed, so whatever it says, and
whatever its message carries, never decides the outcome or reaches our logs."""

import json

import pytest

from adapters.errors import AdapterError, NotFound, Refused, Unavailable
from adapters.webservice import signing, wire
from adapters.webservice.client import read_answer

pytestmark = pytest.mark.unit

KEY = b"error-body-key"
NONCE = "1" * 32
SECRET_ISH = "PIN 4321, born 1970-01-01"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (403, {"error": "not_found", "message": SECRET_ISH}, Refused),
        (404, {"error": "refused", "message": SECRET_ISH}, NotFound),
        (503, {"error": "not_found", "message": SECRET_ISH}, Unavailable),
        (404, "not JSON at all: " + SECRET_ISH, NotFound),
        (409, {"message": "x" * 10_000}, Refused),  # off the contract: still its status
    ],
)
def test_an_error_answer_is_its_status_whatever_its_body_says(
    status: int, body: object, expected: type[AdapterError]
) -> None:
    raw = (body if isinstance(body, str) else json.dumps(body)).encode()
    signature = signing.sign_response(KEY, NONCE, status, raw)
    with pytest.raises(AdapterError) as caught:
        read_answer(KEY, NONCE, status, raw, signature, wire.CustomerBody)
    assert isinstance(caught.value, expected)
    assert "4321" not in str(caught.value) and "1970" not in str(caught.value)


def test_the_wire_models_only_what_the_adapter_reads() -> None:
    """No model for error bodies: nothing reads them (see wire.py)."""
    assert not hasattr(wire, "ErrorBody")
