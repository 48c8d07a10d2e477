"""Fuzzing what the app reads back from the bank over HTTP (bounded, in the
unit suite): the capped body reader under any split of any bytes, and the
webhook's and the webservice adapter's answer parsers under any status,
signature and body. Each only ever returns an answer or raises its own
documented error: :class:`~adapters.http_body.BodyTooLarge`,
:class:`~stasis_app.verbs.webhook.WebhookFailed`,
:class:`~adapters.errors.AdapterError`."""

import asyncio
import itertools
import json
from typing import Any

import pytest
from aiohttp import StreamReader
from aiohttp.base_protocol import BaseProtocol
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from adapters.errors import AdapterError, NotFound, Refused, Unavailable
from adapters.http_body import BodyTooLarge, read_capped
from adapters.webservice import signing, wire
from adapters.webservice.client import read_answer
from stasis_app.verbs.webhook import (
    WebhookFailed,
    check_reply,
    parse_reply,
    reply_signed_bytes,
    sign,
)

pytestmark = pytest.mark.unit

FUZZ = settings(max_examples=200, deadline=None, database=None)
KEY = b"fuzz-key"
NONCE = "0" * 32
CALL = "1700.1"
ANSWERS: list[type[BaseModel]] = [
    wire.CustomerBody,
    wire.CardsBody,
    wire.AccountsBody,
    wire.OperationsBody,
    wire.BlockBody,
]
DEEP = b"[" * 100_000  # deeper than any recursive parser's stack
WIDE_NUMBER = b'{"verbs": [], "n": ' + b"9" * 5000 + b"}"  # past int()'s digit limit

CARD_FIELDS = ["card_id", "kind", "last4", "status"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=30,
)
# Bodies a fuzzer would not reach by chance: JSON, and JSON shaped like answers.
answer_like = st.fixed_dictionaries(
    {},
    optional={
        "verbs": st.lists(
            st.fixed_dictionaries({}, optional={"verb": json_values, "params": json_values})
        )
        | json_values,
        "cards": st.lists(
            st.dictionaries(st.sampled_from(["card_id", "kind", "last4", "status"]), json_values)
        ),
        "reference": json_values,
        "customer_number": json_values,
        "accounts": json_values,
        "operations": json_values,
    },
)
bodies = (
    st.binary(max_size=2048)
    | json_values.map(lambda v: json.dumps(v).encode())
    | answer_like.map(lambda v: json.dumps(v).encode())
)
statuses = st.sampled_from([200, 301, 307, 401, 403, 404, 409, 422, 500, 503]) | st.integers(
    100, 599
)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


class _Socket(asyncio.Transport):
    """A connected transport that only needs to be there."""

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def read_fed(pieces: list[bytes], cap: int, declared: int | None) -> bytes:
    """``read_capped`` on aiohttp's own StreamReader, fed ``pieces`` one by
    one as the loop turns, the way segments arrive from a socket."""
    loop = asyncio.get_running_loop()
    protocol = BaseProtocol(loop)
    protocol.connection_made(_Socket())
    stream = StreamReader(protocol, 2**16, loop=loop)

    async def arrive() -> None:
        for piece in pieces:
            stream.feed_data(piece)
            await asyncio.sleep(0)
        stream.feed_eof()

    feeding = asyncio.create_task(arrive())
    try:
        return await read_capped(stream, cap, declared)
    finally:
        feeding.cancel()


@FUZZ
@given(
    data=st.binary(max_size=4096),
    cuts=st.lists(st.integers(0, 4096), max_size=12),
    cap=st.integers(0, 4096),
    declare=st.booleans(),
)
@example(data=b"x" * 100, cuts=[1, 2, 3], cap=100, declare=False)  # exactly the cap
@example(data=b"x" * 101, cuts=[50], cap=100, declare=False)
@example(data=b"", cuts=[], cap=0, declare=True)
def test_the_reader_returns_the_whole_body_or_refuses_it(
    data: bytes, cuts: list[int], cap: int, declare: bool
) -> None:
    pieces = split(data, cuts)
    assert b"".join(pieces) == data
    try:
        got = asyncio.run(read_fed(pieces, cap, len(data) if declare else None))
    except BodyTooLarge as refused:
        assert len(data) > cap and refused.cap == cap
    else:
        assert len(data) <= cap and got == data


class Trickle:
    """A stream that hands out its pieces, each at most as large as asked."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = list(pieces)
        self.taken = 0

    async def read(self, n: int = -1) -> bytes:
        if not self.pieces:
            return b""
        piece, self.pieces[0] = self.pieces[0][:n], self.pieces[0][n:]
        if not self.pieces[0]:
            self.pieces.pop(0)
        self.taken += len(piece)
        return piece


@FUZZ
@given(
    size=st.integers(0, 200_000),
    piece=st.integers(1, 70_000),
    cap=st.integers(0, 70_000),
)
def test_the_reader_never_takes_more_than_one_byte_past_the_cap(
    size: int, piece: int, cap: int
) -> None:
    data = bytes(size)
    stream = Trickle([data[i : i + piece] for i in range(0, size, piece)])
    try:
        assert asyncio.run(read_capped(stream, cap)) == data
    except BodyTooLarge:
        assert size > cap
    assert stream.taken <= cap + 1


@FUZZ
@given(status=statuses, body=bodies, signature=st.none() | st.text(max_size=80))
def test_webhook_replies_from_someone_without_the_key_are_refused(
    status: int, body: bytes, signature: str | None
) -> None:
    with pytest.raises(WebhookFailed):
        check_reply(KEY, CALL, 1, status, body, signature)


@FUZZ
@given(body=bodies)
@example(body=DEEP)
@example(body=WIDE_NUMBER)
@example(body=b"\xff\xfe{}")
@example(body=b'{"verbs": {"verb": "say"}}')
@example(body=b"[]")
def test_a_signed_webhook_reply_parses_to_verbs_or_fails_cleanly(body: bytes) -> None:
    signature = sign(KEY, reply_signed_bytes(CALL, 3, body))
    try:
        verbs = check_reply(KEY, CALL, 3, 200, body, signature)
    except WebhookFailed:
        return
    assert verbs == parse_reply(body)
    assert isinstance(verbs, list) and all(isinstance(v, dict) for v in verbs)


def _convert(answer: Any) -> Any:
    """What the adapter makes of an answer for the rest of the app."""
    if isinstance(answer, wire.CardsBody):
        return [card.to_card() for card in answer.cards]
    if isinstance(answer, wire.AccountsBody):
        return [account.to_account() for account in answer.accounts]
    if isinstance(answer, wire.OperationsBody):
        return [operation.to_operation() for operation in answer.operations]
    if isinstance(answer, wire.BlockBody):
        return answer.to_result()
    return answer.customer_number


@FUZZ
@given(
    status=statuses,
    body=bodies,
    answer=st.sampled_from(ANSWERS),
    genuine=st.booleans(),
    signature=st.none() | st.text(max_size=80),
)
@example(status=200, body=DEEP, answer=wire.CardsBody, genuine=True, signature=None)
@example(status=200, body=WIDE_NUMBER, answer=wire.BlockBody, genuine=True, signature=None)
@example(
    status=200,
    body='{"reference": "\u0661\u0662\u0663"}'.encode(),
    answer=wire.BlockBody,
    genuine=True,
    signature=None,
)
def test_a_core_answer_is_the_contracts_model_or_an_adapter_error(
    status: int, body: bytes, answer: type[BaseModel], genuine: bool, signature: str | None
) -> None:
    if genuine:
        signature = signing.sign_response(KEY, NONCE, status, body)
    try:
        parsed = read_answer(KEY, NONCE, status, body, signature, answer)
    except AdapterError as error:
        assert type(error) in (Unavailable, NotFound, Refused) or isinstance(error, Unavailable)
        assert genuine or isinstance(error, Unavailable)  # unsigned: never a verdict
        return
    assert genuine and status == 200 and isinstance(parsed, answer)
    converted = _convert(parsed)
    # Every digit the caller may hear is an ASCII digit a prompt exists for.
    for text in (
        [getattr(parsed, "reference", "")]
        + [getattr(parsed, "customer_number", "")]
        + [card.last4 for card in getattr(parsed, "cards", [])]
    ):
        assert text.isascii()
    assert converted is not None
